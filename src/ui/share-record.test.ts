// The record made for an answer on screen, and a received record back as a history entry and settings.
import { describe, expect, it } from 'vitest';
import type { ModelInfo } from '../protocol/engine';
import { decodeShare, encodeShare } from '../share/codec';
import { runFromEntry } from '../state/history';
import { finishRun, newRun } from '../state/run';
import { DEFAULT_SETTINGS, sanitizeSettings } from '../state/settings';
import { readAnswer } from '../reasoning/answer';
import { entryFromShare, needsLoad, recordFromHeavy, recordFromRun, settingsForRecord } from './share-record';
import { newHeavyRun } from '../state/heavy';
import { majorityVote } from '../reasoning/vote';
import { tallyAnswers } from '../reasoning/tally';

const request = { prompt: { kind: 'raw' as const, text: 'x' }, maxTokens: 512, sampling: { temperature: 0.3, topP: 0.9, topK: 40, seed: 11 } };
const stats = { promptTokens: 5, generatedTokens: 9, timeToFirstTokenMs: 1, prefillTokensPerSecond: 1, decodeTokensPerSecond: 1, dispatchesPerToken: 1, readbacksPerToken: 1 };
const TEXT = '<think>\nAdd them: 2 + 3 = 5.\n</think>\n\nThe sum is $\\boxed{5}$.';
const model = { name: 'boxed-e2e/tiny@v1.0', weights: 'q8', context: 4096 } as ModelInfo;

function finished(text: string, stop: 'eos' | 'aborted' = 'eos') {
  const run = newRun('r1', 'math', 'What is 2 + 3?', request, 1000.4);
  return finishRun(run, { text, ids: [], stop, stats }, 2000);
}

describe('share records of the app', () => {
  it('records a finished answer with the model and settings that made it', () => {
    const r = recordFromRun({ run: finished(TEXT), settings: DEFAULT_SETTINGS, model })!;
    expect(r).toMatchObject({
      problem: 'What is 2 + 3?',
      mode: 'math',
      answer: 'The sum is $\\boxed{5}$.',
      reasoning: 'Add them: 2 + 3 = 5.',
      extracted: '5',
      weights: 'q8',
      context: 4096,
      sampling: request.sampling,
      maxTokens: 512,
      stop: 'eos',
      createdAt: 1000,
      model: { endpoint: DEFAULT_SETTINGS.endpoint, repo: 'boxed-e2e/tiny', revision: 'v1.0' },
    });
  });

  it('names the model of the history entry over the loaded one, and none for local files', () => {
    const byEntry = recordFromRun({ run: finished(TEXT), settings: DEFAULT_SETTINGS, model, entryModel: 'org/other@main' })!;
    expect(byEntry.model?.repo).toBe('org/other');
    const local = recordFromRun({ run: finished(TEXT), settings: DEFAULT_SETTINGS, model: { ...model, name: 'local files' } })!;
    expect(local.model).toBeUndefined();
    const sha = '0123456789abcdef0123456789abcdef01234567';
    const pinned = recordFromRun({ run: finished(TEXT), settings: DEFAULT_SETTINGS, model: { ...model, name: `org/m@${sha}` } })!;
    expect(pinned.model).toEqual({ endpoint: DEFAULT_SETTINGS.endpoint, repo: 'org/m', revision: sha, commit: sha });
  });

  it('has nothing to share before the answer', () => {
    expect(recordFromRun({ run: finished('<think>still going', 'aborted'), settings: DEFAULT_SETTINGS, model })).toBeNull();
    expect(recordFromRun({ run: newRun('r2', 'math', 'p', request, 0), settings: DEFAULT_SETTINGS, model })).toBeNull();
  });

  it('saves a received record as an entry that reopens as the same answer', async () => {
    const link = await encodeShare(recordFromRun({ run: finished(TEXT), settings: DEFAULT_SETTINGS, model })!, { base: 'https://boxed.test/' });
    const r = await decodeShare(link.url);
    const entry = entryFromShare(r, 'shared-1', DEFAULT_SETTINGS, 5000);
    expect(entry).toMatchObject({ id: 'shared-1', status: 'done', stop: 'eos', sampling: request.sampling, maxTokens: 512, model: 'boxed-e2e/tiny@v1.0' });
    const view = readAnswer(entry.mode, runFromEntry(entry, request.prompt).text);
    expect(view.answer).toBe(r.answer);
    expect(view.thinking).toBe(r.reasoning);
    expect(view.final).toEqual({ kind: 'boxed', value: '5' });
    // and shared again from history, it names the same model
    const again = recordFromRun({ run: runFromEntry(entry, request.prompt), settings: DEFAULT_SETTINGS, model: null, entryModel: entry.model })!;
    expect(again.model).toEqual(r.model);
  });

  it('sets the record’s model, sampling and seed for "solve it yourself", and loads only when they differ', async () => {
    const r = await decodeShare((await encodeShare(recordFromRun({ run: finished(TEXT), settings: DEFAULT_SETTINGS, model })!, { base: 'https://boxed.test/' })).url);
    const after = sanitizeSettings({ ...DEFAULT_SETTINGS, ...settingsForRecord(r) });
    expect(after).toMatchObject({ repo: 'boxed-e2e/tiny', revision: 'v1.0', weights: 'q8', context: 4096, temperature: 0.3, topP: 0.9, topK: 40, seed: 11, maxTokens: 512, mode: 'math' });
    expect(needsLoad(DEFAULT_SETTINGS, after, true)).toBe(true);
    expect(needsLoad(after, after, true)).toBe(false);
    expect(needsLoad(after, after, false)).toBe(true);
  });
});

