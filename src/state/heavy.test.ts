import { describe, expect, it } from 'vitest';
import type { HeavyRequest, HeavyResult } from '../protocol/engine';
import { applyHeavyEvents, canContinueHeavy, continueHeavyRequest, finishHeavyRun, newHeavyRun } from './heavy';
import { entryFromHeavy, heavyFromEntry } from './history';
import { sanitizeSettings } from './settings';
import { createBoxedStore } from './store';

const REQ: HeavyRequest = {
  prompt: { kind: 'raw', text: 'p' },
  mode: 'math',
  problem: '1+1?',
  samples: 3,
  select: 'genselect',
  maxTokens: 10,
  sampling: { temperature: 0.6, topP: 0.95, topK: 0, seed: 1 },
};

const RESULT: HeavyResult = {
  candidates: [
    { text: '<think>a</think>\\boxed{2}', ids: [1, 2, 3], answer: '2', stop: 'eos' },
    { text: '<think>b</think>\\boxed{3}', ids: [4, 5], answer: '3', stop: 'eos' },
    { text: 'c', ids: [6], answer: null, stop: 'max-tokens' },
  ],
  vote: { answer: '2', votes: 1, indices: [0], groups: [{ answer: '2', votes: 1 }, { answer: '3', votes: 1 }] },
  tally: { groups: [{ label: '2', indices: [0], forms: [{ answer: '2', count: 1 }] }, { label: '3', indices: [1], forms: [{ answer: '3', count: 1 }] }], missing: [2] },
  selection: { method: 'genselect', skipped: false, rounds: [{ candidates: [0, 1, 2], skipped: false, text: 'x Judgment: 1', promptTokens: 50, summaryChars: 5000, judgment: 1, pick: 1, stop: 'eos' }] },
  chosen: 1,
  answer: '3',
  stats: { promptTokens: 5, prefilledTokens: 5, timeToFirstTokenMs: 1, decodeSteps: 2, decodeRows: 5, aggregateTokensPerSecond: 10, dispatchesPerStep: 18, readbacksPerStep: 1, selectionTokens: 4 },
};

