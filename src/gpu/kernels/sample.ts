// GPU sampler (shaders/sample.wgsl), two dispatches: stage 1 (`partial`) over many workgroups a row, one
// per chunk of the vocabulary (its best candidates, their floor, its mass), then one workgroup a row that
// finishes from those records when it provably can (else takes full passes over the row) -> one u32 token
// id per row. Same semantics as the CPU sampler (src/sampler/sample.ts); src/cpu/sample-partial.ts is the
// CPU twin of stage 1's records. The per-row parameters live in a buffer
// allocated here and written each step with writeParams(); the engine reads back only `tokens`.
import source from '../../../shaders/sample.wgsl?raw';
import type { DispatchCost, GpuContext } from '../context';
import type { PipelineHandle } from '../pipelines';
import { BoxedError } from '../../protocol/errors';
import { STORAGE, UNIFORM, createBuffer, writeBuffer } from '../buffers';

export interface SampleShape {
  /** logits row stride (padded vocab) */
  vocab: number;
  /** ids >= validVocab are padding and never sampled */
  validVocab: number;
  maxRows: number;
  /** stage 1's chunks per row (tests, benchmarks; 0: no stage 1, the full passes only); default sampleChunks() for this adapter */
  chunks?: number;
}

/** One row's sampling parameters; coin is uniform in [0, 1). */
export interface RowSampleParams {
  temperature: number;
  topP: number;
  topK: number;
  coin: number;
}

export interface SampleBinding {
  /** both stages' bindings (one layout serves both entry points) */
  group: GPUBindGroup;
}

const PARAM_BYTES = 16; // { temperature: f32, topP: f32, topK: u32, coin: f32 }
/** Candidates a chunk keeps (CC in sample.wgsl), its record's u32 words (REC), the list capacity (CAP). */
export const SAMPLE_CHUNK_CANDIDATES = 4;
export const SAMPLE_RECORD_WORDS = 4 + 2 * SAMPLE_CHUNK_CANDIDATES;
const LIST_CAP = 1024;
/**
 * Stage 1's chunks per row: on a GPU, at most CAP / CC = 256 (every candidate fits the list) and at least 16
 * ids a chunk, so a row's first stage spreads over hundreds of workgroups (one workgroup a row would leave
 * all but a few of a large GPU's compute units idle). On a CPU adapter (lavapipe, SwiftShader) 0: the single
 * full-pass kernel, one workgroup a row. Measured on lavapipe (2 cores, `sample.bench.ts`), the single
 * kernel was faster for every setting at 1 and 8 rows (greedy at 8 rows 2-4 ms against 35-48 ms with 64
 * chunks and ~120 ms with 256): there the rows already fill the cores and each extra workgroup's barriers cost.
 */
export function sampleChunks(validVocab: number, cpuAdapter: boolean): number {
  if (cpuAdapter) return 0;
  return Math.max(1, Math.min(LIST_CAP / SAMPLE_CHUNK_CANDIDATES, Math.ceil(validVocab / 16)));
}

export class SampleKernel {
  readonly pipeline: PipelineHandle;
  /** stage 1: one workgroup per (chunk, row) */
  readonly partialPipeline: PipelineHandle;
  /** both stages' bind group layout (stage 1 leaves binding 3, the ids, alone) */
  private readonly layout: GPUBindGroupLayout;
  /** [maxRows, chunks, SAMPLE_RECORD_WORDS] u32: stage 1's chunk records */
  readonly candBuffer: GPUBuffer;
  readonly chunks: number;
  readonly paramsBuffer: GPUBuffer;
  private readonly cfg: GPUBuffer;
  private readonly staging: ArrayBuffer;
  private readonly wg: number;
  private readonly wg1: number;

