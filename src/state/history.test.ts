// History entries from runs and back, status mapping, and the slice's ordering.
import { describe, expect, it } from 'vitest';
import type { GenerateRequest } from '../protocol/engine';
import { entryFromRun, runFromEntry, statusOf } from './history';
import { applyGenerateEvent, newRun, runNumbers, type Run } from './run';
import { createBoxedStore } from './store';

const request: GenerateRequest = {
  prompt: { kind: 'chat', messages: [{ role: 'user', content: 'q' }] },
  maxTokens: 99,
  sampling: { temperature: 0.7, topP: 0.9, topK: 5, seed: 77 },
};

function streamed(text: string): Run {
  let r = newRun('id-1', 'science4', 'Which?\nA) x\nB) y', request, 1000);
  [...text].forEach((ch, i) => (r = applyGenerateEvent(r, { type: 'token', text: ch, id: i, count: i + 1 }, 1100 + i * 5)));
  return r;
}

describe('history', () => {
  it('maps stop reasons to statuses', () => {
    const r = streamed('ab');
    expect(statusOf(r)).toBe('running');
    expect(statusOf({ ...r, stop: 'eos' })).toBe('done');
    expect(statusOf({ ...r, stop: 'max-tokens' })).toBe('done');
    expect(statusOf({ ...r, stop: 'aborted' })).toBe('stopped');
    expect(statusOf({ ...r, stop: 'error' })).toBe('error');
  });

  it('an entry keeps the text so far and reopens as a stopped run that can continue', () => {
    const r = streamed('<think>hm</think>B');
    const e = entryFromRun(r, 'tiny', 1000, 5000);
    expect(e).toMatchObject({ id: 'id-1', mode: 'science4', text: '<think>hm</think>B', tokens: 18, status: 'running', sampling: request.sampling, maxTokens: 99, model: 'tiny', createdAt: 1000, updatedAt: 5000 });
    expect(e.thinkingTokens).toBe(17);
    expect(e.thinkingMs).toBe(16 * 5);
    expect(structuredClone(e)).toEqual(e);
    const back = runFromEntry(e, request.prompt);
    expect(back.text).toBe(e.text);
    expect(back.stop).toBe('aborted'); // interrupted mid-answer: continuable
    expect(back.tokens).toBe(18);
    expect(back.thinkTokens).toBe(17);
    expect(back.request.sampling).toEqual(request.sampling);
  });

  it('an entry interrupted while thinking reopens with its thinking time', () => {
    const r = streamed('<think>still going');
    const e = entryFromRun(r, 'tiny', 1000, 61_000);
    expect(e.thinkingMs).toBeUndefined();
    const back = runFromEntry(e, request.prompt);
    expect(runNumbers(back, 999_999).thinkingMs).toBe(60_000);
    // a finished reasoning keeps its own measured time
    const done = runFromEntry(entryFromRun(streamed('<think>a</think>B'), 'tiny', 1000, 61_000), request.prompt);
    expect(runNumbers(done, 999_999).thinkingMs).toBe(15 * 5); // '</think>' complete at the 16th token
  });

  it('keeps the list newest first, upserts by id, deletes', () => {
    const st = createBoxedStore();
    const s = () => st.getState();
    const base = entryFromRun(streamed('x'), 'm', 0, 0);
    s().setHistory([
      { ...base, id: 'a', createdAt: 1 },
      { ...base, id: 'c', createdAt: 3 },
      { ...base, id: 'b', createdAt: 2 },
    ]);
    expect(s().history.map((e) => e.id)).toEqual(['c', 'b', 'a']);
    s().upsertHistory({ ...base, id: 'b', createdAt: 2, text: 'new' });
    expect(s().history.map((e) => [e.id, e.text])).toEqual([
      ['c', 'x'],
      ['b', 'new'],
      ['a', 'x'],
    ]);
    s().upsertHistory({ ...base, id: 'd', createdAt: 4 });
    s().removeHistory('c');
    expect(s().history.map((e) => e.id)).toEqual(['d', 'b', 'a']);
  });
});
