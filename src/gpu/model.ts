// The Qwen2 model on the GPU: weights uploaded once (q/k/v concatenated in RoPE-quad row order, norm gains
// folded into the matrices that follow them, gate/up interleaved), activation buffers and bind groups made
// once, and the StepOps that forward() sequences. Fused: RoPE and the KV append run in the qkv matmul's
// epilogue, the final RMSNorm in the LM head (its gain applied as the head's columns are decoded, since a
// tied head is the embedding's matrix). A step covers `rows` rows (a prefill chunk of one sequence, or
// one token of each of N sequences); nothing is allocated while a step is recorded.
import type { ModelConfig } from '../model/config';
import { forward, type StepOps } from '../model/forward';
import { mapWeights } from '../model/weights';
import { concatRows, foldColumns, interleaveRows, ropeQuadRows } from '../model/fused';
import type { MemoryPlan } from '../protocol/engine';
import { STEPS_IN_FLIGHT, activationBuffers, kvRowBytes, limitBreach, limitError, planMemory, plannedWeights, type ActivationName, type PlanOptions } from '../model/memory-plan';
import { BoxedError } from '../protocol/errors';
import { packWeight, rowLayout } from '../loader/quant';
import type { GpuContext } from './context';
import type { CompileProgress } from './pipelines';
import { STORAGE, USAGE, createBuffer, readF32, uploadBuffer, writeBuffer } from './buffers';
import { uploadWeight, destroyWeight, type GpuWeight, blockRows, gpuFormatOfGgml, gpuRowLayout, joinWeights, rowsPerChunk } from './weights';
import type { GgmlTensors } from '../loader/gguf/checkpoint';
import { streamWeight, type RowPieceReader } from './weight-stream';
import { EmbedKernel } from './kernels/embed';
import { DECODE_MAX_ROWS, MatmulKernel, matmulStorageBuffers, type MatmulOptions } from './kernels/matmul';
import { RopeKvKernel } from './kernels/ropeKv';
import { AttentionKernel } from './kernels/attention';
import { SampleKernel } from './kernels/sample';
import { KvCache } from './kv';
import type { DispatchCost } from './context';
import { roofline, type RooflineReport } from './roofline';

/** The model's options: the memory plan's (src/model/memory-plan.ts), which documents each field. */
export type GpuModelOptions = PlanOptions;

/** Reads one tensor, as f32, by its Hugging Face name (a Checkpoint does this). */
export interface TensorReader {
  read(name: string): Promise<Float32Array>;
  /** Rows [start, start+count) of a matrix; lets big tensors (the embedding) be converted in pieces. */
  readRows?(name: string, start: number, count: number): Promise<Float32Array>;
  /** A GGUF file's tensors in their block types: when present, matrices are uploaded as they are stored. */
  ggml?: GgmlTensors;
}

/**
 * Uploads GGUF matrices stacked by rows (q, k, v), read a binding-sized piece of rows at a time. Matrices of
 * one block type share a row layout, so neighbours of one type are stacked into the same pieces (q, k and v
 * as one chunk when they fit: one dispatch); a run of another type is uploaded apart, in its own type (parts
 * joined). `interleave` (gate, up of one type): rows 2j, 2j + 1 are row j of the two. `orders[i]` (RoPE-quad
 * order, ggmlRopeOrder): tensor i is read whole and its rows uploaded in that order, in pieces of whole quads
 * (moving whole rows leaves every block as stored; q and k rows are whole quads, so a stacked piece of a
 * multiple of 4 rows is too). Pieces already uploaded are destroyed when a later read fails.
 */
export async function uploadGgml(ctx: GpuContext, label: string, g: GgmlTensors, names: string[], rows: number[], cols: number, interleave = false, orders?: (Uint32Array | null)[]): Promise<GpuWeight> {
  const parts: GpuWeight[] = [];
  const pieceLimit = (t: string, n: number) => rowsPerChunk(ctx, n, gpuRowLayout(cols, gpuFormatOfGgml(g.type(t))).wordsPerRow, 0);
  try {
    if (interleave) {
      const [a, b] = names;
      const type = g.type(a);
      const total = 2 * rows[0];
      const per = pieceLimit(a, total);
      for (let r = 0; r < total; r += per) {
        const n = Math.min(per, total - r);
        const [ba, bb] = [await g.readRows(a, r / 2, n / 2), await g.readRows(b, r / 2, n / 2)];
        const rowBytes = ba.length / (n / 2);
        const both = new Uint8Array(2 * ba.length);
        for (let j = 0; j < n / 2; j++) {
          both.set(ba.subarray(j * rowBytes, (j + 1) * rowBytes), 2 * j * rowBytes);
          both.set(bb.subarray(j * rowBytes, (j + 1) * rowBytes), (2 * j + 1) * rowBytes);
        }
        parts.push(uploadWeight(ctx, label, blockRows(type, both, n, cols)));
      }
    } else {
      // runs of neighbours of one type stacked (q, k and v as one when they share it; Q4_K q and k, Q6_K v as two)
      const groups: number[][] = [];
      for (const [i, t] of names.entries()) {
        if (i > 0 && g.type(t) === g.type(names[i - 1])) groups[groups.length - 1].push(i);
        else groups.push([i]);
      }
      for (const group of groups) await uploadStacked(ctx, label, g, group.map((i) => ({ name: names[i], rows: rows[i], order: orders?.[i] ?? null })), cols, parts);
    }
  } catch (e) {
    for (const p of parts) destroyWeight(p);
    throw e;
  }
  return parts.length === 1 ? parts[0] : joinWeights(label, parts);
}

