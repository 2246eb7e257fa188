// The CPU oracle: Qwen2's forward pass in plain f32 arrays, through the same forward() as the GPU.
// Written for clarity, not speed; tests compare the GPU model against it on small synthetic models.
import type { ModelConfig } from '../model/config';
import { forward, type StepOps } from '../model/forward';
import type { ModelWeights } from '../model/weights';
import type { KvFormat } from '../protocol/engine';
import { rmsnorm } from './norm';
import { matmul } from './matmul';
import { swiglu, addInto } from './activations';
import { ropeAppendKv, cpuKvLayer, type CpuKvLayer } from './rope';
import { attention } from './attention';

export interface CpuRow {
  token: number;
  pos: number;
  slot: number;
}

export class CpuModel implements StepOps {
  private readonly kv: CpuKvLayer[];
  private readonly qDim: number;
  // the step in progress
  private rows: CpuRow[] = [];
  private meta = new Uint32Array(0);
  private lastRowOnly = false;
  private x: Float32Array = new Float32Array(0); //    [rows, dim] residual stream
  private q: Float32Array = new Float32Array(0); //    [rows, qDim] rotated queries
  private qkv: Float32Array = new Float32Array(0); //  [rows, qDim + 2*kvDim]
  private att: Float32Array = new Float32Array(0); //  [rows, qDim]
  private h: Float32Array = new Float32Array(0); //    [rows, ffnDim]
  /** Logits of the last step: [1 or rows, vocab]. */
  logitsOut: Float32Array = new Float32Array(0);

  constructor(
    readonly cfg: ModelConfig,
    readonly w: ModelWeights<Float32Array>,
    readonly opts: { context: number; slots: number; kv: KvFormat },
  ) {
    this.kv = Array.from({ length: cfg.nLayers }, () => cpuKvLayer(opts.slots, opts.context, cfg.kvDim));
    this.qDim = cfg.nHeads * cfg.headDim;
  }

  /** Runs one step over `rows`; returns the logits of the last row (lastRowOnly) or of every row. */
  step(rows: CpuRow[], lastRowOnly: boolean): Float32Array {
    this.rows = rows;
    this.lastRowOnly = lastRowOnly;
    this.meta = new Uint32Array(rows.flatMap((r) => [r.pos, r.slot]));
    forward(this.cfg, this);
    return this.logitsOut;
  }

  private get n(): number {
    return this.rows.length;
  }

  embed(): void {
    const { dim } = this.cfg;
    this.x = new Float32Array(this.n * dim);
    this.rows.forEach((r, i) => this.x.set(this.w.embed.subarray(r.token * dim, (r.token + 1) * dim), i * dim));
  }

  normQkv(l: number): void {
    const { dim, kvDim, normEps } = this.cfg;
    const L = this.w.layers[l];
    const xn = rmsnorm(this.x, L.attnNorm, this.n, dim, normEps);
    const q = matmul(xn, L.wq, this.n, dim, this.qDim, L.bq);
    const k = matmul(xn, L.wk, this.n, dim, kvDim, L.bk);
    const v = matmul(xn, L.wv, this.n, dim, kvDim, L.bv);
    const stride = this.qDim + 2 * kvDim;
    this.qkv = new Float32Array(this.n * stride);
    for (let r = 0; r < this.n; r++) {
      this.qkv.set(q.subarray(r * this.qDim, (r + 1) * this.qDim), r * stride);
      this.qkv.set(k.subarray(r * kvDim, (r + 1) * kvDim), r * stride + this.qDim);
      this.qkv.set(v.subarray(r * kvDim, (r + 1) * kvDim), r * stride + this.qDim + kvDim);
    }
  }

  ropeAppendKv(l: number): void {
    const c = this.cfg;
    this.q = ropeAppendKv({ nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: c.headDim, ropeTheta: c.ropeTheta, context: this.opts.context }, this.opts.kv, this.qkv, this.meta, this.n, this.kv[l]);
  }

  attend(l: number): void {
    const c = this.cfg;
    this.att = attention({ nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: c.headDim, context: this.opts.context }, this.q, this.meta, this.n, this.kv[l]);
  }

  outProj(l: number): void {
    addInto(this.x, matmul(this.att, this.w.layers[l].wo, this.n, this.qDim, this.cfg.dim));
  }

  normGateUp(l: number): void {
    const { dim, ffnDim, normEps } = this.cfg;
    const L = this.w.layers[l];
    const xn = rmsnorm(this.x, L.mlpNorm, this.n, dim, normEps);
    this.h = swiglu(matmul(xn, L.wGate, this.n, dim, ffnDim), matmul(xn, L.wUp, this.n, dim, ffnDim));
  }

  down(l: number): void {
    addInto(this.x, matmul(this.h, this.w.layers[l].wDown, this.n, this.cfg.ffnDim, this.cfg.dim));
  }

  logits(): void {
    const { dim, vocab, normEps } = this.cfg;
    const first = this.lastRowOnly ? this.n - 1 : 0;
    const rows = this.n - first;
    const xn = rmsnorm(this.x.subarray(first * dim), this.w.norm, rows, dim, normEps);
    this.logitsOut = matmul(xn, this.w.lmHead ?? this.w.embed, rows, dim, vocab);
  }
}
