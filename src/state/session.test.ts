// The store through a whole session: load with progress, a streamed answer whose </think> arrives split
// across tokens, stop, continue, a lost device; the phase is always one of the union's kinds.
import { describe, expect, it } from 'vitest';
import type { GenerateRequest, GenerateResult, GenerateStats, ModelInfo } from '../protocol/engine';
import { Rng } from '../sampler/rng';
import { runNumbers } from './run';
import { createBoxedStore } from './store';

const request: GenerateRequest = {
  prompt: { kind: 'chat', messages: [{ role: 'system', content: '' }, { role: 'user', content: 'What is 7*6?' }] },
  maxTokens: 50,
  sampling: { temperature: 0.6, topP: 0.95, topK: 0, seed: 3 },
};

const stats = (generatedTokens: number): GenerateStats => ({
  promptTokens: 17,
  generatedTokens,
  timeToFirstTokenMs: 40,
  prefillTokensPerSecond: 425,
  decodeTokensPerSecond: 12.5,
  dispatchesPerToken: 9,
  readbacksPerToken: 1,
});

const info = { name: 'tiny', weights: 'q8', context: 512 } as unknown as ModelInfo;

/** Cuts a text into random non-empty pieces, like a detokenizer's output. */
function pieces(text: string, rng: Rng): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    const n = 1 + Math.floor(rng.next() * 4);
    out.push(text.slice(i, i + n));
    i += n;
  }
  return out;
}

