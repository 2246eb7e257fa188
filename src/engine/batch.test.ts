// Batched decode against single-sequence runs on the same loaded model: greedy ids identical for different
// prompts (two of them shared, so one prefill and a KV copy), a sequence ending early leaves the others
// unchanged and its row leaves the steps, seeded sampling reproduces, stop ends all.
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSyntheticModel } from '../../scripts/synthetic-model';
import { dirProvider } from '../cli/file-source';
import { nodeGpu } from '../gpu/test-device';
import type { GpuModel } from '../gpu/model';
import { Rng } from '../sampler/rng';
import { Engine } from './engine';
import { generateBatch } from './batch';
import { generateSequence } from './generate';

const GREEDY = { temperature: 0, topP: 1, topK: 0 };
const HOT = { temperature: 1, topP: 0.95, topK: 0 };

describe('generateBatch', () => {
  let model: GpuModel;
  let prompts: number[][];
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'boxed-batch-'));
    await makeSyntheticModel({ out: dir, preset: 'tiny', untied: true, seed: 11 });
    const engine = new Engine(nodeGpu(), { prefillChunk: 8 });
    await engine.loadFrom(dirProvider(dir), { weights: 'q8', context: 64, batch: 6 });
    model = engine.model!;
    const rng = new Rng(3);
    const rand = (n: number) => Array.from({ length: n }, () => rng.int(0, 151642));
    const shared = rand(13);
    // lengths not multiples of the chunk; prompts 1 and 3 are the same
    prompts = [rand(5), shared, rand(21), [...shared], rand(9), rand(30)];
  });

  const single = (promptIds: number[], seed: number, sampling: typeof GREEDY, maxTokens: number, eosIds: Set<number>) =>
    generateSequence(model, { promptIds, maxTokens, sampling: { ...sampling, seed }, eosIds });

  // each prompt's single-sequence greedy ids (no stop token), shared by the first two tests
  let singles: number[][] = [];

  it('greedy: every sequence gets exactly the ids of its single-sequence run', { timeout: 300_000 }, async () => {
    singles = [];
    for (const p of prompts) singles.push((await single(p, 0, GREEDY, 12, new Set())).ids);
    // the greedy texts are varied (an untied head), so equal ids are a real check
    expect(new Set(singles.flat()).size).toBeGreaterThan(20);
    const r = await generateBatch(model, { sequences: prompts.map((promptIds, i) => ({ promptIds, seed: i })), maxTokens: 12, sampling: GREEDY, eosIds: new Set() });
    expect(r.sequences.map((s) => s.ids)).toEqual(singles);
    expect(r.sequences.every((s) => s.stop === 'max-tokens')).toBe(true);
    // the shared prompt was prefilled once
    expect(r.stats.prefilledTokens).toBe(prompts.reduce((a, p) => a + p.length, 0) - 13);
    expect(r.stats.decodeRows).toBe(6 * 11);
    expect(r.stats.readbacksPerStep).toBeLessThanOrEqual(1);
  });

  it('a sequence that ends early does not change the others, and its row leaves the steps', { timeout: 300_000 }, async () => {
    // a stop token that sequence 2 writes early and some other sequence never writes; a single greedy run
    // with that stop token is its free run cut at the token's first occurrence
    const stopId = singles[2].slice(2, 6).find((id) => singles.some((ids) => !ids.includes(id)));
    expect(stopId).toBeDefined();
    const eos = new Set([stopId!]);
    const expected = singles.map((ids) => (ids.includes(stopId!) ? { ids: ids.slice(0, ids.indexOf(stopId!)), stop: 'eos' } : { ids, stop: 'max-tokens' }));
    // and the engine's own single run agrees for the sequence that stops
    expect((await single(prompts[2], 0, GREEDY, 12, eos)).ids).toEqual(expected[2].ids);
    const seen: number[][] = prompts.map(() => []);
    const r = await generateBatch(model, {
      sequences: prompts.map((promptIds, i) => ({ promptIds, seed: i })),
      maxTokens: 12,
      sampling: GREEDY,
      eosIds: eos,
      onStep: (tokens) => tokens.forEach((t) => seen[t.seq].push(t.id)),
    });
    expect(r.sequences).toEqual(expected);
    expect(seen).toEqual(expected.map((e) => e.ids));
    expect(r.sequences[2].stop).toBe('eos');
    expect(r.sequences.some((s) => s.stop === 'max-tokens')).toBe(true);
    // rows of ended sequences are dropped: fewer rows than steps x sequences
    expect(r.stats.decodeRows).toBeLessThan(r.stats.decodeSteps * prompts.length);
  });

  it('sampled runs with the same seeds reproduce; each sequence has its own coin', { timeout: 300_000 }, async () => {
    const shared = prompts[1];
    const req = { sequences: [0, 1, 2, 3].map((i) => ({ promptIds: shared, seed: 100 + i })), maxTokens: 10, sampling: HOT, eosIds: new Set<number>() };
    const a = await generateBatch(model, req);
    const b = await generateBatch(model, req);
    expect(b.sequences).toEqual(a.sequences);
    expect(new Set(a.sequences.map((s) => s.ids.join(','))).size).toBeGreaterThan(1);
    // one sequence of a batch samples as the single-sequence run with its seed
    const one = await single(shared, 102, HOT, 10, new Set());
    expect(a.sequences[2].ids).toEqual(one.ids);
  });

  it('stop ends every sequence; a batch larger than the slots is refused', { timeout: 300_000 }, async () => {
    let steps = 0;
    const r = await generateBatch(model, {
      sequences: prompts.slice(0, 3).map((promptIds, i) => ({ promptIds, seed: i })),
      maxTokens: 40,
      sampling: HOT,
      eosIds: new Set(),
      onStep: () => steps++,
      shouldStop: () => steps >= 4,
    });
    expect(r.sequences.every((s) => s.stop === 'aborted')).toBe(true);
    expect(r.sequences.every((s) => s.ids.length < 40)).toBe(true);
    await expect(generateBatch(model, { sequences: Array(7).fill({ promptIds: [1, 2], seed: 0 }), maxTokens: 2, sampling: GREEDY, eosIds: new Set() })).rejects.toMatchObject({
      name: 'InvalidRequest',
    });
  });
});
