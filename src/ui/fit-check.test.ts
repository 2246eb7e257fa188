// The picker's numbers: GPU memory per size, weight format and context, and the fit verdicts on adapters.
import { describe, expect, it } from 'vitest';
import { MODEL_SIZES, modelSize } from '../model/config-sizes';
import { estimateMemory, fitVerdict, FIT_THRESHOLDS, type AdapterFacts } from './memory-estimate';

const GIB = 1024 ** 3;
const discrete: AdapterFacts = { limits: { maxBufferSize: 4 * GIB, maxStorageBufferBindingSize: 2 * GIB - 4 }, adapter: { vendor: 'nvidia', isFallback: false } };
const weak: AdapterFacts = { limits: { maxBufferSize: 256 * 1024 * 1024, maxStorageBufferBindingSize: 128 * 1024 * 1024 }, adapter: { vendor: 'google', isFallback: true } };
const apple: AdapterFacts = { limits: { maxBufferSize: 4 * GIB, maxStorageBufferBindingSize: 4 * GIB }, adapter: { vendor: 'apple', isFallback: false } };

describe('GPU memory per size, format and context', () => {
  it('grows with the size and shrinks with the format', () => {
    for (const f of ['q4', 'q8', 'f16', 'f32'] as const) {
      const totals = MODEL_SIZES.map((m) => estimateMemory(m.config, f, 8192).total);
      expect([...totals].sort((a, b) => a - b)).toEqual(totals);
    }
    const sevenB = modelSize('7B').config;
    const q4 = estimateMemory(sevenB, 'q4', 8192);
    const f16 = estimateMemory(sevenB, 'f16', 8192);
    expect(f16.weights / q4.weights).toBeCloseTo(2 / 0.5625, 2); // q4: 18 bytes per 32 values; the biases and norms are f32 in both
    expect(q4.kvCache).toBe(f16.kvCache);
  });

  it('the KV cache follows layers x KV width x context: 7B 28 x 512, 32B 64 x 1024', () => {
    expect(estimateMemory(modelSize('7B').config, 'q4', 32768).kvCache).toBe(32768 * 28 * 2 * 512 * 2);
    expect(estimateMemory(modelSize('32B').config, 'q4', 32768).kvCache).toBe(32768 * 64 * 2 * 1024 * 2);
    expect(estimateMemory(modelSize('14B').config, 'q4', 8192, 4).kvCache).toBe(4 * 8192 * 48 * 2 * 1024 * 2);
  });

  it('7B as q4 at 8192 tokens: about 4.8 GB (4.3 GB of weights, 0.47 GB of KV)', () => {
    const m = estimateMemory(modelSize('7B').config, 'q4', 8192);
    expect(m.weights / 1e9).toBeCloseTo(4.28, 1);
    expect(m.kvCache / 1e9).toBeCloseTo(0.47, 2);
  });
});

describe('fit verdicts', () => {
  it('1.5B q4 probably fits a discrete GPU; 32B f16 probably does not (use a server)', () => {
    expect(fitVerdict(modelSize('1.5B').config, 'q4', 8192, 1, discrete).kind).toBe('likely');
    const v = fitVerdict(modelSize('32B').config, 'f16', 8192, 1, discrete);
    expect(v.kind).toBe('unlikely');
    expect(v.text).toMatch(/probably cannot hold it/);
    expect(v.text).toMatch(/server/);
  });

  it('in between it says which GPU it takes, and Apple unified memory stretches the range', () => {
    const v = fitVerdict(modelSize('14B').config, 'q4', 8192, 1, discrete);
    expect(v.kind).toBe('maybe');
    const total = estimateMemory(modelSize('14B').config, 'q4', 8192).total;
    expect(total).toBeGreaterThan(FIT_THRESHOLDS.likely);
    expect(v.text).toContain(`${(total / 1e9).toFixed(1)} GB`);
    expect(fitVerdict(modelSize('32B').config, 'f16', 8192, 1, apple).kind).toBe('maybe');
  });

  it('a buffer over the limits is a certain no: 14B KV per layer at 131072 tokens is 256 MiB > 128 MiB bindings', () => {
    const v = fitVerdict(modelSize('14B').config, 'q4', 131072, 1, weak);
    expect(v.kind).toBe('no');
    expect(v.text).toMatch(/shorter context/);
    // the same model at 32768 tokens passes the limits (64 MiB a layer) and is judged by its total
    expect(fitVerdict(modelSize('14B').config, 'q4', 32768, 1, weak).kind).not.toBe('no');
    // 7B at 131072: 131072 x 512 x 2 bytes = exactly 128 MiB, which fits
    expect(fitVerdict(modelSize('7B').config, 'q4', 131072, 1, { ...weak, limits: { maxBufferSize: 128 * 1024 * 1024, maxStorageBufferBindingSize: 128 * 1024 * 1024 } }).kind).not.toBe('no');
  });

  it('the q8 KV cache: about half the bytes a layer, so a context that breaks the limit in f16 can fit', () => {
    // 14B: 8 kv heads of 128; f16 2048 bytes a position and layer, q8 1024 codes + 8 f32 scales = 1056
    const f16 = fitVerdict(modelSize('14B').config, 'q4', 100000, 1, weak);
    expect(f16.kind).toBe('no');
    expect(f16.text).toContain(`${((100000 * 2048) / 1e9).toFixed(1)} GB`);
    expect(fitVerdict(modelSize('14B').config, 'q4', 100000, 1, weak, 'q8').kind).not.toBe('no'); // 105.6 MB < 128 MiB
    expect(fitVerdict(modelSize('14B').config, 'q4', 131072, 1, weak, 'q8').kind).toBe('no'); // 138.4 MB > 128 MiB
    const a = estimateMemory(modelSize('14B').config, 'q4', 32768, 4);
    const b = estimateMemory(modelSize('14B').config, 'q4', 32768, 4, 'q8');
    expect(b.kvCache).toBe(4 * 32768 * 48 * 2 * 1056);
    expect(b.kvCache / a.kvCache).toBeCloseTo(1056 / 2048, 10);
  });

  it('logits of many solutions over the binding are a no', () => {
    const tiny = { ...weak, limits: { maxBufferSize: 8 * 1024 * 1024, maxStorageBufferBindingSize: 8 * 1024 * 1024 } };
    // 16 x 152064 x 4 bytes = 9.7 MB > 8 MiB, while one layer's KV at 256 tokens is far below it
    expect(fitVerdict(modelSize('7B').config, 'q4', 256, 16, tiny).text).toMatch(/logits of 16 solutions/);
  });
});
