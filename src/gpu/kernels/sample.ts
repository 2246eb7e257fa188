// GPU sampler (shaders/sample.wgsl): one workgroup per row of logits -> one u32 token id per row.
// Same semantics as the CPU sampler (src/sampler/sample.ts). The per-row parameters live in a buffer
// allocated here and written each step with writeParams(); the engine reads back only `tokens`.
import source from '../../../shaders/sample.wgsl?raw';
import type { GpuContext } from '../context';
import type { PipelineHandle } from '../pipelines';
import { BoxedError } from '../../protocol/errors';
import { STORAGE, UNIFORM, createBuffer, writeBuffer } from '../buffers';

export interface SampleShape {
  /** logits row stride (padded vocab) */
  vocab: number;
  /** ids >= validVocab are padding and never sampled */
  validVocab: number;
  maxRows: number;
}

/** One row's sampling parameters; coin is uniform in [0, 1). */
export interface RowSampleParams {
  temperature: number;
  topP: number;
  topK: number;
  coin: number;
}

export interface SampleBinding {
  group: GPUBindGroup;
}

const PARAM_BYTES = 16; // { temperature: f32, topP: f32, topK: u32, coin: f32 }

export class SampleKernel {
  readonly pipeline: PipelineHandle;
  private readonly layout: GPUBindGroupLayout;
  /** [maxRows] RowParams, written by writeParams() */
  readonly paramsBuffer: GPUBuffer;
  private readonly cfg: GPUBuffer;
  private readonly staging: ArrayBuffer;
  private readonly wg: number;

  constructor(
    private readonly ctx: GpuContext,
    readonly shape: SampleShape,
  ) {
    const { vocab, validVocab, maxRows } = shape;
    if (!(validVocab > 0 && validVocab <= vocab)) throw new BoxedError('ModelFormat', `sampler: validVocab ${validVocab} must be in 1..vocab ${vocab}`);
    const limit = Math.min(256, ctx.caps.limits.maxComputeInvocationsPerWorkgroup, ctx.caps.limits.maxComputeWorkgroupSizeX);
    const wg = 2 ** Math.floor(Math.log2(limit));
    this.wg = wg;
    const layout = ctx.pipelines.layout('sample', [{ 0: 'uniform', 1: 'read-only-storage', 2: 'read-only-storage', 3: 'storage' }]);
    this.layout = layout.groups[0];
    this.pipeline = ctx.pipelines.request({ shader: 'sample', source, constants: { WG: wg }, layout: layout.pipeline });
    this.cfg = createBuffer(ctx, 'sample.cfg', 16, UNIFORM);
    writeBuffer(ctx, this.cfg, 0, new Uint32Array([vocab, validVocab, 0, wg])); // { vocab, validVocab, unused, wg }
    this.paramsBuffer = createBuffer(ctx, 'sample.params', maxRows * PARAM_BYTES, STORAGE);
    this.staging = new ArrayBuffer(maxRows * PARAM_BYTES);
  }

  /** Bind once: logits [maxRows, vocab] f32, params (undefined: this kernel's paramsBuffer), tokensOut [maxRows] u32. */
  bind(logits: GPUBuffer, params: GPUBuffer | undefined, tokensOut: GPUBuffer): SampleBinding {
    const group = this.ctx.device.createBindGroup({
      label: 'sample',
      layout: this.layout,
      entries: [
        { binding: 0, resource: { buffer: this.cfg } },
        { binding: 1, resource: { buffer: logits } },
        { binding: 2, resource: { buffer: params ?? this.paramsBuffer } },
        { binding: 3, resource: { buffer: tokensOut } },
      ],
    });
    return { group };
  }

  /** Writes the step's per-row parameters (queue.writeBuffer into paramsBuffer). */
  writeParams(rows: readonly RowSampleParams[]): void {
    if (rows.length > this.shape.maxRows) throw new BoxedError('Internal', `sampler: ${rows.length} rows > maxRows ${this.shape.maxRows}`);
    if (rows.length === 0) return;
    const f = new Float32Array(this.staging);
    const u = new Uint32Array(this.staging);
    rows.forEach((r, i) => {
      if (!(r.coin >= 0 && r.coin < 1)) throw new BoxedError('InvalidRequest', `sampler: coin ${r.coin} must be in [0, 1)`);
      f[4 * i] = r.temperature;
      f[4 * i + 1] = r.topP;
      u[4 * i + 2] = Math.max(0, Math.min(0xffffffff, Math.floor(r.topK)));
      f[4 * i + 3] = r.coin;
    });
    writeBuffer(this.ctx, this.paramsBuffer, 0, new Uint8Array(this.staging, 0, rows.length * PARAM_BYTES));
  }

  encode(pass: GPUComputePassEncoder, b: SampleBinding, rows: number): void {
    if (rows > this.shape.maxRows) throw new BoxedError('Internal', `sampler: ${rows} rows > maxRows ${this.shape.maxRows}`);
    // one workgroup a row, about three passes over the row's logits (argmax, a threshold pass, the pick);
    // a lane's loads within a pass are independent: ~8 in flight
    const v = this.shape.vocab;
    this.ctx.trace?.push({ kernel: 'sample', workgroups: rows, threads: this.wg, bytesRead: 3 * rows * v * 4, bytesWritten: rows * 4, flops: 3 * 10 * rows * v, chain: Math.ceil((3 * v) / this.wg / 8) });
    this.ctx.dispatch(pass, this.pipeline, [b.group], rows);
  }

  destroy(): void {
    this.cfg.destroy();
    this.paramsBuffer.destroy();
  }
}
