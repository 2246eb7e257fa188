// Conversion between the stored weight dtypes of safetensors (BF16, F16, F32; little-endian) and f32.
// BF16 is the top 16 bits of an f32, so its decode is a shift. F16 decodes through a 65536-entry table.
// Encoders round to nearest, ties to even (as torch does), and keep NaN a NaN.

import { f16BitsToF32, f16ToF32Array, f32BitsToF16 } from './f16';

export { f32BitsToF16, f16BitsToF32 as f16ToF32 };

export type Dtype = 'BF16' | 'F16' | 'F32';

export const DTYPE_BYTES: Record<Dtype, number> = { BF16: 2, F16: 2, F32: 4 };

export function isDtype(x: unknown): x is Dtype {
  return x === 'BF16' || x === 'F16' || x === 'F32';
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** bytes (little-endian, any alignment) of `dtype` -> f32 values. bytes.length must be a multiple of the dtype size. */
export function decodeToF32(bytes: Uint8Array, dtype: Dtype): Float32Array<ArrayBuffer> {
  const size = DTYPE_BYTES[dtype];
  if (bytes.length % size !== 0) throw new RangeError(`${bytes.length} bytes is not a whole number of ${dtype} values`);
  const n = bytes.length / size;
  if (!LITTLE_ENDIAN) return decodeSlow(bytes, dtype, n);
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const out = new Float32Array(n);
  if (dtype === 'F32') {
    out.set(new Float32Array(aligned.buffer, aligned.byteOffset, n));
  } else if (dtype === 'BF16') {
    const src = new Uint16Array(aligned.buffer, aligned.byteOffset, n);
    const dst = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) dst[i] = src[i] << 16;
  } else {
    f16ToF32Array(new Uint16Array(aligned.buffer, aligned.byteOffset, n), out);
  }
  return out;
}

function decodeSlow(bytes: Uint8Array, dtype: Dtype, n: number): Float32Array<ArrayBuffer> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (dtype === 'F32') out[i] = view.getFloat32(4 * i, true);
    else if (dtype === 'BF16') out[i] = bitsToF32(view.getUint16(2 * i, true) << 16);
    else out[i] = f16BitsToF32(view.getUint16(2 * i, true));
  }
  return out;
}

/** f32 values -> little-endian bytes of `dtype`. */
export function encodeFromF32(values: Float32Array, dtype: Dtype): Uint8Array {
  const out = new Uint8Array(values.length * DTYPE_BYTES[dtype]);
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  if (LITTLE_ENDIAN) {
    if (dtype === 'F32') {
      out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
      return out;
    }
    const dst = new Uint16Array(out.buffer);
    const f = dtype === 'BF16' ? f32BitsToBf16 : f32BitsToF16;
    for (let i = 0; i < values.length; i++) dst[i] = f(bits[i]);
    return out;
  }
  const view = new DataView(out.buffer);
  if (dtype === 'F32') {
    for (let i = 0; i < values.length; i++) view.setUint32(4 * i, bits[i], true);
  } else if (dtype === 'BF16') {
    for (let i = 0; i < values.length; i++) view.setUint16(2 * i, f32BitsToBf16(bits[i]), true);
  } else {
    for (let i = 0; i < values.length; i++) view.setUint16(2 * i, f32BitsToF16(bits[i]), true);
  }
  return out;
}

/** f32 bit pattern -> bf16 bits, round to nearest even. */
export function f32BitsToBf16(u: number): number {
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x0040) & 0xffff; // NaN stays NaN (quiet)
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

const scratch = new DataView(new ArrayBuffer(4));
function bitsToF32(bits: number): number {
  scratch.setUint32(0, bits >>> 0);
  return scratch.getFloat32(0);
}
