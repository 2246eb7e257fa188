import { describe, expect, it } from 'vitest';
import { DEFAULT_SHAPE, estimateMemory, memoryEstimateFor, parameterCount } from './memory-estimate';
import { MODEL_SIZES, modelSize } from '../model/config-sizes';
import { DEFAULT_PREFILL_CHUNK, planMemory } from '../model/memory-plan';

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
    // f16: 2 bytes a matrix value; the qkv biases and the final norm stay f32
    expect(estimateMemory(DEFAULT_SHAPE, 'f16', 4096).weights).toBe(parameterCount(DEFAULT_SHAPE) * 2 + (28 * (1536 + 2 * 256) + 1536) * 4);
  });

  it("is the engine's memory plan for the shapes (f16 KV, the default prefill chunk), activations included", () => {
    for (const m of MODEL_SIZES) {
      for (const f of ['q4', 'q8', 'f16', 'f32'] as const) {
        const e = estimateMemory(m.config, f, 8192, 3);
        expect(e).toEqual(planMemory(m.config, { weights: f, kv: 'f16', context: 8192, slots: 3, chunk: DEFAULT_PREFILL_CHUNK }));
        expect(e.total).toBe(e.weights + e.kvCache + e.activations);
        expect(e.activations).toBeGreaterThan(0);
      }
    }
  });
});

describe('estimateMemory with the q8 KV cache', () => {
  it("is the engine's plan with q8 KV: a byte a value and an f32 scale per (position, kv head), and the qkv buffer RoPE then needs", () => {
    for (const m of MODEL_SIZES) {
      const e = estimateMemory(m.config, 'q4', 8192, 3, 'q8');
      expect(e).toEqual(planMemory(m.config, { weights: 'q4', kv: 'q8', context: 8192, slots: 3, chunk: DEFAULT_PREFILL_CHUNK }));
      const heads = m.config.kvDim / m.config.headDim;
      expect(e.kvCache).toBe(3 * 8192 * m.config.nLayers * 2 * (m.config.kvDim + 4 * heads));
    }
    const f16 = estimateMemory(DEFAULT_SHAPE, 'q4', 32768);
    const q8 = estimateMemory(DEFAULT_SHAPE, 'q4', 32768, 1, 'q8');
    expect(f16.kvCache).toBe(32768 * 28 * 2 * 512); // 0.94 GB
    expect(q8.kvCache).toBe(32768 * 28 * 2 * 264); // 0.48 GB
    expect(q8.weights).toBe(f16.weights);
    // q8 KV is written by the rope-kv pass, so the qkv rows get a buffer of their own: 128 rows x (1536 + 512) f32
    expect(q8.activations - f16.activations).toBe(DEFAULT_PREFILL_CHUNK * (1536 + 2 * 256) * 4);
  });
});

describe('memoryEstimateFor', () => {
  const s = { weights: 'q4', context: 4096, samples: 1, file: '' } as const;

  it('names what the figure is for: the repository, or the 1.5B size it assumes', () => {
    expect(memoryEstimateFor(null, null, s, null).subject).toBe('a model of the 1.5B size');
    const seven = memoryEstimateFor(modelSize('7B').config, 'nvidia/OpenReasoning-Nemotron-7B', s, null);
    expect(seven.subject).toBe('OpenReasoning-Nemotron-7B');
    expect(seven.total).toBe(estimateMemory(modelSize('7B').config, 'q4', 4096).total);
    // the chosen KV format counts; none given is f16
    expect(memoryEstimateFor(null, null, { ...s, kv: 'q8' }, null).kvCache).toBe(estimateMemory(DEFAULT_SHAPE, 'q4', 4096, 1, 'q8').kvCache);
    expect(memoryEstimateFor(null, null, { ...s, kv: 'f16' }, null)).toEqual(memoryEstimateFor(null, null, s, null));
  });

  it("counts a listed .gguf file's size as its weights, whatever the weight format, and names the file", () => {
    const file = { ...s, file: 'Q6_K/m-Q6_K.gguf' };
    const bytes = 1_464_000_000;
    const q4 = memoryEstimateFor(null, null, file, bytes);
    const f32 = memoryEstimateFor(null, null, { ...file, weights: 'f32' }, bytes);
    expect(q4.weights).toBe(bytes);
    expect(f32).toEqual(q4);
    expect(q4.subject).toBe('m-Q6_K.gguf');
    const plain = estimateMemory(DEFAULT_SHAPE, 'q4', 4096);
    expect(q4.kvCache).toBe(plain.kvCache);
    expect(q4.total - q4.weights).toBe(plain.total - plain.weights);
    // not listed yet: the weight format's estimate, and it says so
    expect(memoryEstimateFor(null, null, file, null)).toMatchObject({ weights: plain.weights, subject: expect.stringMatching(/not listed/) });
  });
});
