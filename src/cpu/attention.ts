// Causal grouped-query attention over a KV cache, the oracle twin of shaders/attention.wgsl.
// Row r with meta (pos, slot) attends cache positions 0..pos (inclusive) of its slot; query head h
// uses kv head h / (nHeads / nKvHeads); scale 1/sqrt(headDim). f64 softmax and accumulation.
// The cache is the plain-array layout of src/cpu/rope.ts: k, v [slots][context][kvDim].
import type { CpuKvLayer } from './rope';

export interface AttentionShape {
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  context: number;
}

/** q [rows, qDim], meta [rows * 2] = (pos, slot) -> out [rows, qDim]. */
export function attention(s: AttentionShape, q: Float32Array, meta: Uint32Array, rows: number, cache: CpuKvLayer): Float32Array {
  const { nHeads, nKvHeads, headDim, context } = s;
  const qDim = nHeads * headDim;
  const kvDim = nKvHeads * headDim;
  const group = nHeads / nKvHeads;
  const scale = 1 / Math.sqrt(headDim);
  const out = new Float32Array(rows * qDim);
  for (let r = 0; r < rows; r++) {
    const pos = meta[2 * r];
    const slot = meta[2 * r + 1];
    if (pos >= context) throw new RangeError(`row ${r}: pos ${pos} >= context ${context}`);
    const scores = new Float64Array(pos + 1);
    for (let h = 0; h < nHeads; h++) {
      const kvOff = Math.floor(h / group) * headDim;
      const qOff = r * qDim + h * headDim;
      let max = -Infinity;
      for (let t = 0; t <= pos; t++) {
        const kOff = (slot * context + t) * kvDim + kvOff;
        let dot = 0;
        for (let d = 0; d < headDim; d++) dot += q[qOff + d] * cache.k[kOff + d];
        scores[t] = dot * scale;
        if (scores[t] > max) max = scores[t];
      }
      let sum = 0;
      for (let t = 0; t <= pos; t++) {
        scores[t] = Math.exp(scores[t] - max);
        sum += scores[t];
      }
      for (let d = 0; d < headDim; d++) {
        let acc = 0;
        for (let t = 0; t <= pos; t++) acc += scores[t] * cache.v[(slot * context + t) * kvDim + kvOff + d];
        out[qOff + d] = acc / sum;
      }
    }
  }
  return out;
}
