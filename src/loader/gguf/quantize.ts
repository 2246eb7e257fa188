// Encoders for the GGML block types of blocks.ts (the layouts are described there), for Boxed's own GGUF
// writer: test files and `make-model --gguf`. Each block's scales are chosen from its values (absmax or
// min/max per block or sub-block) and stored as f16; values are then rounded against the f16-rounded scales,
// so decoding gives each value within half a quantization step of its original (a full step for a
// value clamped at the edge of the range).
import { BoxedError } from '../../protocol/errors';
import { encodeFromF32 } from '../dtype';
import { f16BitsToF32, f32ToF16Bits } from '../f16';
import { typeBytes, type GgmlType } from './blocks';

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/** f16-rounds a scale and stores it at b[o]; returns the rounded value. */
function putF16(b: Uint8Array, o: number, v: number): number {
  const bits = f32ToF16Bits(v);
  b[o] = bits & 0xff;
  b[o + 1] = bits >> 8;
  return f16BitsToF32(bits);
}

/** The value of largest magnitude, with its sign. */
function signedMax(x: Float32Array, o: number, n: number): number {
  let m = 0;
  for (let i = 0; i < n; i++) if (Math.abs(x[o + i]) > Math.abs(m)) m = x[o + i];
  return m;
}

function range(x: Float32Array, o: number, n: number): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < n; i++) {
    lo = Math.min(lo, x[o + i]);
    hi = Math.max(hi, x[o + i]);
  }
  return [lo, hi];
}

/** Q4_0/Q5_0 (bits 4/5, symmetric) and Q4_1/Q5_1 (with a min). */
function legacyBlock(x: Float32Array, o: number, b: Uint8Array, p: number, bits: 4 | 5, withMin: boolean): void {
  const top = (1 << bits) - 1;
  let d: number, m = 0, off: number;
  if (withMin) {
    const [lo, hi] = range(x, o, 32);
    d = putF16(b, p, (hi - lo) / top);
    m = putF16(b, p + 2, lo);
    off = 0;
  } else {
    off = 1 << (bits - 1);
    d = putF16(b, p, signedMax(x, o, 32) / -off);
  }
  const id = d === 0 ? 0 : 1 / d;
  const qs = p + (withMin ? 4 : 2) + (bits === 5 ? 4 : 0);
  let qh = 0;
  for (let j = 0; j < 16; j++) {
    const lo = clamp(Math.round((x[o + j] - m) * id) + off, 0, top);
    const hi = clamp(Math.round((x[o + j + 16] - m) * id) + off, 0, top);
    b[qs + j] = (lo & 0xf) | ((hi & 0xf) << 4);
    qh |= ((lo >> 4) << j) | ((hi >> 4) << (j + 16));
  }
  if (bits === 5) {
    const at = p + (withMin ? 4 : 2);
    for (let k = 0; k < 4; k++) b[at + k] = (qh >>> (8 * k)) & 0xff;
  }
}