/** Tensors of one block type stacked by rows into pieces of at most a binding (whole quads when any has an order), pushed to `parts`. */
async function uploadStacked(ctx: GpuContext, label: string, g: GgmlTensors, tensors: { name: string; rows: number; order: Uint32Array | null }[], cols: number, parts: GpuWeight[]): Promise<void> {
  const type = g.type(tensors[0].name);
  const total = tensors.reduce((s, t) => s + t.rows, 0);
  let per = rowsPerChunk(ctx, total, gpuRowLayout(cols, gpuFormatOfGgml(type)).wordsPerRow, 0);
  if (tensors.some((t) => t.order) && per < total) per -= per % 4;
  const wholes = new Map<number, Uint8Array>();
  for (let r = 0; r < total; r += per) {
    const n = Math.min(per, total - r);
    const pieces: Uint8Array[] = [];
    // the rows [r, r + n) of the stack, tensor by tensor
    for (let i = 0, start = 0; i < tensors.length && start < r + n; start += tensors[i].rows, i++) {
      const t = tensors[i];
      const from = Math.max(r, start) - start;
      const to = Math.min(r + n, start + t.rows) - start;
      if (to <= from) continue;
      if (t.order) {
        let whole = wholes.get(i);
        if (!whole) wholes.set(i, (whole = permuteRows(await g.readRows(t.name, 0, t.rows), t.order)));
        const rowBytes = whole.length / t.rows;
        pieces.push(whole.subarray(from * rowBytes, to * rowBytes));
      } else {
        pieces.push(await g.readRows(t.name, from, to - from));
      }
    }
    const bytes = pieces.length === 1 ? pieces[0] : concatBytes(pieces);
    parts.push(uploadWeight(ctx, label, blockRows(type, bytes, n, cols)));
  }
}

