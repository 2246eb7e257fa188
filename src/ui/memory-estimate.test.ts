import { describe, expect, it } from 'vitest';
import { DEFAULT_SHAPE, estimateMemory, parameterCount } from './memory-estimate';

describe('estimateMemory', () => {
  it('counts the 1.5B model at its published size', () => {
    // ~1.54B parameters in total; the matrices are all but the norms and biases
    expect(parameterCount(DEFAULT_SHAPE) / 1e9).toBeCloseTo(1.54, 2);
  });

  it('follows the shapes: an untied 7B needs more than the 1.5B, and the context adds the KV cache', () => {
    const sevenB = { dim: 3584, ffnDim: 18944, nLayers: 28, nHeads: 28, headDim: 128, kvDim: 512, vocab: 152064, tiedEmbeddings: false };
    expect(parameterCount(sevenB) / 1e9).toBeCloseTo(7.6, 1);
    const small = estimateMemory(DEFAULT_SHAPE, 'q4', 4096);
    const big = estimateMemory(sevenB, 'q4', 4096);
    expect(big.weights / small.weights).toBeGreaterThan(4);
    expect(estimateMemory(DEFAULT_SHAPE, 'q4', 8192).kvCache).toBe(2 * small.kvCache);
    expect(small.kvCache).toBe(4096 * 28 * 2 * 256 * 2);
    expect(estimateMemory(DEFAULT_SHAPE, 'f16', 4096).weights).toBe(parameterCount(DEFAULT_SHAPE) * 2);
  });
});
