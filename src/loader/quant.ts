// Weight formats as the GPU stores them, and their exact CPU inverse (the oracle for kernel tests).
// A matrix W is [rows = out, cols = in], row-major f32 on input. Every format is packed into u32 words
// so shaders read array<u32> and need no shader-f16:
//   q4  : groups of 32 consecutive values of a row, one f32 scale per group (absmax / 7), values
//         q = round(w / scale) clamped to [-8, 7], stored as nibbles (q + 8), 8 per u32, value v of a
//         word at bits 4v. A row is ceil(cols / 32) groups (the tail is zero-padded): 4 words a group.
//   q8  : groups of 32, scale absmax / 127, q in [-127, 127] as two's-complement bytes, 4 per u32,
//         value v at bits 8v: 8 words a group.
//   f16 : two IEEE halves per u32 (pack2x16float layout: even index in the low half); cols padded to even.
//   f32 : the f32 bits as is.
// Dequantized value: w = scale * q, computed in f32. No GPU imports here.
import type { WeightFormat } from '../protocol/engine';
import { BoxedError } from '../protocol/errors';
import { f16BitsToF32, f32ToF16Bits } from './f16';

export { f16BitsToF32, f32ToF16Bits, f16ToF32Array, f32ToF16Array } from './f16';

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

export type { WeightFormat };

/** Values per quantization group (q4, q8). */
export const GROUP = 32;

export interface PackedWeight {
  format: WeightFormat;
  rows: number;
  cols: number;
  /** [rows, wordsPerRow] u32 words */
  data: Uint32Array;
  /** [rows, groupsPerRow] f32 scales for q4/q8; null for f16/f32 */
  scales: Float32Array | null;
  wordsPerRow: number;
  /** Scale groups per row (q4/q8); 0 for f16/f32. */
  groupsPerRow: number;
}

/** Values held by one u32 word of a format. */
export function valuesPerWord(format: WeightFormat): number {
  switch (format) {
    case 'q4':
      return 8;
    case 'q8':
      return 4;
    case 'f16':
      return 2;
    case 'f32':
      return 1;
  }
}

/** The row layout of a format: words and scale groups per row. */
export function rowLayout(cols: number, format: WeightFormat): { wordsPerRow: number; groupsPerRow: number } {
  if (format === 'q4' || format === 'q8') {
    const groupsPerRow = Math.ceil(cols / GROUP);
    return { wordsPerRow: (groupsPerRow * GROUP) / valuesPerWord(format), groupsPerRow };
  }
  return { wordsPerRow: Math.ceil(cols / valuesPerWord(format)), groupsPerRow: 0 };
}

/** Bytes a packed [rows, cols] matrix occupies (data + scales). */
export function packedBytes(rows: number, cols: number, format: WeightFormat): number {
  const { wordsPerRow, groupsPerRow } = rowLayout(cols, format);
  return rows * (wordsPerRow + groupsPerRow) * 4;
}

// ---- pack / dequantize -----------------------------------------------------------------------

function checkShape(len: number, rows: number, cols: number): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows <= 0 || cols <= 0) {
    throw new BoxedError('ModelFormat', `bad weight shape [${rows}, ${cols}]`);
  }
  if (len !== rows * cols) throw new BoxedError('ModelFormat', `weight has ${len} values, shape [${rows}, ${cols}] needs ${rows * cols}`);
}

