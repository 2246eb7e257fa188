// What the GPU stores, as plain f32 weights for the CPU oracle: the same fused layout (src/model/fused.ts)
// packed to a weight format and dequantized, then unfolded back into Qwen2's fields. The oracle run on these
// computes what the GPU computes, so each weight format is checked within a tight tolerance.
import type { ModelConfig } from '../model/config';
import type { ModelWeights } from '../model/weights';
import { concatRows, foldColumns, interleaveRows } from '../model/fused';
import { dequantize, packWeight } from '../loader/quant';
import type { WeightFormat } from '../protocol/engine';

/** The f32 weights the GPU effectively computes with for a format (same folding and packing as GpuModel). */
export function storedWeights(cfg: ModelConfig, w: ModelWeights<Float32Array>, f: WeightFormat): ModelWeights<Float32Array> {
  const rt = (m: Float32Array, rows: number, cols: number) => dequantize(packWeight(m, rows, cols, f));
  const unfold = (m: Float32Array, g: Float32Array, cols: number) => m.map((v, i) => v / g[i % cols]);
  const qDim = cfg.nHeads * cfg.headDim;
  const { dim, kvDim, ffnDim } = cfg;
  return {
    embed: rt(w.embed, cfg.vocab, dim),
    norm: w.norm,
    lmHead: w.lmHead ? rt(w.lmHead, cfg.vocab, dim) : null,
    layers: w.layers.map((L) => {
      const qkv = unfold(rt(foldColumns(concatRows([L.wq, L.wk, L.wv]), L.attnNorm, dim), qDim + 2 * kvDim, dim), L.attnNorm, dim);
      const gu = unfold(rt(foldColumns(interleaveRows(L.wGate, L.wUp, ffnDim, dim), L.mlpNorm, dim), 2 * ffnDim, dim), L.mlpNorm, dim);
      const gate = new Float32Array(ffnDim * dim);
      const up = new Float32Array(ffnDim * dim);
      for (let j = 0; j < ffnDim; j++) {
        gate.set(gu.subarray(2 * j * dim, (2 * j + 1) * dim), j * dim);
        up.set(gu.subarray((2 * j + 1) * dim, (2 * j + 2) * dim), j * dim);
      }
      return {
        ...L,
        wq: qkv.slice(0, qDim * dim),
        wk: qkv.slice(qDim * dim, (qDim + kvDim) * dim),
        wv: qkv.slice((qDim + kvDim) * dim),
        wo: rt(L.wo, dim, qDim),
        wGate: gate,
        wUp: up,
        wDown: rt(L.wDown, dim, ffnDim),
      };
    }),
  };
}
