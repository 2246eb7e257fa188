import { describe, it, expect } from 'vitest';
import { dequantize, f16BitsToF32, f16ToF32Array, f32ToF16Array, f32ToF16Bits, packWeight, packedBytes, q4BlockWord, q4ScaleWord, rowLayout, type PackedWeight, type WeightFormat } from './quant';
import { randomNormal } from '../cpu/random';
import { BoxedError } from '../protocol/errors';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const bitsOf = (v: number) => ((f32[0] = v), u32[0]);
const fromBits = (b: number) => ((u32[0] = b), f32[0]);

describe('f16 conversion', () => {
  it('round-trips every half exactly (NaNs stay NaN)', () => {
    for (let h = 0; h < 65536; h++) {
      const v = f16BitsToF32(h);
      const back = f32ToF16Bits(v);
      if (Number.isNaN(v)) expect((back & 0x7c00) === 0x7c00 && (back & 0x3ff) !== 0).toBe(true);
      else if (back !== h) throw new Error(`half 0x${h.toString(16)} -> ${v} -> 0x${back.toString(16)}`);
    }
  });

  it('rounds to nearest, ties to even, on every gap between finite halves (normal and subnormal)', () => {
    for (let h = 0; h < 0x7bff; h++) {
      const lo = f16BitsToF32(h);
      const hi = f16BitsToF32(h + 1);
      const mid = (lo + hi) / 2; // exact in f32
      const even = (h & 1) === 0 ? h : h + 1;
      expect(f32ToF16Bits(mid)).toBe(even);
      expect(f32ToF16Bits(-mid)).toBe(even | 0x8000);
      // just above / below the midpoint
      const bm = bitsOf(mid);
      expect(f32ToF16Bits(fromBits(bm + 1))).toBe(h + 1);
      expect(f32ToF16Bits(fromBits(bm - 1))).toBe(h);
    }
  });

  it('handles overflow, infinities, underflow and NaN', () => {
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(65519.99)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // ties to even rounds up to inf
    expect(f32ToF16Bits(1e10)).toBe(0x7c00);
    expect(f32ToF16Bits(-Infinity)).toBe(0xfc00);
    expect(f32ToF16Bits(2 ** -25)).toBe(0); // tie between 0 and the smallest subnormal: even is 0
    expect(f32ToF16Bits(2 ** -25 * 1.0001)).toBe(1);
    expect(f32ToF16Bits(-1e-30)).toBe(0x8000);
    expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN)))).toBe(true);
  });

  it('array conversions agree with the scalar ones', () => {
    const v = randomNormal(4096, 7, 100);
    const h = f32ToF16Array(v);
    const back = f16ToF32Array(h);
    for (let i = 0; i < v.length; i++) {
      expect(h[i]).toBe(f32ToF16Bits(v[i]));
      expect(back[i]).toBe(f16BitsToF32(h[i]));
      expect(Math.abs(back[i] - v[i])).toBeLessThanOrEqual(Math.abs(v[i]) * 2 ** -11);
    }
  });
});

