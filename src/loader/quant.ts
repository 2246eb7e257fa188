// Weight formats as the GPU stores them, and their exact CPU inverse (the oracle for kernel tests).
// A matrix W is [rows = out, cols = in], row-major f32 on input. Every format is packed into u32 words
// so shaders read array<u32> and need no shader-f16:
//   q4  : groups of 32 consecutive values of a row, one f16 scale per group (absmax / 7 rounded to f16,
//         clamped to the largest finite f16), values q = round(w / scale) with that rounded scale, clamped to
//         [-8, 7], stored as nibbles (q + 8), 8 per u32, value v of a word at bits 4v. The scales live with
//         their values (18 bytes per 32): a row is superblocks of 8 groups, each 9 vec4<u32> (36 words,
//         144 bytes): words 0..3 the 8 f16 scales (group j's in half j % 2 of word j / 2, the low half
//         first), then 4 words per group. A row's last superblock holds only its remaining groups (4 + 4r
//         words for r groups; its unused scale halves are 0), so rows stay whole vec4s; the last group's
//         values past cols are code 8 (q = 0). A group whose scale is 0 in f16 stores q = 0.
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
/** q4: groups per superblock, and its u32 words (4 of scales, 4 per group). */
export const Q4_SUPER_GROUPS = 8;
export const Q4_SUPER_WORDS = 4 + 4 * Q4_SUPER_GROUPS;
const F16_MAX = 65504;

/** q4: words of a row of cols values (whole superblocks, then the remaining groups' short one). */
export function q4RowWords(cols: number): number {
  const groups = Math.ceil(cols / GROUP);
  const rem = groups % Q4_SUPER_GROUPS;
  return Math.floor(groups / Q4_SUPER_GROUPS) * Q4_SUPER_WORDS + (rem > 0 ? 4 + 4 * rem : 0);
}

/** q4: the row word that holds group g's f16 scale (in half g % 2). */
export function q4ScaleWord(g: number): number {
  return Math.floor(g / Q4_SUPER_GROUPS) * Q4_SUPER_WORDS + ((g % Q4_SUPER_GROUPS) >>> 1);
}

/** q4: the row word of block b (values 8b .. 8b + 7). */
export function q4BlockWord(b: number): number {
  return Math.floor(b / 32) * Q4_SUPER_WORDS + 4 + (b % 32);
}

export interface PackedWeight {
  format: WeightFormat;
  rows: number;
  cols: number;
  /** [rows, wordsPerRow] u32 words */
  data: Uint32Array;
  /** [rows, groupsPerRow] f32 scales for q8; null for q4 (scales inside its words), f16, f32 */
  scales: Float32Array | null;
  wordsPerRow: number;
  /** Scale groups per row of the scales array (q8); 0 for q4, f16, f32. */
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

/** The row layout of a format: words and scale groups (of a separate scales array) per row. */
export function rowLayout(cols: number, format: WeightFormat): { wordsPerRow: number; groupsPerRow: number } {
  if (format === 'q4') return { wordsPerRow: q4RowWords(cols), groupsPerRow: 0 };
  if (format === 'q8') {
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
  } else if (format === 'q4') {
    packQ4(w, rows, cols, data, wordsPerRow);
  } else {
    scales = new Float32Array(rows * groupsPerRow);
    for (let r = 0; r < rows; r++) {
      for (let g = 0; g < groupsPerRow; g++) {
        const c0 = g * GROUP;
        const c1 = Math.min(c0 + GROUP, cols);
        const absmax = groupAbsmax(w, r, cols, c0, c1, g);
        const scale = Math.fround(absmax / 127);
        scales[r * groupsPerRow + g] = scale;
        if (scale === 0) continue; // all-zero group: q = 0
        // one word at a time: 4 codes assembled in a register, then a single store
        const rowBase = r * cols;
        let word = r * wordsPerRow + (c0 >>> 2);
        for (let i = 0; i < GROUP; i += 4, word++) {
          let packed = 0;
          for (let v = 0; v < 4; v++) {
            const c = c0 + i + v;
            const x = c < c1 ? w[rowBase + c] : 0;
            let q = Math.round(x / scale);
            if (q > 127) q = 127;
            else if (q < -127) q = -127;
            packed |= (q & 0xff) << (8 * v);
          }
          data[word] = packed >>> 0;
        }
      }
    }
  }
  return { format, rows, cols, data, scales, wordsPerRow, groupsPerRow };
}

function groupAbsmax(w: Float32Array, r: number, cols: number, c0: number, c1: number, g: number): number {
  let absmax = 0;
  for (let c = c0; c < c1; c++) absmax = Math.max(absmax, Math.abs(w[r * cols + c]));
  if (!Number.isFinite(absmax)) throw new BoxedError('ModelFormat', `non-finite value in weight row ${r}, group ${g}`);
  return absmax;
}

/** q4's f16 scale bits of a group: absmax / 7 rounded to f16, at most the largest finite f16 (0: a zero group). */
export function q4ScaleBits(absmax: number): number {
  return f32ToF16Bits(Math.min(Math.fround(absmax / 7), F16_MAX));
}

function packQ4(w: Float32Array, rows: number, cols: number, data: Uint32Array, wordsPerRow: number): void {
  const groups = Math.ceil(cols / GROUP);
  for (let r = 0; r < rows; r++) {
    const row = r * wordsPerRow;
    const rowBase = r * cols;
    for (let g = 0; g < groups; g++) {
      const c0 = g * GROUP;
      const c1 = Math.min(c0 + GROUP, cols);
      const bits = q4ScaleBits(groupAbsmax(w, r, cols, c0, c1, g));
      const scale = f16BitsToF32(bits);
      const sw = row + q4ScaleWord(g);
      data[sw] = (data[sw] | (bits << (16 * (g & 1)))) >>> 0;
      let word = row + q4BlockWord(4 * g);
      if (scale === 0) {
        // zero group (or a scale below f16's range): q = 0, the zero code
        for (let i = 0; i < 4; i++) data[word + i] = 0x88888888;
        continue;
      }
      // one word at a time: 8 codes assembled in a register, then a single store
      for (let i = 0; i < GROUP; i += 8, word++) {
        let packed = 0;
        for (let v = 0; v < 8; v++) {
          const c = c0 + i + v;
          const x = c < c1 ? w[rowBase + c] : 0;
          let q = Math.round(x / scale);
          if (q > 7) q = 7;
          else if (q < -8) q = -8;
          packed |= (q + 8) << (4 * v);
        }
        data[word] = packed >>> 0;
      }
    }
  }
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
      const row = r * wordsPerRow;
      const word = data[row + q4BlockWord(c >>> 3)];
      const q = ((word >>> (4 * (c & 7))) & 0xf) - 8;
      const g = c >>> 5;
      const s = f16BitsToF32((data[row + q4ScaleWord(g)] >>> (16 * (g & 1))) & 0xffff);
      return Math.fround(s * q);
    }
    case 'q8': {
      const word = data[r * wordsPerRow + (c >>> 2)];
      const q = (word << (24 - 8 * (c & 3))) >> 24;
      return Math.fround(p.scales![r * groupsPerRow + (c >>> 5)] * q);
    }
  }
}