describe('share records name the resolved commit', () => {
  it('records the commit the loaded hub model resolved to', () => {
    const hub = { endpoint: 'http://127.0.0.1:9/', repo: 'boxed-e2e/tiny', revision: 'main', commit: 'a'.repeat(40), offline: false };
    const r = recordFromRun({ run: finished(TEXT), settings: DEFAULT_SETTINGS, model: { ...model, name: 'boxed-e2e/tiny@main', hub } })!;
    expect(r.model).toEqual({ endpoint: hub.endpoint, repo: hub.repo, revision: 'main', commit: hub.commit });
    // an answer written by another model (its history entry names it) keeps that model
    const other = recordFromRun({ run: finished(TEXT), settings: DEFAULT_SETTINGS, model: { ...model, hub }, entryModel: 'someone/else@v2' })!;
    expect(other.model).toEqual({ endpoint: DEFAULT_SETTINGS.endpoint, repo: 'someone/else', revision: 'v2' });
  });
});

describe('share records of a heavy run', () => {
  const heavyRequest = { prompt: request.prompt, mode: 'math' as const, problem: 'What is 2 + 3?', samples: 3, select: 'genselect' as const, maxTokens: 512, sampling: request.sampling };
  const candidate = (text: string, answer: string | null, stop: 'eos' | 'max-tokens') => ({ text, tokens: 9, stop, answer });
  const heavy = {
    ...newHeavyRun('h1', 'math', 'What is 2 + 3?', heavyRequest, 1000),
    candidates: [
      candidate('<think>\n2 + 3 = 6\n</think>\n\n$\\boxed{6}$', '6', 'eos'),
      candidate(TEXT, '5', 'eos'),
      candidate('<think>\nhmm', null, 'max-tokens'),
    ],
    rounds: [{ candidates: [0, 1, 2], text: 'Solution 1 adds correctly.\nJudgment: 1', tokens: 12, promptTokens: 40, summaryChars: 90, done: true, skipped: false, judgment: 1, pick: 1 }],
    result: { chosen: 1, answer: '5', vote: majorityVote(['6', '5', null]), tally: tallyAnswers(['6', '5', null]), skipped: false },
  };

  it('carries the chosen solution as the answer and every candidate in the heavy field, through a link', async () => {
    const input = recordFromHeavy({ heavy, settings: DEFAULT_SETTINGS, model })!;
    expect(input).toMatchObject({ answer: 'The sum is $\\boxed{5}$.', reasoning: 'Add them: 2 + 3 = 5.', extracted: '5', sampling: request.sampling });
    expect(input.heavy).toEqual({
      n: 3,
      candidates: [
        { answer: '6', stop: 'eos' },
        { answer: '5', stop: 'eos' },
        { answer: null, stop: 'max-tokens' },
      ],
      tally: [
        { answer: '5', votes: 1 },
        { answer: '6', votes: 1 },
      ],
      method: 'genselect',
      chosen: 1,
      judgment: 'Solution 1 adds correctly.\nJudgment: 1',
    });
    const link = await encodeShare(input, { base: 'http://127.0.0.1:5173/' });
    const back = await decodeShare(link.url);
    expect(back.heavy).toEqual(input.heavy);
  });

  it('re-runs a heavy link in heavy mode with as many solutions, and a single-answer link with one', async () => {
    const input = recordFromHeavy({ heavy: { ...heavy, candidates: [...heavy.candidates, heavy.candidates[0]] }, settings: DEFAULT_SETTINGS, model })!;
    const r = await decodeShare((await encodeShare(input, { base: 'http://127.0.0.1:5173/' })).url);
    expect(settingsForRecord(r)).toMatchObject({ samples: 4, select: 'genselect' });
    const three = await decodeShare((await encodeShare(recordFromHeavy({ heavy, settings: DEFAULT_SETTINGS, model })!, { base: 'http://127.0.0.1:5173/' })).url);
    expect(settingsForRecord(three).samples).toBe(1); // the app offers 1, 4, 8 or 16
    const single = await decodeShare((await encodeShare(recordFromRun({ run: finished(TEXT), settings: DEFAULT_SETTINGS, model })!, { base: 'http://127.0.0.1:5173/' })).url);
    expect(settingsForRecord(single).samples).toBe(1);
    const loaded = { ...DEFAULT_SETTINGS, samples: 1 as const };
    expect(needsLoad(loaded, { ...loaded, samples: 4 }, true)).toBe(true);
    expect(needsLoad({ ...loaded, samples: 4 }, { ...loaded, samples: 1 }, true)).toBe(false);
  });

  it('has nothing to share before a solution is chosen, and calls a skipped selection a majority', () => {
    expect(recordFromHeavy({ heavy: { ...heavy, result: undefined }, settings: DEFAULT_SETTINGS, model })).toBeNull();
    const agreed = recordFromHeavy({ heavy: { ...heavy, result: { ...heavy.result, skipped: true } }, settings: DEFAULT_SETTINGS, model })!;
    expect(agreed.heavy?.method).toBe('majority');
  });
});

