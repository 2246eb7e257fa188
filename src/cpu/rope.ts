// RoPE (rotate-half / neox) + KV-cache append, the oracle twin of shaders/rope-kv.wgsl and of the qkv matmul's
// RoPE epilogue (shaders/rope-epilogue.wgsl).
// Angles in float64: angle = pos * theta^(-2i/headDim), for i < headDim/2. The cache is a plain
// Float32Array per layer with the GPU layout [slot][pos][kvDim]; the 'f16' format stores values
// rounded through f16 (round to nearest even), as the GPU's pack2x16float does, after clamping to ±65504.
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
  // f16 entries are clamped to the largest finite f16 (±65504) before rounding, as the GPU kernel does
  const store = format === 'f16' ? (x: number) => roundF16(Math.min(65504, Math.max(-65504, x))) : (x: number) => x;
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
      for (let d = 0; d < headDim; d++) cache.k[cbase + h * headDim + d] = store(head[d]);
    }
    for (let c = 0; c < kvDim; c++) cache.v[cbase + c] = store(qkv[base + qDim + kvDim + c]);
  }
  return qOut;
}
