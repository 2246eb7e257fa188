// Packed weights on the GPU. A tensor is split by whole rows into chunks so that no buffer binding
// exceeds the device's maxStorageBufferBindingSize (nor maxBufferSize): the 1.5B embedding
// [151936, 1536] is 467 MB as f16 and 131 MB as q4, while some adapters bind only 128 MiB.
// Kernels dispatch once per chunk; chunk c covers weight rows [rowStart, rowStart + rows).
// Chunks hold an even number of rows (except a tensor's last), so interleaved gate/up pairs
// never straddle two chunks.
import type { GpuContext } from './context';
import { STORAGE, writeBuffer } from './buffers';
import { rowLayout, type PackedWeight } from '../loader/quant';
import type { WeightFormat } from '../protocol/engine';
import { BoxedError } from '../protocol/errors';
import { ggmlTypeByName, typeBytes, type GgmlTypeName } from '../loader/gguf/blocks';

/**
 * GGUF block types the shaders read as they are (shaders/weight-formats.wgsl). GGUF's F32 and F16 rows are
 * Boxed's f32 and f16 layouts already, so they load as those.
 */
export const GGUF_GPU_FORMATS = ['BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K', 'Q5_K', 'Q6_K'] as const;
export type GgufGpuFormat = (typeof GGUF_GPU_FORMATS)[number];
/** How a weight's words are laid out on the GPU: Boxed's own formats or a GGUF block type. */
export type GpuFormat = WeightFormat | GgufGpuFormat;

export function isGgufFormat(f: GpuFormat): f is GgufGpuFormat {
  return (GGUF_GPU_FORMATS as readonly string[]).includes(f);
}

/** The GPU format that holds a GGML type's rows byte for byte. */
export function gpuFormatOfGgml(t: GgmlTypeName): GpuFormat {
  return t === 'F32' ? 'f32' : t === 'F16' ? 'f16' : t;
}

/**
 * Words and scale groups per row of a format. A GGUF row is its blocks' bytes padded to whole words (BF16: two
 * values a word, like f16); its scales live inside the blocks (no scale groups).
 */
export function gpuRowLayout(cols: number, format: GpuFormat): { wordsPerRow: number; groupsPerRow: number } {
  if (!isGgufFormat(format)) return rowLayout(cols, format);
  return { wordsPerRow: Math.ceil(typeBytes(ggmlTypeByName(format), cols) / 4), groupsPerRow: 0 };
}

/** Bytes of GPU memory a [rows, cols] weight takes in a format. */
export function gpuPackedBytes(rows: number, cols: number, format: GpuFormat): number {
  const { wordsPerRow, groupsPerRow } = gpuRowLayout(cols, format);
  return rows * (wordsPerRow + groupsPerRow) * 4;
}

/** A weight in GPU layout before upload: a PackedWeight, or GGUF rows (blockRows). */
export interface GpuPacked {
  format: GpuFormat;
  rows: number;
  cols: number;
  data: Uint32Array;
  scales: Float32Array | null;
  wordsPerRow: number;
  groupsPerRow: number;
}

/**
 * GGUF tensor rows [rows, cols] of a GGML type, as stored in the file (bytes: rows * rowBytes), in GPU
 * layout: each row's blocks unchanged, padded to whole words when a row's bytes are not a multiple of 4.
 */
export function blockRows(type: GgmlTypeName, bytes: Uint8Array, rows: number, cols: number): GpuPacked {
  const format = gpuFormatOfGgml(type);
  const rowBytes = typeBytes(ggmlTypeByName(type), cols);
  if (bytes.length !== rows * rowBytes) throw new BoxedError('ModelFormat', `${type} [${rows}, ${cols}] needs ${rows * rowBytes} bytes, got ${bytes.length}`);
  const { wordsPerRow } = gpuRowLayout(cols, format);
  if (wordsPerRow * 4 === rowBytes && bytes.byteOffset % 4 === 0) {
    return { format, rows, cols, data: new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4), scales: null, wordsPerRow, groupsPerRow: 0 };
  }
  const out = new Uint8Array(rows * wordsPerRow * 4);
  if (wordsPerRow * 4 === rowBytes) out.set(bytes);
  else for (let r = 0; r < rows; r++) out.set(bytes.subarray(r * rowBytes, (r + 1) * rowBytes), r * wordsPerRow * 4);
  return { format, rows, cols, data: new Uint32Array(out.buffer), scales: null, wordsPerRow, groupsPerRow: 0 };
}

