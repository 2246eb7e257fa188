import { describe, expect, it } from 'vitest';
import { randomNormal } from '../cpu/random';
import { decodeToF32, encodeFromF32, f16ToF32, f32BitsToBf16, f32BitsToF16 } from './dtype';

const bitsOf = (x: number): number => new Uint32Array(new Float32Array([x]).buffer)[0];

describe('dtype conversion', () => {
  it('f32 -> bf16 rounds to nearest even, keeps inf and NaN', () => {
    expect(f32BitsToBf16(bitsOf(1))).toBe(0x3f80);
    expect(f32BitsToBf16(bitsOf(-2))).toBe(0xc000);
    // 1 + 2^-8 is halfway between bf16 1 and 1+2^-7: ties to even (1)
    expect(f32BitsToBf16(bitsOf(1 + 2 ** -8))).toBe(0x3f80);
    // 1 + 3*2^-8 is halfway between 1+2^-7 (odd) and 1+2^-6: ties to even (1+2^-6)
    expect(f32BitsToBf16(bitsOf(1 + 3 * 2 ** -8))).toBe(0x3f82);
    expect(f32BitsToBf16(bitsOf(1 + 2 ** -8 + 2 ** -20))).toBe(0x3f81);
    expect(f32BitsToBf16(bitsOf(Infinity))).toBe(0x7f80);
    expect(Number.isNaN(decodeToF32(encodeFromF32(new Float32Array([NaN]), 'BF16'), 'BF16')[0])).toBe(true);
  });

  it('f32 -> f16 handles normals, ties, subnormals, overflow', () => {
    expect(f32BitsToF16(bitsOf(1))).toBe(0x3c00);
    expect(f32BitsToF16(bitsOf(65504))).toBe(0x7bff);
    expect(f32BitsToF16(bitsOf(65520))).toBe(0x7c00); // rounds up to inf
    expect(f32BitsToF16(bitsOf(1e6))).toBe(0x7c00);
    expect(f32BitsToF16(bitsOf(2 ** -24))).toBe(0x0001); // smallest subnormal
    expect(f32BitsToF16(bitsOf(2 ** -25))).toBe(0x0000); // tie to even -> 0
    expect(f32BitsToF16(bitsOf(1.5 * 2 ** -25))).toBe(0x0001);
    expect(f32BitsToF16(bitsOf(2 ** -14))).toBe(0x0400); // smallest normal
    expect(f32BitsToF16(bitsOf(1 + 2 ** -11))).toBe(0x3c00); // tie to even
    expect(f32BitsToF16(bitsOf(-(1 + 3 * 2 ** -11)))).toBe(0xbc02);
    expect(f16ToF32(0x7bff)).toBe(65504);
    expect(f16ToF32(0x0001)).toBe(2 ** -24);
  });

  it('f16 round trip of random values is within half an ulp', () => {
    const x = randomNormal(5000, 7, 30);
    const back = decodeToF32(encodeFromF32(x, 'F16'), 'F16');
    // the nearest f16 is within half an ulp: |err| <= 2^-11 * |x| (normal range), 2^-25 (subnormal)
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(back[i] - x[i]) / (Math.abs(x[i]) * 2 ** -11 + 2 ** -25));
    expect(worst).toBeLessThanOrEqual(1);
    expect(worst).toBeGreaterThan(0.5); // some values really were rounded
  });

  it('decodes from an unaligned view', () => {
    const x = new Float32Array([1.5, -2.25, 3.125]);
    for (const dtype of ['BF16', 'F16', 'F32'] as const) {
      const enc = encodeFromF32(x, dtype);
      const buf = new Uint8Array(enc.length + 1);
      buf.set(enc, 1);
      expect(Array.from(decodeToF32(buf.subarray(1), dtype))).toEqual([1.5, -2.25, 3.125]);
    }
  });
});
