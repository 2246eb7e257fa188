// Attention kernel (shaders/attention.wgsl): causal GQA over the KV cache, never materializing scores.
// Two paths, chosen in encode() by the number of rows:
//   prefill (many rows): tiles of BR rows x G heads per workgroup, online softmax over K/V tiles;
//   decode (few rows, long caches): split-K, entry `decode`: a workgroup per (split, kv head (x head group), row)
//     reads K and V as vec4<u32> chunks straight from storage and scores its GW query heads in parallel; the
//     splits fill a large GPU (DECODE_TARGET_WORKGROUPS workgroups) with at least MIN_SPLIT_POSITIONS positions
//     each, and a combine dispatch merges the partial (max, sum, acc) records. With one split (at most 64
//     positions, or a full GPU without splitting) the decode workgroup writes the output itself: one dispatch.
//     Why 64: a split writes GW partial records of (4 + headDim) f32 that combine reads back; at 64 positions of
//     f16 K and V that traffic is a fifth of the split's K/V bytes for the 1.5B's 6 heads a kv head (less for
//     longer splits), and a 64-position split is two 32-position blocks, so few lanes idle in a partial block.
//     Head dims whose kv vector is not whole 16-byte chunks (headDim not a multiple of 8 for f16, of 4 for f32, of
//     16 for q8)
//     take entry `main` in PARTIAL mode instead (tiles staged in workgroup memory, the tiled path for one split).
// Everything (layouts, pipeline requests, uniforms, the partials buffer) is made at construction (the pipelines
// compile in ctx.pipelines.compile()); encode() allocates nothing.
import source from '../../../shaders/attention.wgsl?raw';
import type { DispatchCost, GpuContext } from '../context';
import type { PipelineHandle } from '../pipelines';
import type { KvFormat } from '../../protocol/engine';
import { BoxedError } from '../../protocol/errors';
import { UNIFORM, createBuffer, writeBuffer } from '../buffers';
import { DECODE_TARGET_WORKGROUPS } from './matmul-tiling';
import { kvRowBytes } from '../../model/memory-plan';

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

/** Entry `decode`'s shape (shaders/attention.wgsl). */
export interface DecodeShape {
  /** query heads per workgroup (<= 8) and head groups per kv head (ceil(G / gw)) */
  gw: number;
  hg: number;
  /** lanes per position in the score step */
  t: number;
  /** positions per block */
  bk: number;
  /** floats of the reduction scratch */
  red: number;
  /** workgroup memory bytes */
  bytes: number;
}

/** Rows up to this many take the decode (split-K) path. */
export const DECODE_MAX_ROWS = 64;
/** Most splits of one row's positions. */
export const MAX_SPLITS = 256;
// the partials buffer holds DECODE_MAX_ROWS (or maxRows) x nHeads x this many records; fewer rows may split more
const RECORDS_PER_ROW_HEAD = 32;
// a split covers at least this many positions
const MIN_SPLIT_POSITIONS = 64;
// the shader's MAXG and MAXV: query heads a decode workgroup holds accumulators for, V chunks a lane loads a block
const MAX_DECODE_HEADS = 8;
const MAX_V_CHUNKS = 8;