/** Packs a row-major [rows, cols] f32 matrix into a GPU weight format. */
export function packWeight(w: Float32Array, rows: number, cols: number, format: WeightFormat): PackedWeight {
  checkShape(w.length, rows, cols);
  const { wordsPerRow, groupsPerRow } = rowLayout(cols, format);
  const data = new Uint32Array(rows * wordsPerRow);
  let scales: Float32Array | null = null;
  if (format === 'f32') {
    data.set(new Uint32Array(w.buffer, w.byteOffset, w.length));
  } else if (format === 'f16') {
    for (let r = 0; r < rows; r++) {
      const rowBase = r * cols;
      const out = r * wordsPerRow;
      for (let c = 0; c < cols; c += 2) {
        const hi = c + 1 < cols ? f32ToF16Bits(w[rowBase + c + 1]) : 0;
        data[out + (c >>> 1)] = (f32ToF16Bits(w[rowBase + c]) | (hi << 16)) >>> 0;
      }
    }
  } else {
    const q4 = format === 'q4';
    const qmax = q4 ? 7 : 127;
    const qmin = q4 ? -8 : -127;
    const bits = q4 ? 4 : 8;
    const perWord = 32 / bits;
    const wordShift = q4 ? 3 : 2; // log2(perWord)
    const mask = q4 ? 0xf : 0xff;
    scales = new Float32Array(rows * groupsPerRow);
    for (let r = 0; r < rows; r++) {
      for (let g = 0; g < groupsPerRow; g++) {
        const c0 = g * GROUP;
        const c1 = Math.min(c0 + GROUP, cols);
        let absmax = 0;
        for (let c = c0; c < c1; c++) absmax = Math.max(absmax, Math.abs(w[r * cols + c]));
        if (!Number.isFinite(absmax)) throw new BoxedError('ModelFormat', `non-finite value in weight row ${r}, group ${g}`);
        const scale = Math.fround(absmax / qmax);
        scales[r * groupsPerRow + g] = scale;
        if (scale === 0) {
          // all-zero group: q = 0, stored as the zero code
          if (q4) for (let i = 0; i < GROUP / perWord; i++) data[r * wordsPerRow + (c0 / perWord) + i] = 0x88888888;
          continue;
        }
        // one word at a time: perWord codes assembled in a register, then a single store
        const rowBase = r * cols;
        let word = r * wordsPerRow + (c0 >>> wordShift);
        for (let i = 0; i < GROUP; i += perWord, word++) {
          let packed = 0;
          for (let v = 0; v < perWord; v++) {
            const c = c0 + i + v;
            const x = c < c1 ? w[rowBase + c] : 0;
            let q = Math.round(x / scale);
            if (q > qmax) q = qmax;
            else if (q < qmin) q = qmin;
            packed |= (q4 ? q + 8 : q & mask) << (bits * v);
          }
          data[word] = packed >>> 0;
        }
      }
    }
  }
  return { format, rows, cols, data, scales, wordsPerRow, groupsPerRow };
}

/** The exact [rows, cols] f32 values the GPU sees for a packed weight (scale * q in f32). */
export function dequantize(p: PackedWeight): Float32Array {
  const { rows, cols, data, wordsPerRow, groupsPerRow } = p;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      out[r * cols + c] = dequantizeAt(p, r, c, data, wordsPerRow, groupsPerRow);
    }
  }
  return out;
}

function dequantizeAt(p: PackedWeight, r: number, c: number, data: Uint32Array, wordsPerRow: number, groupsPerRow: number): number {
  switch (p.format) {
    case 'f32':
      u32Scratch[0] = data[r * wordsPerRow + c];
      return f32Scratch[0];
    case 'f16': {
      const word = data[r * wordsPerRow + (c >>> 1)];
      return f16BitsToF32((c & 1) === 0 ? word & 0xffff : word >>> 16);
    }
    case 'q4': {
      const word = data[r * wordsPerRow + (c >>> 3)];
      const q = ((word >>> (4 * (c & 7))) & 0xf) - 8;
      return Math.fround(p.scales![r * groupsPerRow + (c >>> 5)] * q);
    }
    case 'q8': {
      const word = data[r * wordsPerRow + (c >>> 2)];
      const q = (word << (24 - 8 * (c & 3))) >> 24;
      return Math.fround(p.scales![r * groupsPerRow + (c >>> 5)] * q);
    }
  }
}