describe('share records of a GGUF file', () => {
  const commit = 'c'.repeat(40);
  const file = 'Q4_K_M/OpenReasoning-Nemotron-1.5B-Q4_K_M.gguf';
  const hub = { endpoint: 'http://127.0.0.1:9', repo: 'org/m-GGUF', revision: 'main', commit, offline: false, file };
  const gguf = { ...model, name: `org/m-GGUF@main/${file}`, hub, gguf: { fileType: 'Q4_K_M', types: [{ type: 'Q4_K', tensors: 10, bytes: 1000 }] } } as ModelInfo;

  it('names the loaded .gguf file, and the link carries it back into the settings and the history', async () => {
    const input = recordFromRun({ run: finished(TEXT), settings: DEFAULT_SETTINGS, model: gguf })!;
    expect(input.model).toEqual({ endpoint: hub.endpoint, repo: hub.repo, revision: 'main', commit, file });
    const link = await encodeShare(input, { base: 'https://boxed.test/' });
    expect(link.fragment).toMatch(/^#s=2\./);
    const r = await decodeShare(link.url);
    expect(r.model?.file).toBe(file);
    const before = sanitizeSettings({ ...DEFAULT_SETTINGS, endpoint: hub.endpoint, repo: hub.repo, revision: commit, file: '' });
    const after = sanitizeSettings({ ...before, ...settingsForRecord(r) });
    expect(after).toMatchObject({ repo: 'org/m-GGUF', revision: commit, file });
    // the same repository's safetensors loaded: the file is another model, so it loads
    expect(needsLoad(before, after, true)).toBe(true);
    expect(needsLoad(after, after, true)).toBe(false);
    const entry = entryFromShare(r, 'shared-2', DEFAULT_SETTINGS, 1);
    expect(entry.model).toBe(`org/m-GGUF@${commit}/${file}`);
    const again = recordFromRun({ run: runFromEntry(entry, request.prompt), settings: { ...DEFAULT_SETTINGS, endpoint: hub.endpoint }, model: null, entryModel: entry.model })!;
    expect(again.model).toEqual({ endpoint: hub.endpoint, repo: hub.repo, revision: commit, commit, file });
  });

  it("a record without a file picks the repository's safetensors again", async () => {
    const r = await decodeShare((await encodeShare(recordFromRun({ run: finished(TEXT), settings: DEFAULT_SETTINGS, model })!, { base: 'https://boxed.test/' })).url);
    expect(settingsForRecord(r).file).toBe('');
  });

  it("reads the file and revision out of a history entry's model name", () => {
    const of = (entryModel: string) => recordFromRun({ run: finished(TEXT), settings: DEFAULT_SETTINGS, model: null, entryModel })!.model;
    expect(of('org/m@main/x.gguf')).toMatchObject({ repo: 'org/m', revision: 'main', file: 'x.gguf' });
    expect(of('org/m@refs/pr/3/q/x.gguf')).toMatchObject({ repo: 'org/m', revision: 'refs/pr/3', file: 'q/x.gguf' });
    expect(of('org/m@v2')).toEqual({ endpoint: DEFAULT_SETTINGS.endpoint, repo: 'org/m', revision: 'v2' });
  });
});
