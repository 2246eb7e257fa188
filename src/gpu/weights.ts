// Packed weights on the GPU. A tensor is split by whole rows into chunks so that no buffer binding
// exceeds the device's maxStorageBufferBindingSize (nor maxBufferSize): the 1.5B embedding
// [151936, 1536] is 467 MB as f16 and 146 MB as q4, while some adapters bind only 128 MiB.
// Kernels dispatch once per chunk; chunk c covers weight rows [rowStart, rowStart + rows).
// Chunks hold an even number of rows (except a tensor's last), so interleaved gate/up pairs
// never straddle two chunks.
import type { GpuContext } from './context';
import { STORAGE, writeBuffer } from './buffers';
import type { PackedWeight } from '../loader/quant';
import type { WeightFormat } from '../protocol/engine';
import { BoxedError } from '../protocol/errors';

export interface GpuWeightChunk {
  /** [rows, wordsPerRow] u32 */
  data: GPUBuffer;
  /** [rows, groupsPerRow] f32 (q4/q8), else null */
  scales: GPUBuffer | null;
  rowStart: number;
  rows: number;
}

export interface GpuWeight {
  label: string;
  format: WeightFormat;
  rows: number;
  cols: number;
  wordsPerRow: number;
  groupsPerRow: number;
  chunks: GpuWeightChunk[];
}

/** Rows per chunk for a weight layout on this device (even when more than one chunk is needed). */
export function rowsPerChunk(ctx: GpuContext, rows: number, wordsPerRow: number, groupsPerRow: number): number {
  const limit = Math.min(ctx.caps.limits.maxStorageBufferBindingSize, ctx.caps.limits.maxBufferSize);
  const rowBytes = Math.max(wordsPerRow, groupsPerRow) * 4;
  let per = Math.floor(limit / rowBytes);
  if (per >= rows) return rows;
  if (per >= 2) per -= per % 2;
  if (per < 2) {
    throw new BoxedError('OutOfMemory', `a weight row of ${rowBytes} bytes (two needed per chunk) exceeds the GPU's ${limit}-byte buffer binding limit`, {
      detail: { neededBytes: 2 * rowBytes, availableBytes: limit },
    });
  }
  return per;
}

function upload(ctx: GpuContext, label: string, words: Uint32Array | Float32Array): GPUBuffer {
  const buf = ctx.device.createBuffer({ label, size: Math.max(16, words.byteLength), usage: STORAGE });
  writeBuffer(ctx, buf, 0, words);
  return buf;
}

/** Uploads a packed weight, split into row chunks that each fit one storage binding. */
export function uploadWeight(ctx: GpuContext, label: string, packed: PackedWeight): GpuWeight {
  const { rows, wordsPerRow, groupsPerRow } = packed;
  const per = rowsPerChunk(ctx, rows, wordsPerRow, groupsPerRow);
  const chunks: GpuWeightChunk[] = [];
  for (let rowStart = 0; rowStart < rows; rowStart += per) {
    const n = Math.min(per, rows - rowStart);
    const name = chunks.length === 0 && n === rows ? label : `${label}#${chunks.length}`;
    const data = upload(ctx, name, packed.data.subarray(rowStart * wordsPerRow, (rowStart + n) * wordsPerRow));
    const scales = packed.scales ? upload(ctx, `${name}.scales`, packed.scales.subarray(rowStart * groupsPerRow, (rowStart + n) * groupsPerRow)) : null;
    chunks.push({ data, scales, rowStart, rows: n });
  }
  return { label, format: packed.format, rows, cols: packed.cols, wordsPerRow, groupsPerRow, chunks };
}

/** Bytes of GPU memory the weight's buffers hold. */
export function gpuWeightBytes(w: GpuWeight): number {
  return w.chunks.reduce((s, c) => s + c.data.size + (c.scales?.size ?? 0), 0);
}

export function destroyWeight(w: GpuWeight): void {
  for (const c of w.chunks) {
    c.data.destroy();
    c.scales?.destroy();
  }
  w.chunks = [];
}

/** The //#if defines that select a weight format in shaders/weight-formats.wgsl. */
export function formatDefines(format: WeightFormat): { fmt_q4: boolean; fmt_q8: boolean; fmt_f16: boolean; fmt_f32: boolean; scaled: boolean; wvec: boolean } {
  return {
    // a shader binding q4 words as vec4s (the decode matvec) sets this itself
    wvec: false,
    fmt_q4: format === 'q4',
    fmt_q8: format === 'q8',
    fmt_f16: format === 'f16',
    fmt_f32: format === 'f32',
    scaled: format === 'q4' || format === 'q8',
  };
}