/** Q4_K / Q5_K: 8 sub-blocks of 32 with 6-bit scales and mins under the block's f16 d and dmin. */
function kBlock(x: Float32Array, o: number, b: Uint8Array, p: number, bits: 4 | 5): void {
  const top = (1 << bits) - 1;
  const sc = new Float32Array(8);
  const mn = new Float32Array(8);
  for (let s = 0; s < 8; s++) {
    const [lo, hi] = range(x, o + 32 * s, 32);
    mn[s] = Math.max(0, -lo);
    sc[s] = (hi + mn[s]) / top;
  }
  const d = putF16(b, p, Math.max(...sc) / 63);
  const dmin = putF16(b, p + 2, Math.max(...mn) / 63);
  const sc6 = Array.from(sc, (v) => (d === 0 ? 0 : clamp(Math.round(v / d), 0, 63)));
  const mn6 = Array.from(mn, (v) => (dmin === 0 ? 0 : clamp(Math.round(v / dmin), 0, 63)));
  const scales = p + 4;
  for (let j = 0; j < 4; j++) {
    b[scales + j] = (sc6[j] & 63) | ((sc6[j + 4] >> 4) << 6);
    b[scales + j + 4] = (mn6[j] & 63) | ((mn6[j + 4] >> 4) << 6);
    b[scales + j + 8] = (sc6[j + 4] & 0xf) | ((mn6[j + 4] & 0xf) << 4);
  }
  const qh = p + 16;
  const qs = p + (bits === 5 ? 48 : 16);
  for (let s = 0; s < 8; s++) {
    const step = d * sc6[s];
    const id = step === 0 ? 0 : 1 / step;
    const min = dmin * mn6[s];
    for (let l = 0; l < 32; l++) {
      const q = clamp(Math.round((x[o + 32 * s + l] + min) * id), 0, top);
      const at = qs + 32 * (s >> 1) + l;
      b[at] |= (q & 0xf) << (s & 1 ? 4 : 0);
      if (bits === 5) b[qh + l] |= (q >> 4) << s;
    }
  }
}

/** Q6_K: 16 sub-blocks of 16 with int8 scales under the block's f16 d. */
function q6kBlock(x: Float32Array, o: number, b: Uint8Array, p: number): void {
  const r = new Float32Array(16);
  for (let k = 0; k < 16; k++) r[k] = signedMax(x, o + 16 * k, 16) / -32;
  const d = putF16(b, p + 208, signedMax(r, 0, 16) / -127);
  for (let k = 0; k < 16; k++) {
    const sc = d === 0 ? 0 : clamp(Math.round(r[k] / d), -128, 127);
    b[p + 192 + (k >> 3) * 8 + (k & 7)] = sc & 0xff;
    const step = d * sc;
    const id = step === 0 ? 0 : 1 / step;
    for (let i = 0; i < 16; i++) {
      const v = 16 * k + i; // value index in the 256
      const q = clamp(Math.round(x[o + v] * id), -32, 31) + 32;
      const half = v >> 7, w = v & 127, quarter = w >> 5, l = w & 31;
      const ql = p + 64 * half + l + (quarter & 1 ? 32 : 0);
      b[ql] |= (q & 0xf) << (quarter >= 2 ? 4 : 0);
      b[p + 128 + 32 * half + l] |= (q >> 4) << (2 * quarter);
    }
  }
}

/** Encodes values (whole blocks) as type t. */
export function quantize(t: GgmlType, x: Float32Array): Uint8Array {
  const out = new Uint8Array(typeBytes(t, x.length));
  if (t.name === 'F32' || t.name === 'F16' || t.name === 'BF16') {
    out.set(encodeFromF32(x, t.name));
    return out;
  }
  for (let k = 0; k < x.length / t.block; k++) {
    const o = k * t.block, p = k * t.bytes;
    switch (t.name) {
      case 'Q8_0': {
        const d = putF16(out, p, Math.max(...Array.from(x.subarray(o, o + 32), Math.abs)) / 127);
        const id = d === 0 ? 0 : 1 / d;
        for (let j = 0; j < 32; j++) out[p + 2 + j] = clamp(Math.round(x[o + j] * id), -127, 127) & 0xff;
        break;
      }
      case 'Q4_0':
        legacyBlock(x, o, out, p, 4, false);
        break;
      case 'Q4_1':
        legacyBlock(x, o, out, p, 4, true);
        break;
      case 'Q5_0':
        legacyBlock(x, o, out, p, 5, false);
        break;
      case 'Q5_1':
        legacyBlock(x, o, out, p, 5, true);
        break;
      case 'Q4_K':
        kBlock(x, o, out, p, 4);
        break;
      case 'Q5_K':
        kBlock(x, o, out, p, 5);
        break;
      case 'Q6_K':
        q6kBlock(x, o, out, p);
        break;
      default:
        throw new BoxedError('Internal', `no encoder for ${t.name}`);
    }
  }
  return out;
}