/** Entry `decode`'s shape for G heads per kv head, or null where a position's vector is not whole 16-byte chunks or does not fit. */
export function chooseDecode(g: number, hd: number, kvFormat: KvFormat, wg: number, limit: number): DecodeShape | null {
  const vpc = kvFormat === 'f16' ? 8 : kvFormat === 'q8' ? 16 : 4;
  if (hd % vpc !== 0) return null;
  const l = hd / vpc;
  if (l > wg) return null;
  const hg = Math.ceil(g / MAX_DECODE_HEADS);
  const gw = Math.ceil(g / hg);
  // lanes per position: a lane takes at most 4 chunks (32 f16 values) of a position
  let t = 1;
  while (Math.ceil(l / t) > 4 && t * 2 <= wg) t *= 2;
  const p = Math.floor(wg / t);
  const pv = Math.floor(wg / l);
  const bk = Math.min(Math.min(64, Math.max(32, p)), pv * MAX_V_CHUNKS);
  const red = Math.max(gw * bk * t, pv * hd);
  const bytes = 4 * (gw * hd + red + gw * bk + 3 * gw * pv) + 8;
  return bytes <= limit ? { gw, hg, t, bk, red, bytes } : null;
}

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
  /** entry `decode`'s shape; null: the decode path takes entry `main` (PARTIAL) with decodeTiling */
  readonly decodeShape: DecodeShape | null;
  readonly decodeTiling: Tiling | null;
  private readonly prefill: PipelineHandle;
  private readonly decode: PipelineHandle;
  private readonly combine: PipelineHandle;
  /** bind group layouts: main (prefill and PARTIAL decode: bindings 0-6), decode (K, V as vec4 at 7, 8), combine (params, out, partials) */
  private readonly layouts: { main: GPUBindGroupLayout; decode: GPUBindGroupLayout; combine: GPUBindGroupLayout };
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
    if (kvFormat === 'q8' && headDim % 4 !== 0) throw new BoxedError('ModelFormat', `the q8 KV cache needs a head dimension that is a multiple of 4, got ${headDim}`);
    const g = nHeads / nKvHeads;
    const lim = ctx.caps.limits;
    const wg = Math.min(128, lim.maxComputeInvocationsPerWorkgroup, lim.maxComputeWorkgroupSizeX);
    this.wg = wg;
    this.prefillTiling = chooseTiling(g, headDim, lim.maxComputeWorkgroupStorageSize, 16, [16, 8]);
    this.decodeShape = chooseDecode(g, headDim, kvFormat, wg, lim.maxComputeWorkgroupStorageSize);
    this.decodeTiling = this.decodeShape ? null : chooseTiling(g, headDim, lim.maxComputeWorkgroupStorageSize, 1, [32, 16, 8]);
    const common = { WG: wg, G: g, HD: headDim, KV_F16: kvFormat === 'f16' ? 1 : 0, KV_Q8: kvFormat === 'q8' ? 1 : 0 };
    const p = this.prefillTiling;
    const main = ctx.pipelines.layout('attention', [{ 0: 'uniform', 1: 'read-only-storage', 2: 'read-only-storage', 3: 'read-only-storage', 4: 'read-only-storage', 5: 'storage', 6: 'storage' }]);
    const dec = ctx.pipelines.layout('attention.decode', [{ 0: 'uniform', 1: 'read-only-storage', 2: 'read-only-storage', 7: 'read-only-storage', 8: 'read-only-storage', 5: 'storage', 6: 'storage' }]);
    const comb = ctx.pipelines.layout('attention.combine', [{ 0: 'uniform', 5: 'storage', 6: 'storage' }]);
    this.layouts = { main: main.groups[0], decode: dec.groups[0], combine: comb.groups[0] };
    this.prefill = ctx.pipelines.request({ shader: 'attention', source, constants: { ...common, BR: p.br, BK: p.bk, PARTIAL: 0 }, layout: main.pipeline });
    const ds = this.decodeShape;
    this.decode = ds
      ? ctx.pipelines.request({ shader: 'attention', source, entryPoint: 'decode', constants: { ...common, PARTIAL: 1, GW: ds.gw, T: ds.t, DBK: ds.bk, RED: ds.red }, layout: dec.pipeline })
      : ctx.pipelines.request({ shader: 'attention', source, constants: { ...common, BR: 1, BK: this.decodeTiling!.bk, PARTIAL: 1 }, layout: main.pipeline });
    this.combine = ctx.pipelines.request({ shader: 'attention', source, entryPoint: 'combine', constants: { ...common, PARTIAL: 1 }, layout: comb.pipeline });
    this.partRows = Math.min(maxRows, DECODE_MAX_ROWS);
    this.partRecords = this.partRows * nHeads * RECORDS_PER_ROW_HEAD;
    this.part = createBuffer(ctx, 'attention.partials', (4 + this.partRecords * (4 + headDim)) * 4);
  }

  /** Bind once at load: q [maxRows, qDim] (rotated), meta [maxRows] (pos, slot), the layer's K and V cache, out [maxRows, qDim]. */
  bind(q: GPUBuffer, meta: GPUBuffer, kCache: GPUBuffer, vCache: GPUBuffer, out: GPUBuffer): AttentionBinding {
    const { nHeads, nKvHeads, headDim, context, kvFormat } = this.shape;
    const slotBytes = context * this.rowBytes;
    const slots = Math.floor(Math.min(kCache.size, vCache.size) / slotBytes);
    // q8: the scales follow the slots' values
    const scaleWord = kvFormat === 'q8' ? (slots * context * nKvHeads * headDim) / 4 : 0;
    // one uniform per pipeline: the loop bounds (headDim, positions per tile) are runtime values on purpose,
    // so shader compilers do not unroll them fully (lavapipe then compiles for tens of seconds)
    const makeParams = ({ bk, br }: Tiling) => {
      const buf = createBuffer(this.ctx, 'attention.params', 48, UNIFORM);
      this.bound.push(buf);
      const raw = new ArrayBuffer(48);
      new Uint32Array(raw).set([nHeads, nKvHeads, context, slots, 0, this.partRecords, scaleWord, headDim, bk, br]);
      new Float32Array(raw, 16, 1)[0] = 1 / Math.sqrt(headDim);
      writeBuffer(this.ctx, buf, 0, new Uint8Array(raw));
      return buf;
    };
    const prefillParams = makeParams(this.prefillTiling);
    const decodeParams = makeParams({ bk: (this.decodeShape ?? this.decodeTiling!).bk, br: 1 });
    const group = (layout: GPUBindGroupLayout, label: string, params: GPUBuffer, bindings: number[]) => {
      const all: Record<number, GPUBuffer> = { 0: params, 1: q, 2: meta, 3: kCache, 4: vCache, 5: out, 6: this.part, 7: kCache, 8: vCache };
      return this.ctx.device.createBindGroup({ label, layout, entries: bindings.map((b) => ({ binding: b, resource: { buffer: all[b] } })) });
    };
    return {
      prefill: group(this.layouts.main, 'attention.prefill', prefillParams, [0, 1, 2, 3, 4, 5, 6]),
      decode: this.decodeShape
        ? group(this.layouts.decode, 'attention.decode', decodeParams, [0, 1, 2, 7, 8, 5, 6])
        : group(this.layouts.main, 'attention.decode', decodeParams, [0, 1, 2, 3, 4, 5, 6]),
      combine: group(this.layouts.combine, 'attention.combine', decodeParams, [0, 5, 6]),
      params: [prefillParams, decodeParams],
    };
  }

  /** Bytes of one position's K (or V) vectors of every kv head in the cache (q8: with their scales). */
  private get rowBytes(): number {
    const { nKvHeads, headDim, kvFormat } = this.shape;
    return kvRowBytes({ kvDim: nKvHeads * headDim, heads: nKvHeads, format: kvFormat });
  }

  /** The path encode() takes for a step of `rows` rows. */
  pathFor(rows: number): AttentionPath {
    return rows <= this.partRows ? 'decode' : 'prefill';
  }

  /** Decode workgroups per (row, split): kv heads x head groups. */
  private get decodeGroups(): number {
    return this.shape.nKvHeads * (this.decodeShape?.hg ?? 1);
  }

  /** Splits per row on the decode path: enough workgroups to fill a large GPU, each covering >= 64 positions, within the partials buffer. */
  splitsFor(rows: number, maxPos: number): number {
    const byLength = Math.ceil(maxPos / MIN_SPLIT_POSITIONS);
    const byOccupancy = Math.ceil(DECODE_TARGET_WORKGROUPS / (rows * this.decodeGroups));
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
      const ds = this.decodeShape;
      if (ds) {
        // one split: the decode workgroups write the output, nothing to combine
        this.ctx.trace?.push(this.decodeCost(ds, rows, maxPos, splits));
        this.ctx.dispatch(pass, this.decode, [b.decode], splits, nKvHeads * ds.hg, rows);
        if (splits === 1) return;
      } else {
        // one split: the tiled kernel computes the same in one dispatch, with no partials to combine
        if (splits === 1) return this.encode(pass, b, rows, maxPos, 'prefill');
        this.ctx.trace?.push(this.cost('attention-decode', splits * nKvHeads * rows, rows, maxPos, Math.ceil(maxPos / splits / this.decodeTiling!.bk)));
        this.ctx.dispatch(pass, this.decode, [b.decode], splits, nKvHeads, rows);
      }
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
    const { nHeads, headDim } = this.shape;
    const qBytes = rows * nHeads * headDim * 4;
    const kvBytes = 2 * rows * maxPos * this.rowBytes;
    // per K/V tile: K loads, scores, V loads (three dependent steps, barriers between)
    return { kernel, workgroups, threads: this.wg, bytesRead: qBytes + kvBytes, bytesWritten: qBytes, flops: 4 * rows * maxPos * nHeads * headDim, chain: 3 * tilesPerLane };
  }

  /**
   * Entry `decode`: every head group reads its rows' K and V (at most maxPos positions) once; it writes the
   * output (one split) or the partial records. Chain per block: the K and V loads (issued together), then the
   * reductions through workgroup memory; plus the q load and the final write.
   */
  private decodeCost(ds: DecodeShape, rows: number, maxPos: number, splits: number): DispatchCost {
    const { nHeads, nKvHeads, headDim } = this.shape;
    const qBytes = rows * nHeads * headDim * 4;
    const kvBytes = 2 * rows * maxPos * this.rowBytes * ds.hg;
    const written = splits > 1 ? rows * nHeads * splits * (4 + headDim) * 4 : qBytes;
    const blocks = Math.ceil(Math.ceil(maxPos / splits) / ds.bk);
    return { kernel: 'attention-decode', workgroups: splits * nKvHeads * ds.hg * rows, threads: this.wg, bytesRead: qBytes + kvBytes, bytesWritten: written, flops: 4 * rows * maxPos * nHeads * headDim, chain: blocks + 2 };
  }

  private combineCost(rows: number, splits: number): DispatchCost {
    const { nHeads, headDim } = this.shape;
    const partBytes = rows * nHeads * splits * (4 + headDim) * 4;
    // split groups: the shader's WG / ceil(headDim / 4) lanes of 4 dims each, merged after one barrier
    const groups = Math.max(1, Math.floor(this.wg / Math.ceil(headDim / 4)));
    return { kernel: 'attention-combine', workgroups: nHeads * rows, threads: this.wg, bytesRead: partBytes, bytesWritten: rows * nHeads * headDim * 4, flops: 2 * rows * nHeads * splits * headDim, chain: Math.ceil(splits / (4 * groups)) + 2 };
  }

  /** Frees the partials and every binding's params buffers. */
  destroy(): void {
    this.part.destroy();
    for (const b of this.bound.splice(0)) b.destroy();
  }
}
