// Attention kernel (shaders/attention.wgsl): causal GQA over the KV cache, never materializing scores.
// Two paths, chosen in encode() by the number of rows:
//   prefill (many rows): tiles of BR rows x G heads per workgroup, online softmax over K/V tiles;
//   decode (few rows, long caches): split-K over up to maxSplits workgroups per row and kv head,
//     then a combine dispatch merges the partial (max, sum, acc) records; with one split it takes the tiled
//     path instead (one dispatch, nothing to combine).
// Everything (layouts, pipeline requests, uniforms, the partials buffer) is made at construction (the pipelines
// compile in ctx.pipelines.compile()); encode() allocates nothing.
import source from '../../../shaders/attention.wgsl?raw';
import type { DispatchCost, GpuContext } from '../context';
import type { PipelineHandle } from '../pipelines';
import type { KvFormat } from '../../protocol/engine';
import { BoxedError } from '../../protocol/errors';
import { UNIFORM, createBuffer, writeBuffer } from '../buffers';

export interface AttentionShape {
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  context: number;
  kvFormat: KvFormat;
  maxRows: number;
}

export type AttentionPath = 'prefill' | 'decode';

export interface AttentionBinding {
  prefill: GPUBindGroup;
  decode: GPUBindGroup;
  combine: GPUBindGroup;
  /** the bindings' uniforms (prefill, decode) */
  params: GPUBuffer[];
}

interface Tiling {
  br: number;
  bk: number;
}

/** Rows up to this many take the decode (split-K) path. */
export const DECODE_MAX_ROWS = 64;
/** Most splits of one row's positions. */
export const MAX_SPLITS = 256;
// the partials buffer holds DECODE_MAX_ROWS (or maxRows) x nHeads x this many records; fewer rows may split more
const RECORDS_PER_ROW_HEAD = 32;
// a split covers at least this many positions
const MIN_SPLIT_POSITIONS = 64;
// enough workgroups to fill a large GPU
const TARGET_WORKGROUPS = 512;

function workgroupBytes(br: number, g: number, hd: number, bk: number): number {
  const bq = br * g;
  return 4 * (2 * bq * hd + bk * (hd + 1) + bq * (bk + 1) + 3 * bq) + 8 * br + 8;
}

/** The largest tiling that fits workgroup memory: rows per tile (<= maxBr, BR*G <= 32) and positions per tile. */
function chooseTiling(g: number, hd: number, limit: number, maxBr: number, bks: number[]): Tiling {
  for (const bk of bks) {
    for (let br = Math.max(1, Math.min(maxBr, Math.floor(32 / g))); br >= 1; br--) {
      if (workgroupBytes(br, g, hd, bk) <= limit) return { br, bk };
    }
  }
  throw new BoxedError('OutOfMemory', `attention: headDim ${hd} with ${g} heads per kv head does not fit ${limit} bytes of workgroup memory`, {
    detail: { neededBytes: workgroupBytes(1, g, hd, 8), limitBytes: limit },
  });
}

export class AttentionKernel {
  readonly prefillTiling: Tiling;
  readonly decodeTiling: Tiling;
  private readonly prefill: PipelineHandle;
  private readonly decode: PipelineHandle;
  private readonly combine: PipelineHandle;
  /** bind group layouts: main (prefill and decode: every binding) and combine (params, out, partials) */
  private readonly layouts: { main: GPUBindGroupLayout; combine: GPUBindGroupLayout };
  /** [4 + partRecords * (4 + headDim)] f32: a header (nSplits), then the decode path's partial records */
  private readonly part: GPUBuffer;
  /** the params buffers of the bindings this kernel made */
  private readonly bound: GPUBuffer[] = [];
  private readonly partRows: number;
  private readonly partRecords: number;
  private readonly wg: number;

