// GGML block decoding on hand-built blocks whose values are worked out by hand, and encode → decode
// round trips for every type within its quantization step.
import { describe, expect, it } from 'vitest';
import { BoxedError } from '../../protocol/errors';
import { f32ToF16Bits } from '../f16';
import { dequantize, ggmlType, ggmlTypeByName, GGML_TYPES, type GgmlTypeName } from './blocks';
import { quantize } from './quantize';

const f16 = (v: number): [number, number] => {
  const b = f32ToF16Bits(v);
  return [b & 0xff, b >> 8];
};
const decode = (name: GgmlTypeName, bytes: number[] | Uint8Array, n: number) => Array.from(dequantize(ggmlTypeByName(name), Uint8Array.from(bytes), n));

describe('hand-built blocks', () => {
  it('Q8_0: d * int8', () => {
    const q = Array.from({ length: 32 }, (_, j) => (j % 2 ? -j : j));
    expect(decode('Q8_0', [...f16(0.5), ...q.map((v) => v & 0xff)], 32)).toEqual(q.map((v) => v * 0.5));
  });

  it('Q4_0: low nibbles are values 0..15, high nibbles 16..31, offset 8', () => {
    // byte j = (lo = j) | (hi = 15 - j) << 4
    const qs = Array.from({ length: 16 }, (_, j) => j | ((15 - j) << 4));
    const want = [...Array.from({ length: 16 }, (_, j) => 2 * (j - 8)), ...Array.from({ length: 16 }, (_, j) => 2 * (15 - j - 8))];
    expect(decode('Q4_0', [...f16(2), ...qs], 32)).toEqual(want);
  });

  it('Q4_1: d * q + m', () => {
    const qs = new Array(16).fill(0x31); // lo 1, hi 3
    expect(decode('Q4_1', [...f16(0.25), ...f16(-1), ...qs], 32)).toEqual([...new Array(16).fill(-0.75), ...new Array(16).fill(-0.25)]);
  });

  it('Q5_0 and Q5_1: bit j of qh is bit 4 of value j', () => {
    // qh: bit 0 (value 0) and bit 16 (value 16) and bit 31 (value 31)
    const qh = [0x01, 0x00, 0x01, 0x80];
    const qs = new Array(16).fill(0x00);
    const v = decode('Q5_0', [...f16(1), ...qh, ...qs], 32);
    const want = new Array(32).fill(-16);
    want[0] = want[16] = want[31] = 0;
    expect(v).toEqual(want);
    const w = decode('Q5_1', [...f16(1), ...f16(0.5), ...qh, ...qs], 32);
    expect(w).toEqual(want.map((x) => x + 16 + 0.5));
  });

  it('Q4_K: 6-bit scales and mins, the high sub-blocks taking their top bits from the low bytes', () => {
    const b = new Uint8Array(144);
    b.set(f16(0.5), 0); // d
    b.set(f16(0.25), 2); // dmin
    // sub-block scales sc = [1..8], mins mn = [0, 2, 4, .., 14] + 48 for sub-blocks 4..7 (their 5th/6th bits set)
    const sc = [1, 2, 3, 4, 5 + 48, 6, 7 + 16, 8];
    const mn = [0, 2, 4, 6, 8, 10 + 32, 12, 14];
    for (let j = 0; j < 4; j++) {
      b[4 + j] = sc[j] | ((sc[j + 4] >> 4) << 6);
      b[4 + j + 4] = mn[j] | ((mn[j + 4] >> 4) << 6);
      b[4 + j + 8] = (sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4);
    }
    // every nibble q = 3: value = 0.5 * sc * 3 - 0.25 * mn
    b.fill(0x33, 16);
    expect(decode('Q4_K', b, 256)).toEqual(Array.from({ length: 256 }, (_, i) => 0.5 * sc[i >> 5] * 3 - 0.25 * mn[i >> 5]));
  });

  it('Q5_K: bit s of qh[l] adds 16 to value l of sub-block s', () => {
    const b = new Uint8Array(176);
    b.set(f16(1), 0);
    b.set(f16(0), 2);
    for (let j = 0; j < 4; j++) b[4 + j] = 1; // sc 1 for sub-blocks 0..3
    b[4 + 8] = b[4 + 9] = b[4 + 10] = b[4 + 11] = 1; // sc 1 for 4..7, mins 0
    b[16 + 5] = 0b10000010; // value 5 of sub-blocks 1 and 7
    const v = decode('Q5_K', b, 256);
    const want = new Array(256).fill(0);
    want[32 + 5] = 16;
    want[224 + 5] = 16;
    expect(v).toEqual(want);
  });

  it('Q6_K: 4+2 bits, int8 scales per 16, offset 32', () => {
    const b = new Uint8Array(210);
    b.set(f16(0.5), 208);
    for (let k = 0; k < 16; k++) b[192 + k] = (k % 2 ? -(k + 1) : k + 1) & 0xff;
    // value 0: ql[0] low = 5, qh[0] bits 0-1 = 2 -> q = 37 - 32 = 5; value 64: ql[0] high = 1, qh[0] bits 4-5 = 3 -> 49 - 32 = 17
    b[0] = 0x15;
    b[128] = 0b00110010;
    // value 200 (half 1, w 72 = quarter 2, l 8): ql[64 + 8] high nibble, qh[128 + 32 + 8] bits 4-5; q = 0 -> -32
    const v = decode('Q6_K', b, 256);
    const scale = (k: number) => 0.5 * (k % 2 ? -(k + 1) : k + 1);
    expect(v[0]).toBe(scale(0) * 5);
    expect(v[64]).toBe(scale(4) * 17);
    expect(v[200]).toBe(scale(200 >> 4) * -32);
    expect(v[1]).toBe(scale(0) * -32); // all other bits zero
  });

  it('F32, F16, BF16 decode as the safetensors dtypes do', () => {
    expect(decode('F16', [...f16(1.5), ...f16(-2)], 2)).toEqual([1.5, -2]);
    expect(decode('BF16', [0x80, 0x3f, 0x00, 0xc0], 2)).toEqual([1, -2]);
    expect(decode('F32', new Uint8Array(new Float32Array([0.1, 3]).buffer), 2)).toEqual([Math.fround(0.1), 3]);
  });
});

