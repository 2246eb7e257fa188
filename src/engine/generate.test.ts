// The single-sequence loop with its pipelining (the next prefill chunk queued while one runs; up to
// stepsInFlight decode steps queued before a readback) against a plain reference on the same model: one
// step at a time, each step's input token written by the CPU from the id it just read back. Ids equal, and
// every way of ending (max tokens, end of the context, a stop token, Stop) ends at the right token.
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSyntheticModel } from '../../scripts/synthetic-model';
import { dirProvider } from '../cli/file-source';
import { nodeGpu } from '../gpu/test-device';
import type { GpuModel, RowSampling } from '../gpu/model';
import { Rng } from '../sampler/rng';
import { Engine } from './engine';
import { generateSequence } from './generate';

const GREEDY = { temperature: 0, topP: 1, topK: 0, seed: 0 };
const CONTEXT = 48;

describe('generateSequence', () => {
  let model: GpuModel;
  let prompt: number[];
  let reference: number[];

  /** Greedy ids, one unpipelined step at a time: prefill in chunks waiting for each, then read every id before the next step. */
  async function stepByStep(promptIds: number[], count: number): Promise<number[]> {
    const greedy = (): RowSampling[] => [{ temperature: 0, topP: 1, topK: 0, coin: 0 }];
    const chunk = model.rowsPerStep;
    let handle = null;
    for (let s = 0; s < promptIds.length; s += chunk) {
      const n = Math.min(chunk, promptIds.length - s);
      const last = s + n >= promptIds.length;
      handle = model.submitStep(Array.from({ length: n }, (_, i) => ({ slot: 0, pos: s + i })), { tokens: promptIds.slice(s, s + n), lastRowOnly: true, sampling: last ? greedy() : undefined });
      await model.ctx.device.queue.onSubmittedWorkDone();
    }
    const ids = [(await model.readTokens(handle!))[0]];
    for (let pos = promptIds.length; ids.length < count && pos < CONTEXT; pos++) {
      const h = model.submitStep([{ slot: 0, pos }], { tokens: [ids[ids.length - 1]], lastRowOnly: false, sampling: greedy() });
      ids.push((await model.readTokens(h))[0]);
    }
    return ids;
  }

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'boxed-generate-'));
    await makeSyntheticModel({ out: dir, preset: 'tiny', untied: true, seed: 5 });
    const engine = new Engine(nodeGpu(), { prefillChunk: 8 });
    await engine.loadFrom(dirProvider(dir), { weights: 'q8', context: CONTEXT, batch: 1 });
    model = engine.model!;
    const rng = new Rng(9);
    prompt = Array.from({ length: 21 }, () => rng.int(0, 151642)); // three chunks of 8, the last partial
    reference = await stepByStep(prompt, CONTEXT - prompt.length + 1);
    // an untied head gives varied greedy text, so equal ids are a real check
    expect(new Set(reference).size).toBeGreaterThan(8);
  }, 300_000);

  it('queues several steps at once and still gives exactly the step-by-step ids', { timeout: 120_000 }, async () => {
    expect(model.stepsInFlight).toBeGreaterThanOrEqual(3);
    const progress: number[] = [];
    // when id k reaches the caller: the ids already asked of the GPU and not yet read. The first id comes from
    // the last of the 3 prefill chunks, id j + 1 from decode step j, so that is (decode steps submitted + 1) - k
    const stats = model.ctx.stats;
    const submits0 = stats.submits;
    const ahead: number[] = [];
    const onToken = (_id: number, count: number) => ahead.push(stats.submits - submits0 - 3 + 1 - count);
    const r = await generateSequence(model, { promptIds: prompt, maxTokens: 12, sampling: GREEDY, eosIds: new Set(), onPrefill: (done, total) => progress.push(done, total), onToken });
    expect(r.ids).toEqual(reference.slice(0, 12));
    expect(r.stop).toBe('max-tokens');
    // progress per finished chunk, in order, ending at the prompt's length
    expect(progress).toEqual([8, 21, 16, 21, 21, 21]);
    expect(r.stats.readbacksPerToken).toBe(1);
    // stepsInFlight - 1 = 2 steps stay queued behind each readback, fewer at the end (none past maxTokens)
    expect(ahead).toEqual([2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 0]);
  });

  it('stops at the end of the context with every position used', { timeout: 120_000 }, async () => {
    const r = await generateSequence(model, { promptIds: prompt, maxTokens: 1000, sampling: GREEDY, eosIds: new Set() });
    expect(r.stop).toBe('context-full');
    // the first id comes from the prompt's last position; each later one from the positions P..CONTEXT-1
    expect(r.ids).toEqual(reference.slice(0, CONTEXT - prompt.length + 1));
  });

  it('a stop token ends at its first occurrence even with later steps already queued', { timeout: 120_000 }, async () => {
    const at = reference.findIndex((id, i) => i >= 3 && reference.indexOf(id) === i);
    expect(at).toBeGreaterThanOrEqual(3);
    const r = await generateSequence(model, { promptIds: prompt, maxTokens: 20, sampling: GREEDY, eosIds: new Set([reference[at]]) });
    expect(r.stop).toBe('eos');
    expect(r.ids).toEqual(reference.slice(0, at));
  });

  it('Stop ends after the token it was asked at, and during the prefill before any token', { timeout: 120_000 }, async () => {
    let tokens = 0;
    const r = await generateSequence(model, { promptIds: prompt, maxTokens: 20, sampling: GREEDY, eosIds: new Set(), onToken: () => tokens++, shouldStop: () => tokens >= 2 });
    expect(r.stop).toBe('aborted');
    expect(r.ids).toEqual(reference.slice(0, 2));
    let chunks = 0;
    const early = await generateSequence(model, { promptIds: prompt, maxTokens: 20, sampling: GREEDY, eosIds: new Set(), onPrefill: () => chunks++, shouldStop: () => chunks >= 1 });
    expect(early).toMatchObject({ ids: [], stop: 'aborted' });
    expect(chunks).toBe(1);
    // the model is usable afterwards: the same ids again
    expect((await generateSequence(model, { promptIds: prompt, maxTokens: 5, sampling: GREEDY, eosIds: new Set() })).ids).toEqual(reference.slice(0, 5));
  });
});
