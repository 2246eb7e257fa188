// Conversion between the stored weight dtypes of safetensors (BF16, F16, F32; little-endian) and f32.
// BF16 is the top 16 bits of an f32, so its decode is a shift. F16 decodes through a 65536-entry table.
// Encoders round to nearest, ties to even (as torch does), and keep NaN a NaN.

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
    const src = new Uint16Array(aligned.buffer, aligned.byteOffset, n);
    const table = f16Table();
    for (let i = 0; i < n; i++) out[i] = table[src[i]];
  }
  return out;
}

function decodeSlow(bytes: Uint8Array, dtype: Dtype, n: number): Float32Array<ArrayBuffer> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (dtype === 'F32') out[i] = view.getFloat32(4 * i, true);
    else if (dtype === 'BF16') out[i] = bitsToF32(view.getUint16(2 * i, true) << 16);
    else out[i] = f16ToF32(view.getUint16(2 * i, true));
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

/** f32 bit pattern -> f16 bits, round to nearest even; overflow -> inf; tiny values -> subnormal or zero. */
export function f32BitsToF16(u: number): number {
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf or NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal
    const m = mant | 0x800000; // implicit 1
    const shift = 14 - e; // 14..24
    const half = 1 << (shift - 1);
    let r = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    if (rest > half || (rest === half && (r & 1))) r++;
    return sign | r; // r may carry into the smallest normal: still the right bits
  }
  let r = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1))) r++; // may carry into the exponent, up to inf: correct
  return sign | r;
}

/** f16 bits -> f32 value. */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

const scratch = new DataView(new ArrayBuffer(4));
function bitsToF32(bits: number): number {
  scratch.setUint32(0, bits >>> 0);
  return scratch.getFloat32(0);
}

let table: Float32Array | undefined;
function f16Table(): Float32Array {
  if (!table) {
    table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = f16ToF32(h);
  }
  return table;
}
