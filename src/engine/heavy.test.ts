// Heavy mode through the engine's public API, and GenSelect's rounds on the real (synthetic) model with
// candidates whose answers disagree: the exact selection prompt is prefilled, the judgment parsed or the
// seeded fallback used, more than 16 candidates go through random subsets, and a prompt too long for the
// context is cut to fit or refused.
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSyntheticModel } from '../../scripts/synthetic-model';
import { dirProvider } from '../cli/file-source';
import { nodeGpu } from '../gpu/test-device';
import { buildMessages, userTurn } from '../chat/prompts';
import { renderChat, type ChatMessage } from '../chat/template';
import { candidateSummary, genselectPrompt, voteOfPicks } from '../reasoning/genselect';
import { majorityVote } from '../reasoning/vote';
import type { HeavyEvent, HeavyRequest } from '../protocol/engine';
import type { BoxedError } from '../protocol/errors';
import { Engine } from './engine';
import { runGenSelect, type SelectDeps } from './select';

const SAMPLING = { temperature: 1, topP: 0.95, topK: 0, seed: 5 };

describe('heavy mode', () => {
  let engine: Engine;
  let template: string;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'boxed-heavy-'));
    await makeSyntheticModel({ out: dir, preset: 'tiny', untied: true, seed: 4 });
    template = (JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8')) as { chat_template: string }).chat_template;
    engine = new Engine(nodeGpu());
    await engine.loadFrom(dirProvider(dir), { weights: 'q8', context: 1024, batch: 4 });
  });

  const heavyReq = (over: Partial<HeavyRequest> = {}): HeavyRequest => ({
    prompt: { kind: 'chat', messages: buildMessages('math', 'What is 2+2?') },
    mode: 'math',
    problem: 'What is 2+2?',
    samples: 4,
    select: 'vote',
    maxTokens: 8,
    sampling: SAMPLING,
    ...over,
  });

  it('streams N candidates tagged by index, prefills the prompt once, and reproduces with the same seed', async () => {
    const batches: HeavyEvent[][] = [];
    const r = await engine.generateHeavy(heavyReq(), (e) => batches.push(e));
    expect(r.candidates).toHaveLength(4);
    const events = batches.flat();
    for (let i = 0; i < 4; i++) {
      const text = events.filter((e): e is Extract<HeavyEvent, { type: 'token' }> => e.type === 'token' && e.seq === i).map((e) => e.text).join('');
      expect(text).toBe(r.candidates[i].text);
      expect(r.candidates[i].ids.length).toBeGreaterThan(0);
      expect(events.filter((e) => e.type === 'candidate-end' && e.seq === i)).toHaveLength(1);
    }
    const rendered = await engine.renderPrompt(heavyReq().prompt);
    expect(r.stats.promptTokens).toBe(rendered.tokens);
    expect(r.stats.prefilledTokens).toBe(rendered.tokens);
    expect(new Set(r.candidates.map((c) => c.text)).size).toBeGreaterThan(1);
    expect(r.selection).toEqual({ method: 'vote', skipped: false, rounds: [] });
    expect(events.at(-1)?.type).toBe('stats');
    const again = await engine.generateHeavy(heavyReq());
    expect(again.candidates).toEqual(r.candidates);
    // more candidates than the loaded batch is a clear error
    await expect(engine.generateHeavy(heavyReq({ samples: 8 }))).rejects.toMatchObject({ name: 'InvalidRequest' });
    await expect(engine.generateHeavy(heavyReq({ samples: 0 }))).rejects.toMatchObject({ name: 'InvalidRequest' });
  });

  it('candidates that continue from answers that differ force GenSelect, end to end', async () => {
    const batches: HeavyEvent[][] = [];
    const continueFrom = ['<think>a</think>So \\boxed{1}', '<think>b</think>So \\boxed{2}', '<think>c</think>So \\boxed{1}'];
    const r = await engine.generateHeavy(heavyReq({ samples: 3, select: 'genselect', maxTokens: 4, selectionMaxTokens: 4, continueFrom }), (e) => batches.push(e));
    r.candidates.forEach((c, i) => expect(c.text.startsWith(continueFrom[i])).toBe(true));
    // the random model rarely writes another \boxed: the answers are the continued ones
    const answers = r.candidates.map((c) => c.answer);
    expect(new Set(answers).size).toBeGreaterThan(1);
    expect(r.selection.skipped).toBe(false);
    expect(r.selection.rounds).toHaveLength(1);
    expect(r.chosen).toBe(r.selection.rounds[0].pick);
    expect(r.answer).toBe(answers[r.chosen!]);
    expect(r.vote).toEqual(majorityVote(answers));
    const types = batches.flat().map((e) => e.type);
    expect(types.indexOf('selection-start')).toBeGreaterThan(types.lastIndexOf('candidate-end'));
    expect(types).toContain('selection-token');
    expect(r.stats.prefilledTokens).toBeGreaterThan(r.stats.promptTokens); // three distinct prompts
  });

  it('a selection that cannot fit the context keeps the candidates and the vote, with the reason', async () => {
    const continueFrom = ['<think>a</think>So \\boxed{1}', '<think>b</think>So \\boxed{2}', '<think>c</think>So \\boxed{1}'];
    const huge = Array.from({ length: 3000 }, (_, i) => `w${(i * 7919) % 1000}`).join(' ');
    const r = await engine.generateHeavy(heavyReq({ samples: 3, select: 'genselect', maxTokens: 2, problem: huge, continueFrom }));
    expect(r.candidates).toHaveLength(3);
    expect(r.selection.error?.name).toBe('InvalidRequest');
    expect(r.selection.rounds).toEqual([]);
    expect(r.chosen).toBe(r.vote.indices[0] ?? null);
    expect(r.answer).toBe(r.vote.answer);
  });

  it('stop ends every candidate and skips selection', async () => {
    let tokens = 0;
    const r = await engine.generateHeavy(heavyReq({ maxTokens: 200, select: 'genselect' }), (events) => {
      tokens += events.filter((e) => e.type === 'token').length;
      if (tokens >= 8) void engine.stop();
    });
    expect(r.candidates.every((c) => c.stop === 'aborted')).toBe(true);
    expect(r.selection.rounds).toEqual([]);
  });

  it('continues a stopped run: ended candidates are kept, the stopped ones continue from their text', async () => {
    // a stopped run: candidates 0 and 2 had ended (kept as they are), 1 and 3 were cut by the Stop
    const continueFrom = ['<think>a</think>So \\boxed{4}', '<think>b', '<think>c</think>\\boxed{4}', '<think>d e'];
    const continueDone = ['eos', 'aborted', 'max-tokens', null] as const;
    const batches: HeavyEvent[][] = [];
    const r = await engine.generateHeavy(heavyReq({ continueFrom, continueDone: [...continueDone], maxTokens: 6 }), (e) => batches.push(e));
    const events = batches.flat();
    // the kept candidates: no event, their text and stop as they were, their answer read
    for (const i of [0, 2]) {
      expect(events.some((e) => 'seq' in e && e.seq === i)).toBe(false);
      expect(r.candidates[i]).toEqual({ text: continueFrom[i], ids: [], answer: '4', stop: continueDone[i] });
    }
    // the continued ones: their events carry the candidate's index, their text extends the old one
    for (const i of [1, 3]) {
      const text = events.filter((e): e is Extract<HeavyEvent, { type: 'token' }> => e.type === 'token' && e.seq === i).map((e) => e.text).join('');
      expect(r.candidates[i].text).toBe(continueFrom[i] + text);
      expect(r.candidates[i].ids.length).toBeGreaterThan(0);
      expect(r.candidates[i].stop).not.toBe('aborted');
    }
    // a continued candidate samples as the same candidate started from that text alone (seed + its index)
    const alone = await engine.generateHeavy(heavyReq({ continueFrom, continueDone: ['eos', null, 'eos', 'eos'], maxTokens: 6 }));
    expect(alone.candidates[1]).toEqual(r.candidates[1]);
    // every candidate had ended: nothing is decoded, the vote runs on the texts
    const none = await engine.generateHeavy(heavyReq({ continueFrom, continueDone: ['eos', 'eos', 'eos', 'eos'] }));
    expect(none.stats.decodeSteps).toBe(0);
    expect(none.candidates.map((c) => c.text)).toEqual(continueFrom);
    expect(none.answer).toBe('4');
    await expect(engine.generateHeavy(heavyReq({ continueDone: ['eos', 'eos', 'eos', 'eos', 'eos'] }))).rejects.toMatchObject({ name: 'InvalidRequest' });
  });

  const deps = (events: HeavyEvent[]): SelectDeps => ({
    model: engine.model!,
    tokenizer: engine.tokenizer!,
    eosIds: new Set([151645, 151643]),
    renderChat: (m: ChatMessage[]) => renderChat(template, m, { addGenerationPrompt: true }),
    shouldStop: () => false,
    emit: (e) => events.push(...e),
  });

  it('GenSelect judges disagreeing candidates with the exact selection prompt, seeded', async () => {
    const texts = ['<think>a</think>The answer is \\boxed{1}.', '<think>b</think>So \\boxed{2}.', '<think>c</think>\\boxed{1}'];
    const answers = ['1', '2', '1'];
    const req = heavyReq({ samples: 3, select: 'genselect', selectionMaxTokens: 6 });
    const events: HeavyEvent[] = [];
    const out = await runGenSelect(deps(events), { req, texts, answers });
    expect(out.selection.skipped).toBe(false);
    expect(out.selection.rounds).toHaveLength(1);
    const round = out.selection.rounds[0];
    const prompt = renderChat(template, userTurn(genselectPrompt('math', 'What is 2+2?', texts.map((t) => candidateSummary(t)))), { addGenerationPrompt: true });
    expect(round.promptTokens).toBe(engine.tokenizer!.encode(prompt).length);
    expect(round.summaryChars).toBe(5000);
    expect(round.candidates).toEqual([0, 1, 2]);
    expect(round.text.length).toBeGreaterThan(0);
    expect(out.chosen).toBe(round.pick);
    expect([0, 1, 2]).toContain(round.pick);
    if (round.judgment !== null) expect(round.pick).toBe(round.judgment);
    expect(events.map((e) => e.type)).toContain('selection-token');
    expect(events[0]).toMatchObject({ type: 'selection-start', round: 0, rounds: 1, candidates: [0, 1, 2] });
    expect(events.at(-1)).toMatchObject({ type: 'selection-end', round: 0, pick: round.pick });
    const again = await runGenSelect(deps([]), { req, texts, answers });
    expect(again).toEqual(out);
    // agreeing answers (missing ones ignored) need no model call
    const skip = await runGenSelect(deps([]), { req, texts, answers: [null, '1', '1'] });
    expect(skip).toEqual({ selection: { method: 'genselect', skipped: true, rounds: [] }, chosen: 1, tokens: 0 });
  });

  it('more than 16 candidates: random subsets of 16, the picks voted', async () => {
    const answers = Array.from({ length: 20 }, (_, i) => String(i % 3));
    const texts = answers.map((a, i) => `<think>t${i}</think>\\boxed{${a}}`);
    const req = heavyReq({ samples: 20, select: 'genselect', selectionMaxTokens: 2 });
    const out = await runGenSelect(deps([]), { req, texts, answers });
    expect(out.selection.rounds).toHaveLength(3);
    for (const r of out.selection.rounds) {
      expect(new Set(r.candidates).size).toBe(16);
      expect(r.candidates).toContain(r.pick);
    }
    expect(out.chosen).toBe(voteOfPicks(out.selection.rounds.map((r) => r.pick), answers));
  });

  it('cuts summaries so the selection prompt fits the context, and refuses when it cannot', async () => {
    const words = (n: number, seed: number) => Array.from({ length: n }, (_, i) => `w${(i * 7919 + seed) % 1000}`).join(' ');
    const texts = [0, 1].map((i) => `<think>x</think>${words(900, i)} \\boxed{${i}}`);
    const answers = ['0', '1'];
    const req = heavyReq({ samples: 2, select: 'genselect', selectionMaxTokens: 64 });
    const out = await runGenSelect(deps([]), { req, texts, answers });
    const round = out.selection.rounds[0];
    expect(round.summaryChars).toBeLessThan(5000);
    expect(round.promptTokens + 64).toBeLessThanOrEqual(1024);
    const err = await runGenSelect(deps([]), { req: { ...req, problem: words(3000, 9) }, texts, answers }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'InvalidRequest' });
    expect(String((err as Error).message)).toMatch(/longer context/);
  });

  it('refuses a batch whose KV cache exceeds the GPU buffers, naming the largest batch that fits', async () => {
    const other = new Engine(nodeGpu());
    const { limits } = await other.probe();
    const limit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
    // one layer's K buffer of the tiny model: 2 KV heads x 16 dims x f16 = 64 bytes a position, per slot
    const context = Math.floor(limit / 64 / 3.5);
    const err = await other.loadFrom(dirProvider(dir), { weights: 'q8', context, batch: 16 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'OutOfMemory' });
    expect((err as BoxedError).detail?.largestBatch).toBe(3);
    expect((err as Error).message).toMatch(/at most 3 parallel solutions/);
  });
});
