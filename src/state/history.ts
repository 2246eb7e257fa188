// History slice: the list of solved problems as kept in IndexedDB (see history-db.ts). The slice only
// mirrors what the database holds; the client writes to both.
import type { StateCreator } from 'zustand';
import type { GenerateStats, SamplingParams, StopReason } from '../protocol/engine';
import type { ErrorInfo } from '../protocol/errors';
import type { HeavyRun } from './heavy';
import type { Run } from './run';
import type { UiMode } from './settings';
import type { Boxed } from './store';

/** 'running' in the database after a reload means the tab died mid-answer: the text so far is kept. */
export type HistoryStatus = 'running' | 'done' | 'stopped' | 'error';

export interface HistoryEntry {
  id: string;
  createdAt: number;
  updatedAt: number;
  mode: UiMode;
  problem: string;
  text: string;
  tokens: number;
  status: HistoryStatus;
  stop?: StopReason;
  error?: ErrorInfo;
  stats?: GenerateStats;
  sampling: SamplingParams;
  maxTokens: number;
  model: string;
  thinkingMs?: number;
  thinkingTokens?: number;
  /** A heavy-mode run: every candidate and the selection (text is then the chosen candidate's). */
  heavy?: HeavyRun;
}

export function statusOf(run: Run): HistoryStatus {
  if (!run.stop) return 'running';
  if (run.stop === 'error' || run.error) return 'error';
  if (run.stop === 'aborted') return 'stopped';
  return 'done';
}

export function entryFromRun(run: Run, model: string, createdAt: number, now: number): HistoryEntry {
  return {
    id: run.id,
    createdAt,
    updatedAt: now,
    mode: run.mode,
    problem: run.problem,
    text: run.text,
    tokens: run.tokens,
    status: statusOf(run),
    stop: run.stop,
    error: run.error,
    stats: run.stats,
    sampling: run.request.sampling,
    maxTokens: run.request.maxTokens,
    model,
    thinkingMs: run.thinkMs,
    thinkingTokens: run.thinkTokens,
  };
}

export function heavyStatusOf(run: HeavyRun): HistoryStatus {
  if (run.error) return 'error';
  if (!run.result) return 'running';
  return run.stopped ? 'stopped' : 'done';
}

/** A heavy run as a history entry; its text is the chosen candidate's (or the first one's). */
export function entryFromHeavy(run: HeavyRun, model: string, createdAt: number, now: number): HistoryEntry {
  const shown = run.candidates[run.result?.chosen ?? 0];
  return {
    id: run.id,
    createdAt,
    updatedAt: now,
    mode: run.mode,
    problem: run.problem,
    text: shown?.text ?? '',
    tokens: run.candidates.reduce((a, c) => a + c.tokens, 0),
    status: heavyStatusOf(run),
    stop: run.stopped ? 'aborted' : run.result ? 'eos' : undefined,
    error: run.error,
    sampling: run.request.sampling,
    maxTokens: run.request.maxTokens,
    model,
    heavy: run,
  };
}

/** A stored heavy run back on screen; one cut off by a reload shows as stopped. */
export function heavyFromEntry(e: HistoryEntry): HeavyRun | null {
  if (!e.heavy) return null;
  return e.status === 'running' ? { ...e.heavy, stopped: true } : e.heavy;
}

/** A stored entry back as a run to show (and to continue from, when a model is loaded). */
export function runFromEntry(e: HistoryEntry, messages: Run['request']['prompt']): Run {
  const stop: StopReason | undefined = e.status === 'running' ? 'aborted' : e.stop;
  return {
    id: e.id,
    mode: e.mode,
    problem: e.problem,
    request: { prompt: messages, maxTokens: e.maxTokens, sampling: e.sampling },
    text: e.text,
    base: '',
    tokens: e.tokens,
    baseTokens: 0,
    startedAt: e.createdAt,
    thinkEndAt: e.thinkingMs !== undefined ? e.createdAt + e.thinkingMs : undefined,
    thinkTokens: e.thinkingTokens,
    thinkMs: e.thinkingMs,
    // A reasoning cut off before `</think>` (stopped, interrupted) was written from creation to the last save.
    priorThinkMs: e.thinkingMs === undefined && !e.text.includes('</think>') ? Math.max(0, e.updatedAt - e.createdAt) : 0,
    lastTokenAt: e.updatedAt,
    stats: e.stats,
    stop,
    error: e.error,
  };
}

export interface HistorySlice {
  history: ReadonlyArray<HistoryEntry>;
  /** Newest first. */
  setHistory(entries: ReadonlyArray<HistoryEntry>): void;
  upsertHistory(entry: HistoryEntry): void;
  removeHistory(id: string): void;
}

const newestFirst = (a: HistoryEntry, b: HistoryEntry) => b.createdAt - a.createdAt;

export const createHistorySlice: StateCreator<Boxed, [], [], HistorySlice> = (set) => ({
  history: [],
  setHistory: (entries) => set({ history: [...entries].sort(newestFirst) }),
  upsertHistory: (entry) =>
    set((s) => ({ history: [entry, ...s.history.filter((e) => e.id !== entry.id)].sort(newestFirst) })),
  removeHistory: (id) => set((s) => ({ history: s.history.filter((e) => e.id !== id) })),
});