describe('types', () => {
  it('names an unsupported type in a ModelFormat error', () => {
    for (const [id, name] of [[16, 'IQ2_XXS'], [35, 'TQ2_0'], [10, 'Q2_K'], [999, 'unknown (id 999)']] as const) {
      const e = (() => {
        try {
          ggmlType(id, 'blk.0.attn_q.weight', 'm.gguf');
        } catch (err) {
          return err;
        }
      })();
      expect(e).toBeInstanceOf(BoxedError);
      expect((e as BoxedError).name).toBe('ModelFormat');
      expect((e as Error).message).toContain(`type ${name}`);
    }
  });
});

/** Deterministic non-degenerate values: a mix of scales, signs and an offset per block. */
function values(n: number, seed: number): Float32Array {
  const x = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 2 ** 32 - 0.5;
    x[i] = u * (1 + ((i >> 5) % 7)) + (((i >> 8) % 3) - 1) * 0.3;
  }
  return x;
}

// relative error bound per type, as a fraction of the block's largest magnitude
const STEP: Record<GgmlTypeName, number> = {
  F32: 0,
  F16: 1 / 1024,
  BF16: 1 / 128,
  Q8_0: 1 / 127,
  Q4_0: 1 / 8,
  Q4_1: 1 / 15,
  Q5_0: 1 / 16,
  Q5_1: 1 / 31,
  Q4_K: 2 / 15,
  Q5_K: 2 / 31,
  Q6_K: 1 / 32,
};

describe('round trips', () => {
  for (const t of GGML_TYPES.values()) {
    it(`${t.name}: decode(encode(x)) within the type's step`, () => {
      const n = 256 * 3;
      const x = values(n, 7 + t.id);
      const y = dequantize(t, quantize(t, x), n);
      let worst = 0;
      for (let b = 0; b < n; b += 256) {
        let amax = 0;
        for (let i = b; i < b + 256; i++) amax = Math.max(amax, Math.abs(x[i]));
        for (let i = b; i < b + 256; i++) worst = Math.max(worst, Math.abs(y[i] - x[i]) / amax);
      }
      expect(worst).toBeLessThanOrEqual(STEP[t.name] + 1e-6);
      if (t.name !== 'F32') expect(worst).toBeGreaterThan(0); // a real quantization happened
      // all-zero blocks stay zero
      expect(Array.from(dequantize(t, quantize(t, new Float32Array(256)), 256)).every((v) => v === 0)).toBe(true);
    });
  }
});
