// Streaming weight upload: a [rows, cols] matrix goes to the GPU a piece of rows at a time, each piece read
// (as f32), packed and written straight into the chunk buffer that holds it, so JS holds one piece (at most
// PIECE_VALUES f32 values plus its packed copy), never a whole tensor, whatever the model's size. The chunks
// are the same as uploadWeight's (rowsPerChunk), and packing is per row, so the GPU ends up with the same
// bytes as packing the whole matrix at once.
import type { GpuContext } from './context';
import { STORAGE, writeBuffer } from './buffers';
import { rowsPerChunk, type GpuWeight, type GpuWeightChunk } from './weights';
import { packWeight, rowLayout } from '../loader/quant';
import type { WeightFormat } from '../protocol/engine';

/** Values read and packed at a time (64 MB as f32). */
export const PIECE_VALUES = 16 << 20;

/** Rows [start, start + count) of the matrix as f32, row-major (the piece may be modified by the callee). */
export type RowPieceReader = (start: number, count: number) => Promise<Float32Array>;

export interface StreamOptions {
  /** pieces start at multiples of this many rows and hold a multiple of it (2 for interleaved gate/up) */
  rowMultiple?: number;
  /** values per piece (tests use small pieces) */
  pieceValues?: number;
}

/** Uploads a matrix piece by piece into binding-sized row chunks. */
export async function streamWeight(ctx: GpuContext, label: string, rows: number, cols: number, format: WeightFormat, read: RowPieceReader, opts: StreamOptions = {}): Promise<GpuWeight> {
  const { wordsPerRow, groupsPerRow } = rowLayout(cols, format);
  const per = rowsPerChunk(ctx, rows, wordsPerRow, groupsPerRow);
  const multiple = opts.rowMultiple ?? 1;
  const pieceRows = Math.max(multiple, Math.floor((opts.pieceValues ?? PIECE_VALUES) / cols / multiple) * multiple);
  const chunks: GpuWeightChunk[] = [];
  const scaled = groupsPerRow > 0;
  const made: GPUBuffer[] = [];
  try {
    for (let rowStart = 0; rowStart < rows; rowStart += per) {
      const n = Math.min(per, rows - rowStart);
      const name = chunks.length === 0 && n === rows ? label : `${label}#${chunks.length}`;
      const data = ctx.device.createBuffer({ label: name, size: Math.max(16, n * wordsPerRow * 4), usage: STORAGE });
      const scales = scaled ? ctx.device.createBuffer({ label: `${name}.scales`, size: Math.max(16, n * groupsPerRow * 4), usage: STORAGE }) : null;
      made.push(data, ...(scales ? [scales] : []));
      for (let r = 0; r < n; r += pieceRows) {
        const count = Math.min(pieceRows, n - r);
        const p = packWeight(await read(rowStart + r, count), count, cols, format);
        writeBuffer(ctx, data, r * wordsPerRow * 4, p.data);
        if (scales && p.scales) writeBuffer(ctx, scales, r * groupsPerRow * 4, p.scales);
      }
      chunks.push({ format, wordsPerRow, groupsPerRow, data, scales, rowStart, rows: n });
    }
  } catch (e) {
    // a piece that could not be read or packed: the buffers made so far belong to no weight
    for (const b of made) b.destroy();
    throw e;
  }
  return { label, format, rows, cols, wordsPerRow, groupsPerRow, chunks };
}
