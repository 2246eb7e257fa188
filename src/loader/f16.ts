// IEEE binary16 conversions, the one place they live: checkpoints (F16 tensors), f16 weights, the f16 KV
// cache's CPU twin. Round to nearest even; overflow -> inf; tiny values -> subnormals or zero; NaN stays NaN.

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

/** f32 value -> f16 bits. */
export function f32ToF16Bits(v: number): number {
  f32Scratch[0] = v;
  return f32BitsToF16(u32Scratch[0]);
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** f16 bits -> f32 value. */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** x rounded through f16 and back (what an f16 store keeps). */
export function roundF16(x: number): number {
  return f16BitsToF32(f32ToF16Bits(x));
}

let f16Table: Float32Array | null = null;

/** f16 bits array -> f32 values (table lookup). */
export function f16ToF32Array(src: Uint16Array, dst = new Float32Array(src.length)): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32(h);
  }
  const t = f16Table;
  for (let i = 0; i < src.length; i++) dst[i] = t[src[i]];
  return dst;
}

/** f32 values -> f16 bits array. */
export function f32ToF16Array(src: Float32Array, dst = new Uint16Array(src.length)): Uint16Array {
  for (let i = 0; i < src.length; i++) dst[i] = f32ToF16Bits(src[i]);
  return dst;
}
