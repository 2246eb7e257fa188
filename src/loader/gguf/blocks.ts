// GGML tensor types as GGUF stores them, and their exact f32 decoding (the CPU twin of any kernel that reads
// the blocks). Values are in blocks; every block starts with its own scales, little-endian:
//   F32, F16, BF16  one value per 4 / 2 / 2 bytes (BF16: the top half of an f32)
//   Q8_0  32 values, 34 B: d f16, q[32] int8                                   x = d*q
//   Q4_0  32 values, 18 B: d f16, qs[16]; value j<16 is qs[j] & 15, j>=16 is qs[j-16] >> 4      x = d*(q-8)
//   Q4_1  32 values, 20 B: d f16, m f16, qs[16] (as Q4_0)                      x = d*q + m
//   Q5_0  32 values, 22 B: d f16, qh u32, qs[16]; bit 4 of value j is bit j of qh          x = d*(q-16)
//   Q5_1  32 values, 24 B: d f16, m f16, qh u32, qs[16] (as Q5_0)              x = d*q + m
//   Q4_K  256 values, 144 B: d f16, dmin f16, scales[12], qs[128]. 8 sub-blocks of 32, each a 6-bit scale sc
//         and 6-bit min mn (packing: see scaleMinK4); x = d*sc*q - dmin*mn. Sub-blocks 2i and 2i+1 share the
//         32 bytes qs[32i..32i+32): low nibbles are sub-block 2i, high nibbles 2i+1.
//   Q5_K  256 values, 176 B: d, dmin f16, scales[12], qh[32], qs[128]: Q4_K plus a 5th bit: bit s of qh[l] is
//         the high bit of value l of sub-block s.
//   Q6_K  256 values, 210 B: ql[128], qh[64], scales[16] int8, d f16. 16 sub-blocks of 16, x = d*sc*(q-32),
//         q = 4 low bits from ql and 2 high bits from qh (layout in decodeQ6K).
// Types Boxed does not read (Q2_K, Q3_K, IQ*, TQ*, ...) are named so an error can say which one a file uses.
import { BoxedError } from '../../protocol/errors';
import { decodeToF32 } from '../dtype';
import { f16BitsToF32 } from '../f16';

export type GgmlTypeName = 'F32' | 'F16' | 'BF16' | 'Q4_0' | 'Q4_1' | 'Q5_0' | 'Q5_1' | 'Q8_0' | 'Q4_K' | 'Q5_K' | 'Q6_K';

export interface GgmlType {
  id: number;
  name: GgmlTypeName;
  /** values per block */
  block: number;
  /** bytes per block */
  bytes: number;
}

const T = (id: number, name: GgmlTypeName, block: number, bytes: number): GgmlType => ({ id, name, block, bytes });

/** The types Boxed reads, by GGML type id. */
export const GGML_TYPES: ReadonlyMap<number, GgmlType> = new Map(
  [
    T(0, 'F32', 1, 4),
    T(1, 'F16', 1, 2),
    T(2, 'Q4_0', 32, 18),
    T(3, 'Q4_1', 32, 20),
    T(6, 'Q5_0', 32, 22),
    T(7, 'Q5_1', 32, 24),
    T(8, 'Q8_0', 32, 34),
    T(12, 'Q4_K', 256, 144),
    T(13, 'Q5_K', 256, 176),
    T(14, 'Q6_K', 256, 210),
    T(30, 'BF16', 1, 2),
  ].map((t) => [t.id, t]),
);

/** GGML type ids Boxed knows by name but does not read. */
const OTHER_TYPES: Record<number, string> = {
  4: 'Q4_2',
  5: 'Q4_3',
  9: 'Q8_1',
  10: 'Q2_K',
  11: 'Q3_K',
  15: 'Q8_K',
  16: 'IQ2_XXS',
  17: 'IQ2_XS',
  18: 'IQ3_XXS',
  19: 'IQ1_S',
  20: 'IQ4_NL',
  21: 'IQ3_S',
  22: 'IQ2_S',
  23: 'IQ4_XS',
  24: 'I8',
  25: 'I16',
  26: 'I32',
  27: 'I64',
  28: 'F64',
  29: 'IQ1_M',
  31: 'Q4_0_4_4',
  32: 'Q4_0_4_8',
  33: 'Q4_0_8_8',
  34: 'TQ1_0',
  35: 'TQ2_0',
  36: 'IQ4_NL_4_4',
  37: 'IQ4_NL_4_8',
  38: 'IQ4_NL_8_8',
  39: 'MXFP4',
};

export function ggmlTypeByName(name: GgmlTypeName): GgmlType {
  for (const t of GGML_TYPES.values()) if (t.name === name) return t;
  throw new BoxedError('Internal', `no GGML type ${name}`);
}

/** The type of an id, or a ModelFormat error naming the unsupported type. */
export function ggmlType(id: number, tensor: string, file: string): GgmlType {
  const t = GGML_TYPES.get(id);
  if (t) return t;
  const known = OTHER_TYPES[id];
  const supported = [...GGML_TYPES.values()].map((x) => x.name).join(', ');
  throw new BoxedError('ModelFormat', `tensor ${tensor} has type ${known ?? `unknown (id ${id})`}, which Boxed does not read (it reads ${supported})`, { file });
}

/** Bytes of `n` values of a type; n must be whole blocks (GGUF rows always are). */
export function typeBytes(t: GgmlType, n: number): number {
  if (n % t.block !== 0) throw new BoxedError('ModelFormat', `${n} values is not a whole number of ${t.name} blocks of ${t.block}`);
  return (n / t.block) * t.bytes;
}

