import { describe, expect, it } from 'vitest';
import { DEFAULT_SIZE, MODEL_SIZES, checkpointValues, downloadBytesBf16, modelSize, shapeInfo, sizeOfRepo } from './config-sizes';
import { parseConfig } from './config';
import { syntheticConfigJson } from '../../scripts/synthetic-model';

describe('the model size table', () => {
  it('has the four sizes with the model card scores, 1.5B first and the default', () => {
    expect(MODEL_SIZES.map((m) => [m.id, m.aime25])).toEqual([
      ['1.5B', 45.6],
      ['7B', 61.1],
      ['14B', 71.6],
      ['32B', 73.1],
    ]);
    expect(DEFAULT_SIZE).toBe('1.5B');
    expect(modelSize('1.5B').repo).toBe('nvidia/OpenReasoning-Nemotron-1.5B');
  });

  it('counts the published parameter totals (Qwen2.5: 1.54B, 7.62B, 14.7B, 32.5B)', () => {
    const billions = MODEL_SIZES.map((m) => checkpointValues(m.config) / 1e9);
    expect(billions[0]).toBeCloseTo(1.54, 2);
    expect(billions[1]).toBeCloseTo(7.62, 2);
    expect(billions[2]).toBeCloseTo(14.77, 1);
    expect(billions[3]).toBeCloseTo(32.76, 1);
    expect(downloadBytesBf16(modelSize('7B').config)).toBe(2 * checkpointValues(modelSize('7B').config));
  });

  it('shapes: head_dim 128 everywhere, GQA groups 6, 7, 5, 5, untied heads beyond 1.5B', () => {
    for (const m of MODEL_SIZES) {
      expect(m.config.headDim).toBe(128);
      expect(m.config.nHeads % m.config.nKvHeads).toBe(0);
      expect(m.config.tiedEmbeddings).toBe(m.id === '1.5B');
    }
    expect(MODEL_SIZES.map((m) => m.config.nHeads / m.config.nKvHeads)).toEqual([6, 7, 5, 5]);
  });

  it('the 7b2 preset has the 7B layer shapes, as parseConfig reads its config.json', () => {
    const got = parseConfig(syntheticConfigJson('7b2', true));
    const want = modelSize('7B').config;
    expect(shapeInfo({ ...got, nLayers: want.nLayers })).toEqual(shapeInfo(want));
    expect(got.nLayers).toBe(2);
  });

  it('finds a size by repository, case-insensitive, and nothing for others', () => {
    expect(sizeOfRepo('NVIDIA/OpenReasoning-Nemotron-14B')?.id).toBe('14B');
    expect(sizeOfRepo('someone/other')).toBeNull();
  });
});
