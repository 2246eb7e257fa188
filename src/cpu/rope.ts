// RoPE (rotate-half / neox) + KV-cache append, the oracle twin of shaders/rope-kv.wgsl and of the qkv matmul's
// RoPE epilogue (shaders/rope-epilogue.wgsl).
// Angles in float64: angle = pos * theta^(-2i/headDim), for i < headDim/2. The cache is a plain
// Float32Array per layer with the GPU layout [slot][pos][kvDim]; the 'f16' format stores values
// rounded through f16 (round to nearest even), as the GPU's pack2x16float does, after clamping to ±65504; the 'q8'
// format stores each (position, KV head) vector as int8 codes times one f32 scale (quantizeQ8), kept here as the
// dequantized values code * scale.
import type { KvFormat } from '../protocol/engine';
import { roundF16 } from '../loader/f16';

export { f32ToF16Bits, f16BitsToF32, roundF16 } from '../loader/f16';

export interface RopeShape {
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  ropeTheta: number;
  context: number;
}

/** A plain-array KV cache for one layer: k, v [slots][context][kvDim]. */
export interface CpuKvLayer {
  k: Float32Array;
  v: Float32Array;
}

export function cpuKvLayer(slots: number, context: number, kvDim: number): CpuKvLayer {
  return { k: new Float32Array(slots * context * kvDim), v: new Float32Array(slots * context * kvDim) };
}

/** Rounds to the nearest integer, ties to even (WGSL's round()). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * One head vector in the q8 KV format, in f32 as the GPU computes it: scale = amax / 127, code =
 * round(x / scale) (ties to even) within ±127, a zero vector scale 0. Returns the scale; codes are written to `codes`.
 */
export function quantizeQ8(x: ArrayLike<number>, codes: Int8Array | number[]): number {
  let amax = 0;
  for (let i = 0; i < x.length; i++) amax = Math.max(amax, Math.abs(Math.fround(x[i])));
  const scale = Math.fround(amax / 127);
  for (let i = 0; i < x.length; i++) codes[i] = scale > 0 ? Math.max(-127, Math.min(127, roundHalfEven(Math.fround(Math.fround(x[i]) / scale)))) : 0;
  return scale;
}

/** Writes head vector x (headDim values) into dst at off as the cache format stores it. */
function storeHead(format: KvFormat, x: ArrayLike<number>, dst: Float32Array, off: number): void {
  if (format === 'q8') {
    const codes = new Int8Array(x.length);
    const scale = quantizeQ8(x, codes);
    for (let d = 0; d < x.length; d++) dst[off + d] = Math.fround(codes[d] * scale);
    return;
  }
  // f16 entries are clamped to the largest finite f16 (±65504) before rounding, as the GPU kernel does
  for (let d = 0; d < x.length; d++) dst[off + d] = format === 'f16' ? roundF16(Math.min(65504, Math.max(-65504, x[d]))) : x[d];
}

/** Rotates one head vector in place (f64 math) at position pos. */
function rotate(x: Float64Array, pos: number, headDim: number, theta: number): void {
  const half = headDim / 2;
  for (let i = 0; i < half; i++) {
    const angle = pos * Math.pow(theta, (-2 * i) / headDim);
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    const a = x[i];
    const b = x[i + half];
    x[i] = a * c - b * s;
    x[i + half] = b * c + a * s;
  }
}

/**
 * qkv [rows, qDim + 2*kvDim] (q, k, v per row), meta [rows * 2] = (pos, slot) per row.
 * Returns qOut [rows, qDim] (rotated q) and writes rotated k and v into cache at (slot, pos).
 */
export function ropeAppendKv(
  s: RopeShape,
  format: KvFormat,
  qkv: Float32Array,
  meta: Uint32Array,
  rows: number,
  cache: CpuKvLayer,
): Float32Array {
  const { nHeads, nKvHeads, headDim, ropeTheta, context } = s;
  const qDim = nHeads * headDim;
  const kvDim = nKvHeads * headDim;
  const stride = qDim + 2 * kvDim;
  const qOut = new Float32Array(rows * qDim);
  const head = new Float64Array(headDim);
  for (let r = 0; r < rows; r++) {
    const pos = meta[2 * r];
    const slot = meta[2 * r + 1];
    if (pos >= context) throw new RangeError(`row ${r}: pos ${pos} >= context ${context}`);
    const base = r * stride;
    for (let h = 0; h < nHeads; h++) {
      for (let d = 0; d < headDim; d++) head[d] = qkv[base + h * headDim + d];
      rotate(head, pos, headDim, ropeTheta);
      for (let d = 0; d < headDim; d++) qOut[r * qDim + h * headDim + d] = head[d];
    }
    const cbase = (slot * context + pos) * kvDim;
    for (let h = 0; h < nKvHeads; h++) {
      for (let d = 0; d < headDim; d++) head[d] = qkv[base + qDim + h * headDim + d];
      rotate(head, pos, headDim, ropeTheta);
      storeHead(format, head, cache.k, cbase + h * headDim);
    }
    for (let h = 0; h < nKvHeads; h++) storeHead(format, qkv.subarray(base + qDim + kvDim + h * headDim, base + qDim + kvDim + (h + 1) * headDim), cache.v, cbase + h * headDim);
  }
  return qOut;
}