describe('session store', () => {
  it('moves through load phases and keeps per-file progress', () => {
    const st = createBoxedStore();
    const s = () => st.getState();
    expect(s().phase).toEqual({ kind: 'idle' });
    s().loadEvent({ type: 'phase', phase: 'compile' }); // ignored outside loading
    expect(s().phase.kind).toBe('idle');
    s().loadStarted(1000);
    s().loadEvent({ type: 'download', file: 'config.json', loaded: 700, total: 700, bytesPerSecond: 1e6 });
    s().loadEvent({ type: 'download', file: 'model.safetensors', loaded: 1000, total: 5000, bytesPerSecond: 2000 });
    s().loadEvent({ type: 'download', file: 'model.safetensors', loaded: 3000, total: 5000, bytesPerSecond: 2500 });
    let p = s().phase;
    if (p.kind !== 'loading') throw new Error(`phase ${p.kind}`);
    expect(p.progress.files.map((f) => [f.file, f.loaded])).toEqual([
      ['config.json', 700],
      ['model.safetensors', 3000],
    ]);
    s().loadEvent({ type: 'convert', tensor: 'model.layers.0.mlp.up_proj.weight', done: 3, total: 7 });
    s().loadEvent({ type: 'compile', done: 2, total: 11 });
    p = s().phase;
    if (p.kind !== 'loading') throw new Error(`phase ${p.kind}`);
    expect(p.progress.phase).toBe('compile');
    expect(p.progress.convert).toEqual({ done: 3, total: 7, item: 'model.layers.0.mlp.up_proj.weight' });
    s().setModel(info);
    s().loadFinished();
    expect(s().phase).toEqual({ kind: 'ready' });
  });

  it('streams a run, marks the end of thinking at the right token, stops and continues', () => {
    const st = createBoxedStore();
    const s = () => st.getState();
    s().setModel(info);
    s().loadFinished();
    const rng = new Rng(11);
    const thinking = '<think>\nSix sevens: 42. Check 7*6 = 42.\n';
    const text = `${thinking}</think>\n\nThe answer is $\\boxed{42}$.`;
    const parts = pieces(text, rng);
    s().runStarted('r1', 'math', 'What is 7*6?', request, 100);
    expect(s().phase).toEqual({ kind: 'generating', runId: 'r1', stopping: false });
    s().generateEvent({ type: 'prefill', done: 17, total: 17 }, 120);
    let t = 140;
    let acc = '';
    let closeAt = -1;
    parts.forEach((piece, i) => {
      acc += piece;
      if (closeAt < 0 && acc.includes('</think>')) closeAt = i;
      s().generateEvent({ type: 'token', text: piece, id: 1000 + i, count: i + 1 }, t);
      t += 10;
    });
    const run = s().run!;
    expect(run.text).toBe(text);
    expect(run.tokens).toBe(parts.length);
    expect(run.firstTokenAt).toBe(140);
    expect(run.thinkTokens).toBe(closeAt + 1);
    expect(run.thinkEndAt).toBe(140 + closeAt * 10);
    const n = runNumbers(run, 10_000);
    expect(n.timeToFirstTokenMs).toBe(40);
    expect(n.thinkingMs).toBe(closeAt * 10);
    expect(n.decodeTokensPerSecond).toBeCloseTo(((parts.length - 1) * 1000) / ((parts.length - 1) * 10), 6);

    // stop: the phase says so, then the engine ends with 'aborted'
    s().stopRequested();
    expect(s().phase).toEqual({ kind: 'generating', runId: 'r1', stopping: true });
    const result: GenerateResult = { text, ids: [], stop: 'aborted', stats: stats(parts.length) };
    s().runFinished(result, t);
    expect(s().phase).toEqual({ kind: 'ready' });
    expect(s().run!.stop).toBe('aborted');
    expect(runNumbers(s().run!, 99_999).decodeTokensPerSecond).toBe(12.5);

    // continue: new tokens append to the text so far, counts keep going
    s().runContinued({ ...request, continueFrom: text }, t + 100);
    expect(s().run!.base).toBe(text);
    s().generateEvent({ type: 'token', text: ' Done', id: 5, count: 1 }, t + 150);
    s().generateEvent({ type: 'token', text: '.', id: 6, count: 2 }, t + 160);
    expect(s().run!.text).toBe(`${text} Done.`);
    expect(s().run!.tokens).toBe(parts.length + 2);
    // an engine that returns only the new text, and one that returns the whole text, give the same end
    s().runFinished({ text: ' Done.', ids: [5, 6], stop: 'eos', stats: stats(2) }, t + 170);
    expect(s().run!.text).toBe(`${text} Done.`);
    expect(s().run!.stop).toBe('eos');
    expect(s().run!.thinkTokens).toBe(closeAt + 1);
    expect(runNumbers(s().run!, 1e9).thinkingMs).toBe(closeAt * 10);
  });

  it('adds up thinking time over a stop and a continue', () => {
    const st = createBoxedStore();
    const s = () => st.getState();
    s().setModel(info);
    s().runStarted('r3', 'math', 'p', request, 0);
    s().generateEvent({ type: 'token', text: '<think>x', id: 1, count: 1 }, 10);
    s().generateEvent({ type: 'token', text: 'y', id: 2, count: 2 }, 20);
    expect(runNumbers(s().run!, 25).thinkingMs).toBe(15); // live while thinking
    s().runFinished({ text: '<think>xy', ids: [1, 2], stop: 'aborted', stats: stats(2) }, 21);
    expect(runNumbers(s().run!, 1e9).thinkingMs).toBe(10); // frozen at the last token once stopped
    s().runContinued({ ...request, continueFrom: '<think>xy' }, 100);
    expect(runNumbers(s().run!, 105).thinkingMs).toBe(10);
    s().generateEvent({ type: 'token', text: 'z</th', id: 3, count: 1 }, 110);
    s().generateEvent({ type: 'token', text: 'ink>A', id: 4, count: 2 }, 130);
    expect(s().run!.thinkMs).toBe(10 + 20);
    expect(s().run!.thinkTokens).toBe(4);
    expect(runNumbers(s().run!, 1e9).thinkingMs).toBe(30);
  });

  it('accepts a whole-text result after a continue, and a lost device clears the model', () => {
    const st = createBoxedStore();
    const s = () => st.getState();
    s().setModel(info);
    s().runStarted('r2', 'code', 'p', request, 0);
    s().generateEvent({ type: 'token', text: '<think>a', id: 1, count: 1 }, 1);
    s().runFinished({ text: '<think>a', ids: [1], stop: 'aborted', stats: stats(1) }, 2);
    s().runContinued({ ...request, continueFrom: '<think>a' }, 3);
    s().generateEvent({ type: 'token', text: 'b', id: 2, count: 1 }, 4);
    s().runFinished({ text: '<think>ab', ids: [2], stop: 'max-tokens', stats: stats(1) }, 5);
    expect(s().run!.text).toBe('<think>ab');

    s().runContinued({ ...request, continueFrom: '<think>ab' }, 6);
    s().generateEvent({ type: 'token', text: 'c', id: 3, count: 1 }, 7);
    s().runFailed({ name: 'DeviceLost', message: 'lost' });
    expect(s().phase).toEqual({ kind: 'error', error: { name: 'DeviceLost', message: 'lost' }, during: 'generate' });
    expect(s().model).toBeNull();
    expect(s().run!.text).toBe('<think>abc');
    expect(s().run!.stop).toBe('error');
    // events after the end are ignored
    s().generateEvent({ type: 'token', text: 'zzz', id: 9, count: 9 }, 8);
    expect(s().run!.text).toBe('<think>abc');
    s().dismissError();
    expect(s().phase).toEqual({ kind: 'idle' });
  });

  it('an OutOfMemory at load leaves no model and an error phase', () => {
    const st = createBoxedStore();
    const s = () => st.getState();
    s().loadStarted(0);
    s().loadFailed({ name: 'OutOfMemory', message: 'no', detail: { neededBytes: 10 } });
    expect(s().phase).toEqual({ kind: 'error', error: { name: 'OutOfMemory', message: 'no', detail: { neededBytes: 10 } }, during: 'load' });
    expect(s().model).toBeNull();
  });
});
