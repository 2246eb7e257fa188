// History slice: the list of solved problems as kept in IndexedDB (see history-db.ts). The slice only
// mirrors what the database holds; the client writes to both.
import type { StateCreator } from 'zustand';
import type { GenerateStats, SamplingParams, StopReason } from '../protocol/engine';
import type { ErrorInfo } from '../protocol/errors';
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