const h = (b: Uint8Array, o: number): number => f16BitsToF32(b[o] | (b[o + 1] << 8));

/** Scale and min of sub-block j (0..7) of a K-quant's 12 scale bytes at q[o..o+12). */
export function scaleMinK4(j: number, q: Uint8Array, o: number): [number, number] {
  if (j < 4) return [q[o + j] & 63, q[o + j + 4] & 63];
  return [(q[o + j + 4] & 0xf) | ((q[o + j - 4] >> 6) << 4), (q[o + j + 4] >> 4) | ((q[o + j] >> 6) << 4)];
}

function decodeQ4K(b: Uint8Array, o: number, y: Float32Array, p: number, withHigh: boolean): void {
  const d = h(b, o);
  const dmin = h(b, o + 2);
  const sc = o + 4;
  const qh = o + 16;
  let qs = withHigh ? o + 48 : o + 16;
  for (let s = 0; s < 8; s += 2) {
    const [s1, m1] = scaleMinK4(s, b, sc);
    const [s2, m2] = scaleMinK4(s + 1, b, sc);
    const d1 = d * s1, dm1 = dmin * m1, d2 = d * s2, dm2 = dmin * m2;
    for (let l = 0; l < 32; l++) {
      const lo = (b[qs + l] & 0xf) + (withHigh ? ((b[qh + l] >> s) & 1) << 4 : 0);
      const hi = (b[qs + l] >> 4) + (withHigh ? ((b[qh + l] >> (s + 1)) & 1) << 4 : 0);
      y[p + l] = d1 * lo - dm1;
      y[p + 32 + l] = d2 * hi - dm2;
    }
    qs += 32;
    p += 64;
  }
}

function decodeQ6K(b: Uint8Array, o: number, y: Float32Array, p: number): void {
  const d = h(b, o + 208);
  for (let half = 0; half < 2; half++) {
    const ql = o + 64 * half;
    const qh = o + 128 + 32 * half;
    const sc = o + 192 + 8 * half;
    const q = p + 128 * half;
    for (let l = 0; l < 32; l++) {
      const is = l >> 4;
      const hb = b[qh + l];
      const q1 = ((b[ql + l] & 0xf) | ((hb & 3) << 4)) - 32;
      const q2 = ((b[ql + l + 32] & 0xf) | (((hb >> 2) & 3) << 4)) - 32;
      const q3 = ((b[ql + l] >> 4) | (((hb >> 4) & 3) << 4)) - 32;
      const q4 = ((b[ql + l + 32] >> 4) | (((hb >> 6) & 3) << 4)) - 32;
      const s = (k: number) => (b[sc + is + k] << 24) >> 24; // int8
      y[q + l] = d * s(0) * q1;
      y[q + l + 32] = d * s(2) * q2;
      y[q + l + 64] = d * s(4) * q3;
      y[q + l + 96] = d * s(6) * q4;
    }
  }
}

/** Decodes n values (whole blocks) of type t from bytes into out[at..at+n). */
export function dequantize(t: GgmlType, bytes: Uint8Array, n: number, out = new Float32Array(n), at = 0): Float32Array {
  const need = typeBytes(t, n);
  if (bytes.length < need) throw new BoxedError('ModelFormat', `${t.name}: ${bytes.length} bytes for ${n} values, need ${need}`);
  if (t.name === 'F32' || t.name === 'F16' || t.name === 'BF16') {
    out.set(decodeToF32(bytes.subarray(0, need), t.name), at);
    return out;
  }
  const b = bytes;
  const blocks = n / t.block;
  for (let k = 0; k < blocks; k++) {
    const o = k * t.bytes;
    const p = at + k * t.block;
    switch (t.name) {
      case 'Q8_0': {
        const d = h(b, o);
        for (let j = 0; j < 32; j++) out[p + j] = d * ((b[o + 2 + j] << 24) >> 24);
        break;
      }
      case 'Q4_0':
      case 'Q4_1': {
        const d = h(b, o);
        const m = t.name === 'Q4_1' ? h(b, o + 2) : 0;
        const qs = o + (t.name === 'Q4_1' ? 4 : 2);
        const off = t.name === 'Q4_1' ? 0 : 8;
        for (let j = 0; j < 16; j++) {
          out[p + j] = d * ((b[qs + j] & 0xf) - off) + m;
          out[p + j + 16] = d * ((b[qs + j] >> 4) - off) + m;
        }
        break;
      }
      case 'Q5_0':
      case 'Q5_1': {
        const one = t.name === 'Q5_1';
        const d = h(b, o);
        const m = one ? h(b, o + 2) : 0;
        const qhAt = o + (one ? 4 : 2);
        const qh = (b[qhAt] | (b[qhAt + 1] << 8) | (b[qhAt + 2] << 16) | (b[qhAt + 3] << 24)) >>> 0;
        const qs = qhAt + 4;
        const off = one ? 0 : 16;
        for (let j = 0; j < 16; j++) {
          const lo = (b[qs + j] & 0xf) | (((qh >>> j) & 1) << 4);
          const hi = (b[qs + j] >> 4) | (((qh >>> (j + 16)) & 1) << 4);
          out[p + j] = d * (lo - off) + m;
          out[p + j + 16] = d * (hi - off) + m;
        }
        break;
      }
      case 'Q4_K':
        decodeQ4K(b, o, out, p, false);
        break;
      case 'Q5_K':
        decodeQ4K(b, o, out, p, true);
        break;
      case 'Q6_K':
        decodeQ6K(b, o, out, p);
        break;
      default:
        throw new BoxedError('Internal', `no decoder for ${t.name}`);
    }
  }
  return out;
}