  constructor(
    private readonly ctx: GpuContext,
    readonly shape: AttentionShape,
  ) {
    const { nHeads, nKvHeads, headDim, kvFormat, maxRows } = shape;
    if (nHeads % nKvHeads !== 0 || headDim % 2 !== 0) throw new BoxedError('ModelFormat', `attention needs nHeads a multiple of nKvHeads and an even headDim (got ${nHeads}/${nKvHeads}, ${headDim})`);
    const g = nHeads / nKvHeads;
    const lim = ctx.caps.limits;
    const wg = Math.min(128, lim.maxComputeInvocationsPerWorkgroup, lim.maxComputeWorkgroupSizeX);
    this.wg = wg;
    this.prefillTiling = chooseTiling(g, headDim, lim.maxComputeWorkgroupStorageSize, 16, [16, 8]);
    this.decodeTiling = chooseTiling(g, headDim, lim.maxComputeWorkgroupStorageSize, 1, [32, 16, 8]);
    const common = { WG: wg, G: g, HD: headDim, KV_F16: kvFormat === 'f16' ? 1 : 0 };
    const p = this.prefillTiling;
    const d = this.decodeTiling;
    const main = ctx.pipelines.layout('attention', [{ 0: 'uniform', 1: 'read-only-storage', 2: 'read-only-storage', 3: 'read-only-storage', 4: 'read-only-storage', 5: 'storage', 6: 'storage' }]);
    const comb = ctx.pipelines.layout('attention.combine', [{ 0: 'uniform', 5: 'storage', 6: 'storage' }]);
    this.layouts = { main: main.groups[0], combine: comb.groups[0] };
    this.prefill = ctx.pipelines.request({ shader: 'attention', source, constants: { ...common, BR: p.br, BK: p.bk, PARTIAL: 0 }, layout: main.pipeline });
    this.decode = ctx.pipelines.request({ shader: 'attention', source, constants: { ...common, BR: 1, BK: d.bk, PARTIAL: 1 }, layout: main.pipeline });
    this.combine = ctx.pipelines.request({ shader: 'attention', source, entryPoint: 'combine', constants: { ...common, BR: 1, BK: d.bk, PARTIAL: 1 }, layout: comb.pipeline });
    this.partRows = Math.min(maxRows, DECODE_MAX_ROWS);
    this.partRecords = this.partRows * nHeads * RECORDS_PER_ROW_HEAD;
    this.part = createBuffer(ctx, 'attention.partials', (4 + this.partRecords * (4 + headDim)) * 4);
  }

  /** Bind once at load: q [maxRows, qDim] (rotated), meta [maxRows] (pos, slot), the layer's K and V cache, out [maxRows, qDim]. */
  bind(q: GPUBuffer, meta: GPUBuffer, kCache: GPUBuffer, vCache: GPUBuffer, out: GPUBuffer): AttentionBinding {
    const { nHeads, nKvHeads, headDim, context, kvFormat } = this.shape;
    const slotBytes = context * nKvHeads * headDim * (kvFormat === 'f16' ? 2 : 4);
    const slots = Math.floor(Math.min(kCache.size, vCache.size) / slotBytes);
    // one uniform per pipeline: the loop bounds (headDim, positions per tile) are runtime values on purpose,
    // so shader compilers do not unroll them fully (lavapipe then compiles for tens of seconds)
    const makeParams = ({ bk, br }: Tiling) => {
      const buf = createBuffer(this.ctx, 'attention.params', 48, UNIFORM);
      this.bound.push(buf);
      const raw = new ArrayBuffer(48);
      new Uint32Array(raw).set([nHeads, nKvHeads, context, slots, 0, this.partRecords, 0, headDim, bk, br]);
      new Float32Array(raw, 16, 1)[0] = 1 / Math.sqrt(headDim);
      writeBuffer(this.ctx, buf, 0, new Uint8Array(raw));
      return buf;
    };
    const prefillParams = makeParams(this.prefillTiling);
    const decodeParams = makeParams({ bk: this.decodeTiling.bk, br: 1 });
    const group = (layout: GPUBindGroupLayout, label: string, params: GPUBuffer, bindings: number[]) => {
      const all: Record<number, GPUBuffer> = { 0: params, 1: q, 2: meta, 3: kCache, 4: vCache, 5: out, 6: this.part };
      return this.ctx.device.createBindGroup({ label, layout, entries: bindings.map((b) => ({ binding: b, resource: { buffer: all[b] } })) });
    };
    return {
      prefill: group(this.layouts.main, 'attention.prefill', prefillParams, [0, 1, 2, 3, 4, 5, 6]),
      decode: group(this.layouts.main, 'attention.decode', decodeParams, [0, 1, 2, 3, 4, 5, 6]),
      combine: group(this.layouts.combine, 'attention.combine', decodeParams, [0, 5, 6]),
      params: [prefillParams, decodeParams],
    };
  }