describe('packWeight / dequantize', () => {
  const shapes: [number, number][] = [
    [3, 7],
    [5, 100],
    [4, 64],
    [2, 333],
    [3, 256],
    [2, 1000],
  ];

  // q4's scale of group g of row r, from its words
  const q4Scale = (p: PackedWeight, r: number, g: number) => f16BitsToF32((p.data[r * p.wordsPerRow + q4ScaleWord(g)] >>> (16 * (g & 1))) & 0xffff);

  it.each(shapes)('layout and bytes of [%i, %i]', (rows, cols) => {
    for (const format of ['q4', 'q8', 'f16', 'f32'] as WeightFormat[]) {
      const w = randomNormal(rows * cols, rows * 31 + cols);
      const p = packWeight(w, rows, cols, format);
      const l = rowLayout(cols, format);
      expect(p.wordsPerRow).toBe(l.wordsPerRow);
      expect(p.data.length).toBe(rows * p.wordsPerRow);
      expect((p.scales?.length ?? 0) * 4 + p.data.byteLength).toBe(packedBytes(rows, cols, format));
      if (format === 'q8') expect(p.groupsPerRow).toBe(Math.ceil(cols / 32));
      if (format === 'q4') expect([p.groupsPerRow, p.scales]).toEqual([0, null]);
    }
    // q4: 36 words a superblock of 8 groups; the last one 4 words of scales + 4 a remaining group
    const groups = Math.ceil(cols / 32);
    expect(rowLayout(cols, 'q4').wordsPerRow).toBe(Math.floor(groups / 8) * 36 + (groups % 8 ? 4 + 4 * (groups % 8) : 0));
    expect(rowLayout(cols, 'q4').wordsPerRow % 4).toBe(0);
    expect(rowLayout(cols, 'q8').wordsPerRow).toBe(Math.ceil(cols / 32) * 8);
    expect(rowLayout(cols, 'f16').wordsPerRow).toBe(Math.ceil(cols / 2));
  });

  it('f32 is lossless and f16 equals per-value rounding', () => {
    const w = randomNormal(5 * 333, 3);
    expect(dequantize(packWeight(w, 5, 333, 'f32'))).toEqual(w);
    const d = dequantize(packWeight(w, 5, 333, 'f16'));
    for (let i = 0; i < w.length; i++) expect(d[i]).toBe(f16BitsToF32(f32ToF16Bits(w[i])));
  });

  it.each(['q4', 'q8'] as const)('%s: values are scale*q with q in range, error within half a step, absmax exact', (format) => {
    const rows = 6;
    const cols = 333;
    const w = randomNormal(rows * cols, 11, 0.05);
    const p = packWeight(w, rows, cols, format);
    const d = dequantize(p);
    const qmax = format === 'q4' ? 7 : 127;
    const groups = Math.ceil(cols / 32);
    for (let r = 0; r < rows; r++) {
      for (let g = 0; g < groups; g++) {
        const s = format === 'q4' ? q4Scale(p, r, g) : p.scales![r * p.groupsPerRow + g];
        let absmax = 0;
        for (let c = g * 32; c < Math.min(cols, g * 32 + 32); c++) absmax = Math.max(absmax, Math.abs(w[r * cols + c]));
        // q4: the scale is absmax / 7 rounded to f16, and the values are quantized with that rounded scale
        expect(s).toBe(format === 'q4' ? f16BitsToF32(f32ToF16Bits(Math.fround(absmax / qmax))) : Math.fround(absmax / qmax));
        for (let c = g * 32; c < Math.min(cols, g * 32 + 32); c++) {
          const q = Math.round(d[r * cols + c] / s);
          expect(q).toBeGreaterThanOrEqual(-qmax - 1);
          expect(q).toBeLessThanOrEqual(qmax);
          expect(d[r * cols + c]).toBe(Math.fround(s * q));
          expect(Math.abs(q - Math.max(-qmax - 1, Math.min(qmax, Math.round(w[r * cols + c] / s))))).toBe(0);
          // (q4's f16 scale may sit below absmax / 7 by 2^-11: absmax then clamps to 7s, still within half a step)
          expect(Math.abs(d[r * cols + c] - w[r * cols + c])).toBeLessThanOrEqual(s * 0.5 * (1 + 1e-6));
        }
      }
    }
  });

  it('q4: scales interleaved with their values in superblocks of 8 groups, the tail superblock short', () => {
    // 2 rows of 11 groups (333 values): a full superblock (36 words) then one of 3 groups (16 words)
    const cols = 333;
    const w = randomNormal(2 * cols, 21);
    const p = packWeight(w, 2, cols, 'q4');
    expect(p.wordsPerRow).toBe(52);
    expect([q4ScaleWord(0), q4ScaleWord(1), q4ScaleWord(7), q4ScaleWord(8), q4ScaleWord(10)]).toEqual([0, 0, 3, 36, 37]);
    expect([q4BlockWord(0), q4BlockWord(31), q4BlockWord(32), q4BlockWord(41)]).toEqual([4, 35, 40, 49]);
    for (let r = 0; r < 2; r++) {
      const row = r * p.wordsPerRow;
      // the tail superblock's scale halves past its 3 groups are 0
      expect(p.data[row + 37] >>> 16).toBe(0);
      expect(p.data[row + 38]).toBe(0);
      expect(p.data[row + 39]).toBe(0);
      // the last group's values past cols (333 .. 351) are the zero code
      for (let c = cols; c < 352; c++) expect((p.data[row + q4BlockWord(c >>> 3)] >>> (4 * (c & 7))) & 0xf).toBe(8);
      // each group's scale is its absmax / 7 in f16
      for (let g = 0; g < 11; g++) {
        let absmax = 0;
        for (let c = 32 * g; c < Math.min(cols, 32 * g + 32); c++) absmax = Math.max(absmax, Math.abs(w[r * cols + c]));
        expect(q4Scale(p, r, g)).toBe(f16BitsToF32(f32ToF16Bits(Math.fround(absmax / 7))));
      }
    }
  });

  it('q4: f16 overflow clamps the scale, underflow makes a zero group', () => {
    const w = new Float32Array(3 * 32);
    w[0] = 1e6; // absmax / 7 > 65504: the scale clamps to 65504, values clamp to q = 7
    w[1] = -1e6;
    w[2] = 65504 * 3;
    w[32] = 1e-9; // absmax / 7 below half the smallest f16 subnormal: scale 0, q = 0
    w[33] = -5e-10;
    w[64] = 6e-7; // a subnormal scale: 6e-7 / 7 rounds to 1 or 2 units of 2^-24
    const p = packWeight(w, 1, 96, 'q4');
    const d = dequantize(p);
    expect(q4Scale(p, 0, 0)).toBe(65504);
    expect([d[0], d[1], d[2], d[3]]).toEqual([65504 * 7, -65504 * 8, 65504 * 3, 0]);
    expect(q4Scale(p, 0, 1)).toBe(0);
    for (let c = 32; c < 64; c++) expect(d[c]).toBe(0);
    for (let i = 0; i < 4; i++) expect(p.data[q4BlockWord(4 + i)]).toBe(0x88888888);
    const s2 = q4Scale(p, 0, 2);
    expect(s2).toBe(f16BitsToF32(f32ToF16Bits(Math.fround(6e-7 / 7))));
    expect(s2).toBeGreaterThan(0);
    expect(d[64]).toBe(Math.fround(s2 * Math.min(7, Math.round(6e-7 / s2))));
    for (const v of d) expect(Number.isFinite(v)).toBe(true);
  });

  it('q4 packs nibbles as q+8, value v of a word at bits 4v; q8 packs signed bytes at bits 8v', () => {
    // one row of 32: values k-8 scaled so that absmax is 7*s with s = 0.5
    const vals = new Float32Array(32);
    for (let i = 0; i < 32; i++) vals[i] = ((i % 15) - 7) * 0.5;
    const p4 = packWeight(vals, 1, 32, 'q4');
    expect(p4.wordsPerRow).toBe(8); // one group: 4 words of scales (one used half), 4 of values
    expect(p4.data[0]).toBe(f32ToF16Bits(0.5));
    expect(p4.data[4] & 0xf).toBe(-7 + 8);
    expect((p4.data[4] >>> 4) & 0xf).toBe(-6 + 8);
    expect(p4.data[5] >>> 28).toBe(((15 % 15) - 7) + 8);
    const p8 = packWeight(vals, 1, 32, 'q8');
    expect(p8.data[0] & 0xff).toBe(-127 & 0xff);
    expect(dequantize(p8)[0]).toBe(-3.5);
  });

  it('zero-pads partial groups and handles all-zero groups', () => {
    const w = new Float32Array(2 * 40);
    w[1] = 3.5; // row 0 group 0 (scale 0.5, exact in f16); row 0 group 1 and row 1 are all zero
    for (const format of ['q4', 'q8'] as const) {
      const p = packWeight(w, 2, 40, format);
      expect(Array.from(dequantize(p))).toEqual(Array.from(w));
      expect(format === 'q4' ? q4Scale(p, 0, 1) : p.scales![1]).toBe(0);
    }
    // q4 padding nibbles decode to zero (code 8)
    const p = packWeight(randomNormal(40, 5), 1, 40, 'q4');
    for (let c = 40; c < 64; c++) expect((p.data[q4BlockWord(c >>> 3)] >>> (4 * (c & 7))) & 0xf).toBe(8);
  });

  it('rejects bad shapes and non-finite values with a typed error', () => {
    expect(() => packWeight(new Float32Array(10), 3, 4, 'q4')).toThrow(BoxedError);
    expect(() => packWeight(new Float32Array(0), 0, 4, 'f16')).toThrow(BoxedError);
    const bad = randomNormal(64, 1);
    bad[40] = NaN;
    expect(() => packWeight(bad, 2, 32, 'q8')).toThrow(/non-finite/);
  });
});