function concatBytes(pieces: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The RoPE-quad row order (ropeQuadRows) of `heads` heads of q or k: row j of the result is row order[j]. */
export function ggmlRopeOrder(heads: number, headDim: number): Uint32Array {
  const idx = Float32Array.from({ length: heads * headDim }, (_, i) => i);
  return Uint32Array.from(ropeQuadRows(idx, heads, 0, headDim, 1));
}

/** Rows of `bytes` (order.length rows of equal size) in that order: row j of the result is row order[j]. */
function permuteRows(bytes: Uint8Array, order: Uint32Array): Uint8Array {
  const rb = bytes.length / order.length;
  const out = new Uint8Array(bytes.length);
  for (let j = 0; j < order.length; j++) out.set(bytes.subarray(order[j] * rb, (order[j] + 1) * rb), j * rb);
  return out;
}

/** Rows of a tensor as a piece reader: read in pieces when the reader can, else read whole once and cut. */
function rowSource(reader: TensorReader, name: string, cols: number): RowPieceReader {
  if (reader.readRows) return (start, count) => reader.readRows!(name, start, count);
  let whole: Promise<Float32Array> | null = null;
  return async (start, count) => (await (whole ??= reader.read(name))).slice(start * cols, (start + count) * cols);
}

export interface RowSampling {
  temperature: number;
  topP: number;
  topK: number;
  coin: number;
}

/** One row of a step: which sequence (KV slot) and which position in it. */
export interface RowSpec {
  slot: number;
  pos: number;
}

/**
 * One dispatch of a step bound to its buffers once, at load: a kernel and the bind groups it was given. The
 * step's rows and the longest position (attention's splits) are all a step passes to it.
 */
interface Dispatch {
  run(pass: GPUComputePassEncoder, rows: number, maxPos: number): void;
}

/** What every kernel is to the step table: bound once, encoded with the step's rows (and longest position). */
interface Encodes<B> {
  encode(pass: GPUComputePassEncoder, b: B, rows: number, maxPos: number): void;
}

function bound<B>(kernel: Encodes<B>, binding: B): Dispatch {
  return { run: (pass, rows, maxPos) => kernel.encode(pass, binding, rows, maxPos) };
}

/** A layer's dispatches, in forward()'s order. */
interface LayerSteps {
  qkv: Dispatch;
  /** the separate RoPE + KV append (only when it is not fused into qkv) */
  rope: Dispatch | null;
  attn: Dispatch;
  out: Dispatch;
  gateUp: Dispatch;
  down: Dispatch;
}

// the memory plan is one pure formula (src/model/memory-plan.ts): allocate() below creates its activation table
export { planMemory } from '../model/memory-plan';

export type LoadProgress = (tensor: string, done: number, total: number) => void;

export class GpuModel implements StepOps {
  readonly memory: MemoryPlan;
  /**
   * Everything this model created that holds GPU memory (buffers, weights, the KV cache, kernels with their
   * tables and bindings' uniforms), registered where it is created: destroy() destroys exactly this list.
   */
  private readonly owned: { destroy(): void }[] = [];
  // weights
  private embedW!: GpuWeight;
  private headW!: GpuWeight;
  private finalNorm!: GPUBuffer; // [dim]
  private layerW: { qkv: GpuWeight; qkvBias: GPUBuffer; out: GpuWeight; gateUp: GpuWeight; down: GpuWeight }[] = [];
  /** GGUF blocks kept as stored: the norm gains cannot be folded into them, so each layer keeps its two gains,
   *  applied to W's columns as the qkv and gate/up matmuls decode them (their `gain`; the inverse RMS is their `norm`). */
  private readonly ggml: GgmlTensors | null;
  private layerNorms: { attn: GPUBuffer; mlp: GPUBuffer }[] = [];
  private kv!: KvCache;
  // activations (R = max(chunk, slots) rows)
  private x!: GPUBuffer; //      [R, dim]   residual stream
  private qkv: GPUBuffer | null = null; // [R, qDim + 2*kvDim] (only without the fused RoPE)
  private q!: GPUBuffer; //      [R, qDim]  rotated queries
  private attnOut!: GPUBuffer; //[R, qDim]
  private h!: GPUBuffer; //      [R, ffnDim] SiLU(gate) * up
  private xLast!: GPUBuffer; //  [slots, dim] rows that need logits
  private logitsBuf!: GPUBuffer; // [slots, vocab]
  private tokens!: GPUBuffer; // [R] u32: step input ids; the sampler writes the next ids here
  private meta!: GPUBuffer; //   [R] (pos, slot) u32 pairs
  private staging: GPUBuffer[] = []; // MAP_READ, one per step in flight (stepsInFlight)
  private metaScratch: Uint32Array;
  // the step table: every dispatch a step can make, each a kernel bound to its buffers once (buildKernels);
  // forward() sequences them through the StepOps below; the kernels are in `owned` for disposal
  private steps!: {
    embed: Dispatch;
    /** layer 0's qkv with the embedding gathered in its prologue (decode steps), where it binds (embedFusion) */
    qkvEmbed: Dispatch | null;
    layers: LayerSteps[];
    headRows: Dispatch; // x -> logits (decode: every row needs logits)
    headLast: Dispatch; // xLast -> logits (prefill: only the last row)
    sample: Dispatch;
  };
  /** the sampler's per-row parameters are written before its dispatch is recorded */
  private sampler!: SampleKernel;
  // the step being recorded
  private pass: GPUComputePassEncoder | null = null;
  private encoder: GPUCommandEncoder | null = null;
  private stepRows = 0;
  private stepMaxPos = 0;
  private stepLastRowOnly = false;
  /** RoPE + KV append in the qkv epilogue (decided before the qkv rows are permuted at upload) */
  private ropeFused = false;

  private constructor(
    readonly ctx: GpuContext,
    readonly cfg: ModelConfig,
    readonly opts: GpuModelOptions,
    /** Token ids that may be sampled (the tokenizer's size; the vocab has padding rows past it). */
    readonly validVocab: number,
    ggml: GgmlTensors | null = null,
  ) {
    this.ggml = ggml;
    // GGUF q/k rows are uploaded in RoPE-quad order too (whole rows move; their blocks stay as stored)
    this.ropeFused = opts.fuseRope !== false && opts.kv !== 'q8' && this.canFuseRope(); // q8: rope-kv (memory-plan ropeFusedIn)
    this.memory = planMemory(cfg, this.planOptions, ggml ?? undefined);
    this.metaScratch = new Uint32Array(2 * Math.max(opts.chunk, opts.slots));
  }

  /**
   * Sampling steps that may be queued before the oldest one's ids are read (each has its own readback
   * buffer). Three hides a readback's latency (a map callback can take longer than a step on a fast GPU)
   * behind two steps of GPU work.
   */
  readonly stepsInFlight = STEPS_IN_FLIGHT;

  /** The options the memory plan is made for: the model's, with the RoPE fusion as decided for this device. */
  private get planOptions(): GpuModelOptions {
    return { ...this.opts, fuseRope: this.ropeFused };
  }

  get rowsPerStep(): number {
    return Math.max(this.opts.chunk, this.opts.slots);
  }

  /**
   * Uploads the weights (onProgress per tensor), builds the kernels and compiles their pipelines
   * asynchronously (onCompile(done, total) as each finishes; see pipelines.ts): the model returned is ready
   * to record steps. A shader that does not compile is an Internal BoxedError naming it.
   */
  static async load(ctx: GpuContext, cfg: ModelConfig, reader: TensorReader, opts: GpuModelOptions, validVocab: number, onProgress?: LoadProgress, onCompile?: CompileProgress): Promise<GpuModel> {
    if (opts.slots < 1 || opts.chunk < 1 || opts.context < 2) throw new BoxedError('InvalidRequest', `bad model options ${JSON.stringify(opts)}`);
    if (cfg.headDim % 2 !== 0) throw new BoxedError('ModelFormat', `head_dim ${cfg.headDim} must be even for RoPE`);
    const m = new GpuModel(ctx, cfg, opts, Math.min(validVocab, cfg.vocab), reader.ggml ?? null);
    ctx.device.pushErrorScope('out-of-memory');
    let failure: unknown = null;
    try {
      m.allocate();
      await m.uploadWeights(reader, onProgress);
    } catch (e) {
      failure = e;
    }
    const oom = await ctx.device.popErrorScope();
    if (oom || failure) {
      m.destroy();
      if (!oom) throw failure;
      throw new BoxedError('OutOfMemory', `The GPU ran out of memory while loading: this model needs about ${mb(m.memory.total)} MB (weights ${mb(m.memory.weights)} MB, KV cache ${mb(m.memory.kvCache)} MB). Lower the context length or use a smaller weight format.`, {
        detail: { neededBytes: m.memory.total, weightBytes: m.memory.weights, kvCacheBytes: m.memory.kvCache },
      });
    }
    try {
      m.buildKernels();
      await ctx.pipelines.compile(onCompile);
    } catch (e) {
      m.destroy();
      throw e;
    }
    return m;
  }

  /** The RoPE epilogue needs whole quads: headDim % 4 == 0, and qkv row chunks that are multiples of 4. */
  private canFuseRope(): boolean {
    const { cfg } = this;
    if (cfg.headDim % 4 !== 0) return false;
    if (this.ggml) {
      // GGUF: q, k and v are uploaded in pieces of whole quads (stacked when of one type, apart when not:
      // uploadGgml; the rows a binding holds do not depend on which), so a piece needs 4 rows
      const names = mapWeights(cfg, (n) => n).layers;
      const parts = names.flatMap((l) => [[l.wq, cfg.nHeads * cfg.headDim], [l.wk, cfg.kvDim], [l.wv, cfg.kvDim]] as const);
      return parts.every(([t, rows]) => rowsPerChunk(this.ctx, rows, gpuRowLayout(cfg.dim, gpuFormatOfGgml(this.ggml!.type(t))).wordsPerRow, 0) >= Math.min(4, rows));
    }
    const n = cfg.nHeads * cfg.headDim + 2 * cfg.kvDim;
    const { wordsPerRow, groupsPerRow } = rowLayout(cfg.dim, this.opts.weights);
    const per = rowsPerChunk(this.ctx, n, wordsPerRow, groupsPerRow);
    return per >= n || per % 4 === 0;
  }

  /** Creates the KV cache and exactly the memory plan's activation buffers (nothing else lists their widths). */
  private allocate(): void {
    const { cfg, opts, ctx } = this;
    const breach = limitBreach(cfg, opts, ctx.caps.limits);
    if (breach) throw limitError(breach, opts);
    this.kv = this.own(new KvCache(ctx, { nLayers: cfg.nLayers, kvDim: cfg.kvDim, heads: cfg.nKvHeads, slots: opts.slots, context: opts.context, format: opts.kv }));
    const made = new Map<ActivationName, GPUBuffer[]>();
    for (const a of activationBuffers(cfg, this.planOptions)) {
      const usage = a.readback ? USAGE.MAP_READ | USAGE.COPY_DST : STORAGE;
      made.set(a.name, Array.from({ length: a.copies }, (_, i) => this.own(createBuffer(ctx, a.copies > 1 ? `${a.name}${i}` : a.name, a.rows * a.width * 4, usage))));
    }
    const one = (name: ActivationName) => made.get(name)?.[0] ?? null;
    this.x = one('x')!;
    this.qkv = one('qkv');
    this.q = one('q')!;
    this.attnOut = one('attnOut')!;
    this.h = one('h')!;
    this.xLast = one('xLast')!;
    this.logitsBuf = one('logits')!;
    this.tokens = one('tokens')!;
    this.meta = one('meta')!;
    this.staging = made.get('staging') ?? [];
  }

  private async uploadWeights(reader: TensorReader, onProgress?: LoadProgress): Promise<void> {
    if (this.ggml) return this.uploadGgml(reader, this.ggml, onProgress);
    const { cfg, ctx, opts } = this;
    const f = opts.weights;
    const names = mapWeights(cfg, (n) => n);
    const total = 2 + cfg.nLayers + (cfg.tiedEmbeddings ? 0 : 1);
    let done = 0;
    const tick = (name: string) => onProgress?.(name, ++done, total);

    // every matrix streams to the GPU a piece of rows at a time (weight-stream.ts): JS never holds a whole tensor
    const { dim, kvDim, ffnDim } = cfg;
    this.embedW = this.ownWeight(await streamWeight(ctx, 'embed', cfg.vocab, dim, f, rowSource(reader, names.embed, dim)));
    tick(names.embed);
    if (names.lmHead) {
      this.headW = this.ownWeight(await streamWeight(ctx, 'lm_head', cfg.vocab, dim, f, rowSource(reader, names.lmHead, dim)));
      tick(names.lmHead);
    } else {
      this.headW = this.embedW;
    }
    this.finalNorm = this.own(uploadBuffer(ctx, 'norm', await reader.read(names.norm)));
    tick(names.norm);

    const qDim = cfg.nHeads * cfg.headDim;
    for (let l = 0; l < cfg.nLayers; l++) {
      const n = names.layers[l];
      const [attnNorm, mlpNorm, bq, bk, bv] = await Promise.all([n.attnNorm, n.mlpNorm, n.bq, n.bk, n.bv].map((name) => reader.read(name)));
      // q, k, v stacked into one [qDim + 2*kvDim, dim] matrix, attention norm gain folded into its columns
      // (in RoPE-quad row order when the qkv matmul's epilogue applies RoPE). The qkv matrix is small (the 32B's is
      // 147 MB as f32), so it is built whole; the big matrices below stream in pieces.
      const [wq, wk, wv] = await Promise.all([n.wq, n.wk, n.wv].map((name) => reader.read(name)));
      let wqkv = foldColumns(concatRows([wq, wk, wv]), attnNorm, dim);
      let bqkv = concatRows([bq, bk, bv]);
      if (this.ropeFused) {
        wqkv = ropeQuadRows(wqkv, cfg.nHeads, cfg.nKvHeads, cfg.headDim, dim);
        bqkv = ropeQuadRows(bqkv, cfg.nHeads, cfg.nKvHeads, cfg.headDim, 1);
      }
      // gate and up interleaved row by row ([2*ffnDim, dim]), MLP norm gain folded in; pieces hold whole pairs
      const gate = rowSource(reader, n.wGate, dim);
      const up = rowSource(reader, n.wUp, dim);
      const gateUpRows: RowPieceReader = async (start, count) => interleaveRows(await gate(start / 2, count / 2), await up(start / 2, count / 2), count / 2, dim);
      this.layerW.push({
        qkv: this.ownWeight(await streamWeight(ctx, `L${l}.qkv`, qDim + 2 * kvDim, dim, f, async (s, c) => wqkv.subarray(s * dim, (s + c) * dim))),
        qkvBias: this.own(uploadBuffer(ctx, `L${l}.qkv.bias`, bqkv)),
        out: this.ownWeight(await streamWeight(ctx, `L${l}.o`, dim, qDim, f, rowSource(reader, n.wo, qDim))),
        gateUp: this.ownWeight(await streamWeight(ctx, `L${l}.gateUp`, 2 * ffnDim, dim, f, async (s, c) => foldColumns(await gateUpRows(s, c), mlpNorm, dim), { rowMultiple: 2 })),
        down: this.ownWeight(await streamWeight(ctx, `L${l}.down`, dim, ffnDim, f, rowSource(reader, n.wDown, ffnDim))),
      });
      tick(`model.layers.${l}`);
    }
  }

  /** A GGUF file's matrices uploaded in their block types (norm gains kept apart: see `ggml`). */
  private async uploadGgml(reader: TensorReader, g: GgmlTensors, onProgress?: LoadProgress): Promise<void> {
    const { cfg, ctx, opts } = this;
    const names = mapWeights(cfg, (n) => n);
    const total = 2 + cfg.nLayers + (cfg.tiedEmbeddings ? 0 : 1);
    let done = 0;
    const tick = (name: string) => onProgress?.(name, ++done, total);
    const qDim = cfg.nHeads * cfg.headDim;
    this.embedW = this.ownWeight(await uploadGgml(ctx, 'embed', g, [names.embed], [cfg.vocab], cfg.dim));
    tick(names.embed);
    if (names.lmHead) {
      this.headW = this.ownWeight(await uploadGgml(ctx, 'lm_head', g, [names.lmHead], [cfg.vocab], cfg.dim));
      tick(names.lmHead);
    } else {
      this.headW = this.embedW;
    }
    this.finalNorm = this.own(uploadBuffer(ctx, 'norm', await reader.read(names.norm)));
    tick(names.norm);
    for (let l = 0; l < cfg.nLayers; l++) {
      const n = names.layers[l];
      let bqkv = concatRows([await reader.read(n.bq), await reader.read(n.bk), await reader.read(n.bv)]);
      // q and k rows in RoPE-quad order when the qkv epilogue applies RoPE (qwen2 GGUF rows are in the
      // checkpoint's order, rotated by halves as the safetensors path does)
      const orders = this.ropeFused ? [ggmlRopeOrder(cfg.nHeads, cfg.headDim), ggmlRopeOrder(cfg.nKvHeads, cfg.headDim), null] : undefined;
      if (this.ropeFused) bqkv = ropeQuadRows(bqkv, cfg.nHeads, cfg.nKvHeads, cfg.headDim, 1);
      let gateUp: GpuWeight;
      if (g.type(n.wGate) === g.type(n.wUp)) {
        gateUp = this.ownWeight(await uploadGgml(ctx, `L${l}.gateUp`, g, [n.wGate, n.wUp], [cfg.ffnDim, cfg.ffnDim], cfg.dim, true));
      } else {
        // gate and up of two types cannot share one row layout: decoded and packed in the --weights format
        gateUp = this.ownWeight(uploadWeight(ctx, `L${l}.gateUp`, packWeight(interleaveRows(await reader.read(n.wGate), await reader.read(n.wUp), cfg.ffnDim, cfg.dim), 2 * cfg.ffnDim, cfg.dim, opts.weights)));
      }
      this.layerW.push({
        qkv: this.ownWeight(await uploadGgml(ctx, `L${l}.qkv`, g, [n.wq, n.wk, n.wv], [qDim, cfg.kvDim, cfg.kvDim], cfg.dim, false, orders)),
        qkvBias: this.own(uploadBuffer(ctx, `L${l}.qkv.bias`, bqkv)),
        out: this.ownWeight(await uploadGgml(ctx, `L${l}.o`, g, [n.wo], [cfg.dim], qDim)),
        gateUp,
        down: this.ownWeight(await uploadGgml(ctx, `L${l}.down`, g, [n.wDown], [cfg.dim], cfg.ffnDim)),
      });
      this.layerNorms.push({ attn: this.own(uploadBuffer(ctx, `L${l}.attnNorm`, await reader.read(n.attnNorm))), mlp: this.own(uploadBuffer(ctx, `L${l}.mlpNorm`, await reader.read(n.mlpNorm))) });
      tick(`model.layers.${l}`);
    }
  }

  private buildKernels(): void {
    const { cfg, ctx, opts } = this;
    const R = this.rowsPerStep;
    const f = opts.weights;
    const qDim = cfg.nHeads * cfg.headDim;
    const eps = cfg.normEps;
    const ropeShape = { nHeads: cfg.nHeads, nKvHeads: cfg.nKvHeads, headDim: cfg.headDim, ropeTheta: cfg.ropeTheta, context: opts.context, kvFormat: opts.kv };
    const fused = this.ropeFused;
    // GGUF blocks: each layer's weights in their own types (the kernels take any), the layer norms' gains applied
    // to the qkv and gate/up columns as they are decoded (`gain`)
    const gg = this.ggml !== null;
    const l0 = this.layerW[0];
    const fmt = (w: GpuWeight | undefined) => (gg && w ? { format: w.format, anyFormat: true } : { format: f });
    const norm = { eps };
    const qkvOpts: MatmulOptions = { N: qDim + 2 * cfg.kvDim, K: cfg.dim, ...fmt(l0?.qkv), bias: true, norm, gain: gg, rope: fused ? ropeShape : undefined, maxRows: R, label: 'qkv' };
    const embedFused = this.embedFusion(qkvOpts);
    const embed = this.own(new EmbedKernel(ctx, { dim: cfg.dim, vocab: cfg.vocab, format: gg ? this.embedW.format : f, maxRows: R }));
    const qkv = this.own(new MatmulKernel(ctx, qkvOpts));
    const qkvEmbed = embedFused ? this.own(new MatmulKernel(ctx, { ...qkvOpts, embed: true, maxRows: Math.min(R, DECODE_MAX_ROWS), label: 'qkv' })) : null;
    const rope = fused ? null : this.own(new RopeKvKernel(ctx, { ...ropeShape, maxRows: R }));
    const attn = this.own(new AttentionKernel(ctx, { nHeads: cfg.nHeads, nKvHeads: cfg.nKvHeads, headDim: cfg.headDim, context: opts.context, kvFormat: opts.kv, maxRows: R }));
    const out = this.own(new MatmulKernel(ctx, { N: cfg.dim, K: qDim, ...fmt(l0?.out), residual: true, maxRows: R, label: 'o' }));
    const gateUp = this.own(new MatmulKernel(ctx, { N: 2 * cfg.ffnDim, K: cfg.dim, ...fmt(l0?.gateUp), norm, gain: gg, swiglu: true, maxRows: R, label: 'gateUp' }));
    const down = this.own(new MatmulKernel(ctx, { N: cfg.dim, K: cfg.ffnDim, ...fmt(l0?.down), residual: true, maxRows: R, label: 'down' }));
    // the final norm: each row's inverse RMS in the head's prologue, the gain applied to the head's columns
    const head = this.own(new MatmulKernel(ctx, { N: cfg.vocab, K: cfg.dim, ...fmt(this.headW), norm: { eps }, gain: true, maxRows: opts.slots, label: 'lm_head' }));
    this.sampler = this.own(new SampleKernel(ctx, { vocab: cfg.vocab, validVocab: this.validVocab, maxRows: opts.slots }));
    // qkv writes the rotated q and appends K/V itself (its epilogue), or writes q|k|v for the rope-kv pass
    const qkvOut = rope ? this.qkv! : this.q;
    const qkvExtras = (l: number) => ({ gain: this.layerNorms[l]?.attn, ...(rope ? {} : { rope: { meta: this.meta, kCache: this.kv.k(l), vCache: this.kv.v(l) } }) });
    this.steps = {
      embed: bound(embed, embed.bind(this.embedW, this.tokens, this.x)),
      qkvEmbed: qkvEmbed ? bound(qkvEmbed, qkvEmbed.bind(this.layerW[0].qkv, this.x, qkvOut, this.layerW[0].qkvBias, { ...qkvExtras(0), embed: { table: this.embedW, tokens: this.tokens } })) : null,
      layers: this.layerW.map((w, l) => ({
        qkv: bound(qkv, qkv.bind(w.qkv, this.x, qkvOut, w.qkvBias, qkvExtras(l))),
        rope: rope ? bound(rope, rope.bind(this.qkv!, this.meta, this.q, this.kv.k(l), this.kv.v(l))) : null,
        attn: bound(attn, attn.bind(this.q, this.meta, this.kv.k(l), this.kv.v(l), this.attnOut)),
        out: bound(out, out.bind(w.out, this.attnOut, this.x)),
        gateUp: bound(gateUp, gateUp.bind(w.gateUp, this.x, this.h, undefined, { gain: this.layerNorms[l]?.mlp })),
        down: bound(down, down.bind(w.down, this.h, this.x)),
      })),
      headRows: bound(head, head.bind(this.headW, this.x, this.logitsBuf, undefined, { gain: this.finalNorm })),
      headLast: bound(head, head.bind(this.headW, this.xLast, this.logitsBuf, undefined, { gain: this.finalNorm })),
      sample: bound(this.sampler, this.sampler.bind(this.logitsBuf, undefined, this.tokens)),
    };
  }

  /**
   * Whether layer 0's qkv can gather the embedding itself in decode steps: the project's own weight formats (a
   * GGUF embedding keeps its block type, which need not be the qkv's), the table in one binding, and the
   * extra buffers (ids, table words and scales) within the adapter's storage buffers per stage.
   */
  private embedFusion(qkv: MatmulOptions): boolean {
    if (this.ggml || this.embedW.chunks.length !== 1 || this.embedW.format !== qkv.format) return false;
    return matmulStorageBuffers({ ...qkv, embed: true }, qkv.format) <= this.ctx.caps.limits.maxStorageBuffersPerShaderStage;
  }

  /** A decode-sized step whose layer 0 qkv gathers the embedding (no embed dispatch). */
  private get embedInQkv(): boolean {
    return this.steps.qkvEmbed !== null && this.stepRows <= DECODE_MAX_ROWS;
  }

  /** Records one dispatch of the step table with the step's rows. */
  private run(d: Dispatch, rows = this.stepRows): void {
    d.run(this.p, rows, this.stepMaxPos);
  }

  // ---- StepOps: each records one step of forward() into the current pass ----
  /** The embed dispatch, unless layer 0's qkv gathers the rows itself (decode steps where it binds). */
  embed(): void {
    if (!this.embedInQkv) this.run(this.steps.embed);
  }
  normQkv(l: number): void {
    this.run(l === 0 && this.embedInQkv ? this.steps.qkvEmbed! : this.steps.layers[l].qkv);
  }
  /** Nothing to record when the qkv matmul's epilogue did it (the default); else the rope-kv dispatch. */
  ropeAppendKv(l: number): void {
    const rope = this.steps.layers[l].rope;
    if (rope) this.run(rope);
  }
  attend(l: number): void {
    this.run(this.steps.layers[l].attn);
  }
  outProj(l: number): void {
    this.run(this.steps.layers[l].out);
  }
  normGateUp(l: number): void {
    this.run(this.steps.layers[l].gateUp);
  }
  down(l: number): void {
    this.run(this.steps.layers[l].down);
  }
  logits(): void {
    if (this.stepLastRowOnly) {
      // prefill: only the chunk's last row needs logits; copy it out between passes
      this.endPass();
      this.ctx.stats.apiCalls += 3; // end, copy, begin
      const rowBytes = this.cfg.dim * 4;
      this.encoder!.copyBufferToBuffer(this.x, (this.stepRows - 1) * rowBytes, this.xLast, 0, rowBytes);
      this.beginPass();
      this.run(this.steps.headLast, 1);
    } else {
      this.run(this.steps.headRows);
    }
  }

  private get p(): GPUComputePassEncoder {
    if (!this.pass) throw new Error('no step is being recorded');
    return this.pass;
  }
  private beginPass(): void {
    this.pass = this.encoder!.beginComputePass({ label: 'step' });
  }
  private endPass(): void {
    this.pass!.end();
    this.pass = null;
  }

  /**
   * Records and submits one step. `rows` gives each row's slot and position; `tokens` the input ids
   * (omit for a decode step that continues from the ids the previous step sampled into the tokens
   * buffer). With `lastRowOnly`, logits and sampling cover only the last row (a prefill chunk); else
   * every row (batched decode). `sampling` (one per logits row) also samples; then the sampled ids are
   * copied to a staging buffer: await `readTokens(handle)` to get them.
   */
  submitStep(rows: readonly RowSpec[], opts: StepOptions): StepHandle {
    const { commands, handle } = this.recordStep(rows, opts);
    this.ctx.submit([commands]);
    return handle;
  }

  /**
   * Records one step (the uniforms it needs are written to the queue) without submitting it: submitStep()
   * is this plus the submit; benchmarks time it alone. A recorded step must be submitted before the next
   * one is recorded, or dropped.
   */
  recordStep(rows: readonly RowSpec[], opts: StepOptions): { commands: GPUCommandBuffer; handle: StepHandle } {
    const n = rows.length;
    if (n < 1 || n > this.rowsPerStep) throw new BoxedError('InvalidRequest', `a step takes 1..${this.rowsPerStep} rows, got ${n}`);
    const logitRows = opts.lastRowOnly ? 1 : n;
    if (logitRows > this.opts.slots) throw new BoxedError('InvalidRequest', `${logitRows} logits rows exceed ${this.opts.slots} slots`);
    let maxPos = 0;
    for (let i = 0; i < n; i++) {
      const { slot, pos } = rows[i];
      if (slot < 0 || slot >= this.opts.slots || pos < 0 || pos >= this.opts.context) {
        throw new BoxedError('InvalidRequest', `row ${i}: slot ${slot} / position ${pos} outside ${this.opts.slots} slots x ${this.opts.context} positions`);
      }
      this.metaScratch[2 * i] = pos;
      this.metaScratch[2 * i + 1] = slot;
      maxPos = Math.max(maxPos, pos + 1);
    }
    writeBuffer(this.ctx, this.meta, 0, this.metaScratch.subarray(0, 2 * n));
    if (opts.tokens) {
      if (opts.tokens.length !== n) throw new BoxedError('InvalidRequest', `${opts.tokens.length} tokens for ${n} rows`);
      writeBuffer(this.ctx, this.tokens, 0, Uint32Array.from(opts.tokens));
    }
    if (opts.sampling) {
      if (opts.sampling.length !== logitRows) throw new BoxedError('InvalidRequest', `${opts.sampling.length} sampling rows for ${logitRows} logits rows`);
      this.sampler.writeParams(opts.sampling);
    }
    this.stepRows = n;
    this.stepMaxPos = maxPos;
    this.stepLastRowOnly = opts.lastRowOnly;
    this.encoder = this.ctx.device.createCommandEncoder({ label: 'step' });
    this.beginPass();
    // encoder, pass begin/end, finish, the ids' copy, and the readback's map/getMappedRange/unmap
    this.ctx.stats.apiCalls += opts.sampling ? 8 : 4;
    forward(this.cfg, this);
    let staging: GPUBuffer | null = null;
    if (opts.sampling) {
      this.run(this.steps.sample, logitRows);
      this.endPass();
      staging = this.staging[this.stagingIndex];
      this.stagingIndex = (this.stagingIndex + 1) % this.staging.length;
      this.encoder.copyBufferToBuffer(this.tokens, 0, staging, 0, logitRows * 4);
    } else {
      this.endPass();
    }
    const commands = this.encoder.finish();
    this.encoder = null;
    return { commands, handle: { staging, rows: logitRows } };
  }
  private stagingIndex = 0;

  /**
   * Records one step with the dispatch trace on and drops it unsubmitted: the roofline of that step (its
   * dispatches' costs, API calls, writes, the submit and readback it would make) against the bytes any
   * implementation must move.
   */
  traceStep(rows: readonly RowSpec[], opts: StepOptions): RooflineReport {
    const s = this.ctx.stats;
    const before = { dispatches: s.dispatches, apiCalls: s.apiCalls, writes: s.writes };
    const trace: DispatchCost[] = [];
    this.ctx.trace = trace;
    try {
      this.recordStep(rows, opts);
    } finally {
      this.ctx.trace = null;
    }
    // a GPU adapter's counts: the trace lists its dispatches (a CPU adapter's one-dispatch sampler is two
    // there), each extra one a setPipeline, setBindGroup and dispatch
    const extra = trace.length - (s.dispatches - before.dispatches);
    const counts = {
      dispatches: trace.length,
      apiCalls: s.apiCalls - before.apiCalls + 1 + 3 * extra,
      submits: 1,
      writes: s.writes - before.writes,
      readbacks: opts.sampling ? 1 : 0,
    };
    const maxPos = Math.max(...rows.map((r) => r.pos + 1));
    return roofline(trace, rows.length, counts, this.minStepBytes(rows.length, maxPos, opts.lastRowOnly ? 1 : rows.length));
  }

  /**
   * Bytes any implementation moves for a step: every weight of the plan once (an untied model reads one row of
   * its embedding, not the table), the rows' K/V (read, and appended), the logits.
   */
  minStepBytes(rows: number, maxPos: number, logitRows: number): number {
    const { cfg } = this;
    const weights = plannedWeights(cfg, this.opts.weights, this.ggml ?? undefined).reduce((sum, w) => sum + (w.label === 'embed' && !cfg.tiedEmbeddings ? 0 : w.bytes), 0);
    const kv = cfg.nLayers * 2 * kvRowBytes({ kvDim: cfg.kvDim, heads: cfg.nKvHeads, format: this.opts.kv }) * (rows * maxPos + rows);
    return weights + kv + logitRows * cfg.vocab * 4;
  }

  /** Waits for a step's sampled ids (the only readback of a decode step: 4 bytes a row). */
  async readTokens(h: StepHandle): Promise<Uint32Array> {
    if (!h.staging) throw new Error('this step did not sample');
    await h.staging.mapAsync(1 /* GPUMapMode.READ */, 0, Math.max(16, h.rows * 4));
    const ids = new Uint32Array(h.staging.getMappedRange(0, Math.max(16, h.rows * 4)).slice(0, h.rows * 4));
    h.staging.unmap();
    this.ctx.stats.readbacks++;
    return ids;
  }

  /** The logits of the last step's logits rows (tests and the CLI's `logits`; not used while generating). */
  async readLogits(rows = 1): Promise<Float32Array> {
    return readF32(this.ctx, this.logitsBuf, rows * this.cfg.vocab);
  }

  /** Copies the first `positions` KV entries of one slot into another (a shared prompt). */
  copySlot(from: number, to: number, positions: number): void {
    const enc = this.ctx.device.createCommandEncoder({ label: 'copySlot' });
    this.kv.copySlot(enc, from, to, positions);
    this.ctx.submit([enc.finish()]);
  }

  gpuBytes(): { weights: number; kvCache: number; activations: number } {
    return { weights: this.memory.weights, kvCache: this.kv.bytes, activations: this.memory.activations };
  }

  /** Frees everything the model created (the registry, newest first); a second call frees nothing. */
  destroy(): void {
    for (const x of this.owned.splice(0).reverse()) x.destroy();
  }

  private own<T extends { destroy(): void }>(x: T): T {
    this.owned.push(x);
    return x;
  }

  private ownWeight(w: GpuWeight): GpuWeight {
    this.owned.push({ destroy: () => destroyWeight(w) });
    return w;
  }
}

export interface StepOptions {
  tokens?: ArrayLike<number>;
  lastRowOnly: boolean;
  sampling?: readonly RowSampling[];
}

export interface StepHandle {
  staging: GPUBuffer | null;
  rows: number;
}

function mb(bytes: number): number {
  return Math.round(bytes / 1e6);
}