  /** The path encode() takes for a step of `rows` rows. */
  pathFor(rows: number): AttentionPath {
    return rows <= this.partRows ? 'decode' : 'prefill';
  }

  /** Splits per row on the decode path: enough workgroups to fill the GPU, each covering >= 64 positions, within the partials buffer. */
  splitsFor(rows: number, maxPos: number): number {
    const byLength = Math.ceil(maxPos / MIN_SPLIT_POSITIONS);
    const byOccupancy = Math.ceil(TARGET_WORKGROUPS / (rows * this.shape.nKvHeads));
    const byCapacity = Math.floor(this.partRecords / (rows * this.shape.nHeads));
    return Math.max(1, Math.min(MAX_SPLITS, byLength, byOccupancy, byCapacity));
  }

  /**
   * Records attention for `rows` rows; maxPos = the largest pos + 1 among them. `path` forces a path
   * (tests); by default few rows take the decode path and many the prefill path.
   */
  encode(pass: GPUComputePassEncoder, b: AttentionBinding, rows: number, maxPos: number, path: AttentionPath = this.pathFor(rows)): void {
    if (rows === 0) return;
    if (rows > this.shape.maxRows) throw new BoxedError('Internal', `attention: ${rows} rows > maxRows ${this.shape.maxRows}`);
    const { nHeads, nKvHeads } = this.shape;
    if (path === 'decode') {
      if (rows > this.partRows) throw new BoxedError('Internal', `attention: the decode path takes at most ${this.partRows} rows, got ${rows}`);
      const splits = this.splitsFor(rows, maxPos);
      // one split: the tiled kernel computes the same in one dispatch, with no partials to combine
      if (splits === 1) return this.encode(pass, b, rows, maxPos, 'prefill');
      this.ctx.trace?.push(this.cost('attention-decode', splits * nKvHeads * rows, rows, maxPos, Math.ceil(maxPos / splits / this.decodeTiling.bk)));
      this.ctx.dispatch(pass, this.decode, [b.decode], splits, nKvHeads, rows);
      this.ctx.trace?.push(this.combineCost(rows, splits));
      this.ctx.dispatch(pass, this.combine, [b.combine], nHeads, rows);
    } else {
      const br = this.prefillTiling.br;
      const tiles = Math.ceil(rows / br);
      // x = rows in the last tile: the shader derives the row count from it (workgroups with x > 0 exit)
      this.ctx.trace?.push(this.cost('attention-prefill', tiles * nKvHeads, rows, maxPos, Math.ceil(maxPos / this.prefillTiling.bk)));
      this.ctx.dispatch(pass, this.prefill, [b.prefill], rows - (tiles - 1) * br, nKvHeads, tiles);
    }
  }

  /** A pass over the K/V cache: every row reads its positions' K and V (at most maxPos each) and its q. */
  private cost(kernel: string, workgroups: number, rows: number, maxPos: number, tilesPerLane: number): DispatchCost {
    const { nHeads, nKvHeads, headDim, kvFormat } = this.shape;
    const qBytes = rows * nHeads * headDim * 4;
    const kvBytes = 2 * rows * maxPos * nKvHeads * headDim * (kvFormat === 'f16' ? 2 : 4);
    // per K/V tile: K loads, scores, V loads (three dependent steps, barriers between)
    return { kernel, workgroups, threads: this.wg, bytesRead: qBytes + kvBytes, bytesWritten: qBytes, flops: 4 * rows * maxPos * nHeads * headDim, chain: 3 * tilesPerLane };
  }

  private combineCost(rows: number, splits: number): DispatchCost {
    const { nHeads, headDim } = this.shape;
    const partBytes = rows * nHeads * splits * (4 + headDim) * 4;
    return { kernel: 'attention-combine', workgroups: nHeads * rows, threads: this.wg, bytesRead: partBytes, bytesWritten: rows * nHeads * headDim * 4, flops: 2 * rows * nHeads * splits * headDim, chain: Math.ceil(splits / 4) + 1 };
  }

  /** Frees the partials and every binding's params buffers. */
  destroy(): void {
    this.part.destroy();
    for (const b of this.bound.splice(0)) b.destroy();
  }
}