export interface GpuWeightChunk {
  /** this chunk's format and row layout (a weight stacked from GGUF tensors of different types mixes them) */
  format: GpuFormat;
  wordsPerRow: number;
  groupsPerRow: number;
  /** [rows, wordsPerRow] u32 */
  data: GPUBuffer;
  /** [rows, groupsPerRow] f32 (q4/q8), else null */
  scales: GPUBuffer | null;
  rowStart: number;
  rows: number;
}

export interface GpuWeight {
  label: string;
  /** the first chunk's format and layout (every chunk's, unless the weight was stacked by uploadParts) */
  format: GpuFormat;
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
export function uploadWeight(ctx: GpuContext, label: string, packed: PackedWeight | GpuPacked): GpuWeight {
  return uploadParts(ctx, label, [packed]);
}

/**
 * Uploads matrices with the same columns stacked by rows (q, k and v of a GGUF file, whose types may differ)
 * as one weight: each part is split into its own chunks, in its own format, at rows offset by the parts before.
 */
export function uploadParts(ctx: GpuContext, label: string, parts: readonly (PackedWeight | GpuPacked)[]): GpuWeight {
  const chunks: GpuWeightChunk[] = [];
  let offset = 0;
  const cols = parts[0].cols;
  const single = parts.length === 1;
  for (const packed of parts) {
    const { rows, wordsPerRow, groupsPerRow } = packed;
    if (packed.cols !== cols) throw new BoxedError('Internal', `weight ${label}: parts of ${cols} and ${packed.cols} columns`);
    const per = rowsPerChunk(ctx, rows, wordsPerRow, groupsPerRow);
    for (let rowStart = 0; rowStart < rows; rowStart += per) {
      const n = Math.min(per, rows - rowStart);
      const name = single && chunks.length === 0 && n === rows ? label : `${label}#${chunks.length}`;
      const data = upload(ctx, name, packed.data.subarray(rowStart * wordsPerRow, (rowStart + n) * wordsPerRow));
      const scales = packed.scales ? upload(ctx, `${name}.scales`, packed.scales.subarray(rowStart * groupsPerRow, (rowStart + n) * groupsPerRow)) : null;
      chunks.push({ format: packed.format, wordsPerRow, groupsPerRow, data, scales, rowStart: offset + rowStart, rows: n });
    }
    offset += rows;
  }
  const first = parts[0];
  return { label, format: first.format, rows: offset, cols, wordsPerRow: first.wordsPerRow, groupsPerRow: first.groupsPerRow, chunks };
}

/** Weights with the same columns as one, stacked by rows in order (their chunks, row starts offset). */
export function joinWeights(label: string, parts: readonly GpuWeight[]): GpuWeight {
  const chunks: GpuWeightChunk[] = [];
  let offset = 0;
  for (const p of parts) {
    if (p.cols !== parts[0].cols) throw new BoxedError('Internal', `weight ${label}: parts of ${parts[0].cols} and ${p.cols} columns`);
    for (const c of p.chunks) chunks.push({ ...c, rowStart: offset + c.rowStart });
    offset += p.rows;
  }
  const first = parts[0];
  return { label, format: first.format, rows: offset, cols: first.cols, wordsPerRow: first.wordsPerRow, groupsPerRow: first.groupsPerRow, chunks };
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
export function formatDefines(format: GpuFormat): Record<string, boolean> & { scaled: boolean; scale_buf: boolean; wvec: boolean } {
  const gguf = format !== 'BF16' && isGgufFormat(format);
  return {
    fmt_boxed: !isGgufFormat(format),
    fmt_bf16: format === 'BF16',
    fmt_gguf: gguf,
    ...Object.fromEntries(GGUF_GPU_FORMATS.filter((f) => f !== 'BF16').map((f) => [`fmt_${f.toLowerCase()}`, f === format])),
    // a shader binding q4 words as vec4s (the decode matvec) sets this itself
    wvec: false,
    fmt_q4: format === 'q4',
    fmt_q8: format === 'q8',
    fmt_f16: format === 'f16',
    fmt_f32: format === 'f32',
    // group scales (q4: inside the weight words; q8: a separate scales buffer, binding 3)
    scaled: format === 'q4' || format === 'q8',
    scale_buf: format === 'q8',
  };
}