describe('heavy runs in the store', () => {
  it('a stopped run continues: ended candidates kept, stopped ones running again, the selection cleared', () => {
    const stopped: HeavyResult = {
      ...RESULT,
      candidates: [RESULT.candidates[0], { text: '<think>b', ids: [4], answer: null, stop: 'aborted' }, RESULT.candidates[2]],
      selection: { method: 'genselect', skipped: false, rounds: [] },
    };
    const store = createBoxedStore();
    const s = () => store.getState();
    s().heavyStarted('h1', 'math', '1+1?', REQ, 0);
    s().heavyFinished(stopped, 50);
    expect(canContinueHeavy(s().heavy)).toBe(true);
    const req = continueHeavyRequest(s().heavy!, 20);
    expect(req).toMatchObject({ maxTokens: 20, continueFrom: ['<think>a</think>\\boxed{2}', '<think>b', 'c'], continueDone: ['eos', null, 'max-tokens'] });
    s().heavyContinued(req);
    const h = s().heavy!;
    expect(s().phase).toEqual({ kind: 'generating', runId: 'h1', stopping: false });
    expect(h.id).toBe('h1');
    expect(h.result).toBeUndefined();
    expect(h.stopped).toBeUndefined();
    expect(h.candidates.map((c) => c.stop)).toEqual(['eos', undefined, 'max-tokens']);
    expect(h.candidates[1].text).toBe('<think>b');
    // its token count goes on from where it stopped
    const was = h.candidates[1].tokens;
    s().heavyEvents([{ type: 'token', seq: 1, text: 'x', count: 1 }], 60);
    expect(s().heavy!.candidates[1].tokens).toBe(was + 1);
    expect(s().heavy!.candidates[1].text).toBe('<think>bx');
    // a finished run does not continue
    s().heavyFinished(RESULT, 90);
    expect(canContinueHeavy(s().heavy)).toBe(false);
  });

  it('folds event batches per candidate and per selection round', () => {
    let h = newHeavyRun('h1', 'math', '1+1?', REQ, 0);
    h = applyHeavyEvents(h, [{ type: 'prefill', done: 5, total: 5 }, { type: 'token', seq: 0, text: '<think>a', count: 2 }, { type: 'token', seq: 2, text: 'c', count: 1 }], 10);
    h = applyHeavyEvents(h, [{ type: 'token', seq: 0, text: '</think>', count: 3 }, { type: 'candidate-end', seq: 0, stop: 'eos', answer: null }], 30);
    expect(h.candidates.map((c) => c.text)).toEqual(['<think>a</think>', '', 'c']);
    expect(h.candidates[0]).toMatchObject({ tokens: 3, stop: 'eos', firstTokenAt: 10, thinkMs: 20 });
    expect(h.candidates[1].tokens).toBe(0);
    h = applyHeavyEvents(h, [{ type: 'selection-start', round: 0, rounds: 1, candidates: [0, 1, 2], promptTokens: 50, summaryChars: 5000 }, { type: 'selection-token', round: 0, text: 'Judg', count: 1 }], 40);
    h = applyHeavyEvents(h, [{ type: 'selection-token', round: 0, text: 'ment: 1', count: 2 }, { type: 'selection-end', round: 0, skipped: false, judgment: 1, pick: 1 }], 50);
    expect(h.rounds).toHaveLength(1);
    expect(h.rounds[0]).toMatchObject({ text: 'Judgment: 1', tokens: 2, done: true, judgment: 1, pick: 1, candidates: [0, 1, 2] });
    const done = finishHeavyRun(h, RESULT, 60);
    expect(done.result).toMatchObject({ chosen: 1, answer: '3', skipped: false });
    expect(done.candidates[1].text).toBe('<think>b</think>\\boxed{3}');
    expect(done.candidates[0].thinkMs).toBe(20); // streamed timings are kept
    expect(done.stopped).toBe(false);
  });

  it('a heavy run and a single run replace each other on screen; events only land while generating', () => {
    const store = createBoxedStore();
    const s = () => store.getState();
    s().heavyStarted('h1', 'math', '1+1?', REQ, 0);
    expect(s().phase).toEqual({ kind: 'generating', runId: 'h1', stopping: false });
    s().heavyEvents([{ type: 'token', seq: 1, text: 'x', count: 1 }], 5);
    s().heavyFinished(RESULT, 9);
    expect(s().phase.kind).toBe('ready');
    s().heavyEvents([{ type: 'token', seq: 1, text: 'late', count: 9 }], 10);
    expect(s().heavy!.candidates[1].text).toBe(RESULT.candidates[1].text);
    s().runStarted('r1', 'math', 'q', { prompt: { kind: 'raw', text: 'q' }, maxTokens: 2, sampling: REQ.sampling }, 11);
    expect(s().heavy).toBeNull();
  });

  it('history keeps every candidate and the selection; a run cut off by a reload reopens as stopped', () => {
    const done = finishHeavyRun(newHeavyRun('h1', 'math', '1+1?', REQ, 0), RESULT, 60);
    const entry = entryFromHeavy(done, 'tiny', 0, 61);
    expect(entry).toMatchObject({ id: 'h1', status: 'done', text: RESULT.candidates[1].text, tokens: 6, problem: '1+1?' });
    expect(heavyFromEntry(structuredClone(entry))).toEqual(done);
    const running = entryFromHeavy(newHeavyRun('h2', 'math', 'p', REQ, 0), 'tiny', 0, 1);
    expect(running.status).toBe('running');
    expect(heavyFromEntry(running)!.stopped).toBe(true);
  });

  it('settings take 1, 4, 8 or 16 solutions and vote or genselect', () => {
    expect(sanitizeSettings({ samples: 8, select: 'vote' })).toMatchObject({ samples: 8, select: 'vote' });
    expect(sanitizeSettings({ samples: 5, select: 'best' })).toMatchObject({ samples: 1, select: 'genselect' });
    expect(sanitizeSettings({ samples: '16' })).toMatchObject({ samples: 16 });
  });
});
