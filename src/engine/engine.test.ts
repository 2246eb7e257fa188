// The engine through its public API, as the worker and the CLI use it: load from a folder, render the
// chat prompt, stream tokens, stop, the memory plan's refusal, and a lost device.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSyntheticModel } from '../../scripts/synthetic-model';
import { dirProvider } from '../cli/file-source';
import { nodeGpu } from '../gpu/test-device';
import { Engine } from './engine';
import { buildMessages } from '../chat/prompts';
import { BoxedError } from '../protocol/errors';
import type { GenerateEvent, LoadEvent } from '../protocol/engine';

const GREEDY = { temperature: 0, topP: 1, topK: 0, seed: 0 };

describe('Engine', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'boxed-engine-'));
    await makeSyntheticModel({ out: dir, preset: 'tiny', seed: 5 });
  });

  it('loads with progress through every phase, renders the exact ChatML prompt, and streams tokens', async () => {
    const engine = new Engine(nodeGpu());
    const events: LoadEvent[] = [];
    const info = await engine.loadFrom(dirProvider(dir), { weights: 'q4', context: 256 }, (e) => events.push(e));
    expect(events.filter((e) => e.type === 'phase').map((e) => (e as { phase: string }).phase)).toEqual(['download', 'convert', 'compile', 'warmup']);
    const convert = events.filter((e): e is Extract<LoadEvent, { type: 'convert' }> => e.type === 'convert');
    expect(convert.length).toBeGreaterThan(2);
    expect(convert.at(-1)!.done).toBe(convert.at(-1)!.total);
    // every pipeline of the model compiled asynchronously, counted as each finishes, between the compile and warm-up phases
    const compile = events.filter((e): e is Extract<LoadEvent, { type: 'compile' }> => e.type === 'compile');
    const total = compile[0].total;
    expect(total).toBeGreaterThan(10);
    expect(compile).toEqual(Array.from({ length: total + 1 }, (_, done) => ({ type: 'compile', done, total })));
    expect(engine.context!.pipelines.created).toBe(total);
    const phaseAt = (phase: string) => events.findIndex((e) => e.type === 'phase' && e.phase === phase);
    expect(events.indexOf(compile[0])).toBeGreaterThan(phaseAt('compile'));
    expect(events.indexOf(compile.at(-1)!)).toBeLessThan(phaseAt('warmup'));
    expect(info.config).toMatchObject({ hiddenSize: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 16, vocabSize: 151936, tiedEmbeddings: true });
    expect(info.memory.kvCache).toBeGreaterThan(0);

    const prompt = { kind: 'chat' as const, messages: buildMessages('math', '1+1?') };
    const rendered = await engine.renderPrompt(prompt);
    expect(rendered.text).toBe(
      '<|im_start|>system\n<|im_end|>\n<|im_start|>user\nSolve the following math problem. Make sure to put the answer (and only answer) inside \\boxed{}.\n\n1+1?<|im_end|>\n<|im_start|>assistant\n',
    );

    const seen: GenerateEvent[] = [];
    const r = await engine.generate({ prompt, maxTokens: 6, sampling: GREEDY }, (e) => seen.push(e));
    const tokens = seen.filter((e) => e.type === 'token') as Extract<GenerateEvent, { type: 'token' }>[];
    expect(tokens.map((t) => t.text).join('')).toBe(r.text);
    expect(r.ids.length).toBeGreaterThan(0);
    expect(r.stats.promptTokens).toBe(rendered.tokens);
    expect(seen.some((e) => e.type === 'prefill')).toBe(true);
    expect(seen.at(-1)?.type).toBe('stats');

    // stop() from inside the stream ends the answer after the current token
    let n = 0;
    const stopped = await engine.generate({ prompt, maxTokens: 50, sampling: { ...GREEDY, temperature: 0.8, seed: 3 } }, (e) => {
      if (e.type === 'token' && ++n === 2) void engine.stop();
    });
    expect(stopped.stop).toBe('aborted');
    expect(stopped.ids.length).toBe(2);

    // continuing after a stop: the text so far follows the prompt, and the run picks up from there
    const cont = await engine.generate({ prompt, continueFrom: '<think>\nThe answer is', maxTokens: 3, sampling: GREEDY });
    expect(cont.stats.promptTokens).toBeGreaterThan(rendered.tokens + 3);

    // loading again on the same device compiles nothing: the pipelines are cached by key
    const reload: LoadEvent[] = [];
    await engine.loadFrom(dirProvider(dir), { weights: 'q4', context: 256 }, (e) => reload.push(e));
    expect(reload.filter((e) => e.type === 'compile')).toEqual([{ type: 'compile', done: 0, total: 0 }]);
    expect(engine.context!.pipelines.created).toBe(total);
    await engine.unload();
    await expect(engine.generate({ prompt, maxTokens: 2, sampling: GREEDY })).rejects.toMatchObject({ name: 'InvalidRequest' });
  });

  it('refuses a context whose KV cache cannot be allocated, saying how much was needed', async () => {
    const engine = new Engine(nodeGpu());
    const err = await engine.loadFrom(dirProvider(dir), { weights: 'q4', context: 1 << 28 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BoxedError);
    expect((err as BoxedError).name).toBe('OutOfMemory');
    expect(Number((err as BoxedError).detail?.neededBytes)).toBeGreaterThan(1 << 28);
  });

  it('turns a lost GPU device into a DeviceLost error, and loads again afterwards', async () => {
    const engine = new Engine(nodeGpu());
    await engine.loadFrom(dirProvider(dir), { weights: 'q4', context: 64 });
    engine.context!.device.destroy();
    await engine.context!.boxed.lost;
    await new Promise((r) => setTimeout(r, 0)); // let the engine's lost handler run
    const prompt = { kind: 'raw' as const, text: 'hello' };
    await expect(engine.generate({ prompt, maxTokens: 2, sampling: GREEDY })).rejects.toMatchObject({ name: 'DeviceLost' });
    await engine.loadFrom(dirProvider(dir), { weights: 'q4', context: 64 });
    const r = await engine.generate({ prompt, maxTokens: 2, sampling: GREEDY });
    expect(r.ids.length).toBeGreaterThan(0);
  });
});