  constructor(
    private readonly ctx: GpuContext,
    readonly shape: SampleShape,
  ) {
    const { vocab, validVocab, maxRows } = shape;
    if (!(validVocab > 0 && validVocab <= vocab)) throw new BoxedError('ModelFormat', `sampler: validVocab ${validVocab} must be in 1..vocab ${vocab}`);
    const limit = Math.min(256, ctx.caps.limits.maxComputeInvocationsPerWorkgroup, ctx.caps.limits.maxComputeWorkgroupSizeX);
    const wg = 2 ** Math.floor(Math.log2(limit));
    this.wg = wg;
    this.wg1 = Math.min(64, wg / 2); // red (4 WG words) holds WG1 / 2 merge states of 12 words
    const info = ctx.device.adapterInfo as GPUAdapterInfo | undefined;
    this.chunks = shape.chunks ?? sampleChunks(validVocab, info?.isFallbackAdapter ?? false);
    if (!(Number.isInteger(this.chunks) && this.chunks >= 0 && this.chunks * SAMPLE_CHUNK_CANDIDATES <= LIST_CAP)) {
      throw new BoxedError('Internal', `sampler: ${this.chunks} chunks must be in 0..${LIST_CAP / SAMPLE_CHUNK_CANDIDATES}`);
    }
    const layout = ctx.pipelines.layout('sample', [{ 0: 'uniform', 1: 'read-only-storage', 2: 'read-only-storage', 3: 'storage', 4: 'storage' }]);
    this.layout = layout.groups[0];
    this.pipeline = ctx.pipelines.request({ shader: 'sample', source, constants: { WG: wg, WG1: this.wg1 }, layout: layout.pipeline });
    this.partialPipeline = ctx.pipelines.request({ shader: 'sample', source, entryPoint: 'partial', constants: { WG: wg, WG1: this.wg1 }, layout: layout.pipeline });
    this.cfg = createBuffer(ctx, 'sample.cfg', 16, UNIFORM);
    writeBuffer(ctx, this.cfg, 0, new Uint32Array([vocab, validVocab, this.chunks, wg])); // { vocab, validVocab, chunks, wg }
    this.candBuffer = createBuffer(ctx, 'sample.cand', Math.max(16, maxRows * this.chunks * SAMPLE_RECORD_WORDS * 4), STORAGE);
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
        { binding: 4, resource: { buffer: this.candBuffer } },
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
    const v = this.shape.validVocab;
    const G = this.chunks;
    if (G === 0) {
      // one workgroup a row: a sampled top-k / top-p row takes one pass over its logits (each thread keeps
      // stage 1's state over its ids) and finishes from the threads' candidates when it provably can, else
      // the full passes (argmax, a threshold pass, the pick). The trace states what a discrete GPU runs
      // instead (sampleChunks): the two stages, two dispatches, so the roofline counts a GPU's dispatches.
      if (this.ctx.trace) this.ctx.trace.push(...this.stageCosts(rows, sampleChunks(v, false)));
      this.ctx.dispatch(pass, this.pipeline, [b.group], rows);
      return;
    }
    const [partial, final] = this.stageCosts(rows, G);
    this.ctx.trace?.push(partial);
    this.ctx.dispatch(pass, this.partialPipeline, [b.group], G, rows);
    this.ctx.trace?.push(final);
    this.ctx.dispatch(pass, this.pipeline, [b.group], rows);
  }

  /**
   * The two stages' costs with G chunks a row: stage 1 reads every logit once (lanes: about v / G / WG1
   * loads each, 8 in flight); stage 2 reads the records (about G * REC / WG words a lane) and, at the pick,
   * the kept ids' logits. A row whose thresholds lie below the candidates' floor takes the full passes on
   * top (not counted: a peaked distribution, the usual case, never does).
   */
  private stageCosts(rows: number, G: number): [DispatchCost, DispatchCost] {
    const v = this.shape.validVocab;
    const wg1 = Math.min(64, this.wg / 2);
    const recBytes = rows * G * SAMPLE_RECORD_WORDS * 4;
    return [
      { kernel: 'sample-partial', workgroups: G * rows, threads: wg1, bytesRead: rows * v * 4, bytesWritten: recBytes, flops: 20 * rows * v, chain: Math.ceil(v / G / wg1 / 8) },
      { kernel: 'sample', workgroups: rows, threads: this.wg, bytesRead: recBytes, bytesWritten: rows * 4, flops: 40 * rows * G * SAMPLE_CHUNK_CANDIDATES, chain: Math.ceil((G * SAMPLE_RECORD_WORDS) / this.wg / 8) + 2 },
    ];
  }

  destroy(): void {
    this.cfg.destroy();
    this.paramsBuffer.destroy();
    this.candBuffer.destroy();
  }
}
