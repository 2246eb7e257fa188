// Heavy mode on screen: N candidates streaming side by side, then GenSelect's rounds, then the result.
// Pure functions fold the engine's event batches into a HeavyRun; the slice holds the one on screen.
// A HeavyRun is also what the history keeps (every candidate and the selection).
import type { StateCreator } from 'zustand';
import type { HeavyEvent, HeavyRequest, HeavyResult, HeavySelect, HeavyStats, StopReason, Tally, VoteResult } from '../protocol/engine';
import type { ErrorInfo } from '../protocol/errors';
import type { UiMode } from './settings';
import type { Boxed } from './store';

const THINK_END = '</think>';

export interface HeavyCandidateView {
  text: string;
  tokens: number;
  stop?: StopReason;
  answer: string | null;
  firstTokenAt?: number;
  lastTokenAt?: number;
  /** Thinking time, fixed once `</think>` appeared. */
  thinkMs?: number;
  /** Tokens written before a Continue (the engine counts the continued run's tokens from 1). */
  tokensBefore?: number;
}

export interface HeavyRoundView {
  candidates: number[];
  text: string;
  tokens: number;
  promptTokens: number;
  summaryChars: number;
  prefill?: { done: number; total: number };
  done: boolean;
  skipped: boolean;
  judgment: number | null;
  pick: number | null;
}

export interface HeavyRun {
  id: string;
  mode: UiMode;
  problem: string;
  request: HeavyRequest;
  select: HeavySelect;
  startedAt: number;
  prefill?: { done: number; total: number };
  candidates: HeavyCandidateView[];
  rounds: HeavyRoundView[];
  /** Set when the run ended. */
  result?: { chosen: number | null; answer: string | null; vote: VoteResult; tally: Tally; skipped: boolean };
  stats?: HeavyStats;
  /** GenSelect could not run; the vote's choice stands. */
  selectionError?: ErrorInfo;
  finishedAt?: number;
  stopped?: boolean;
  error?: ErrorInfo;
}

export function newHeavyRun(id: string, mode: UiMode, problem: string, request: HeavyRequest, now: number): HeavyRun {
  return {
    id,
    mode,
    problem,
    request,
    select: request.select,
    startedAt: now,
    candidates: Array.from({ length: request.samples }, (_, i) => ({ text: request.continueFrom?.[i] ?? '', tokens: 0, answer: null })),
    rounds: [],
  };
}

function withCandidate(run: HeavyRun, seq: number, f: (c: HeavyCandidateView) => HeavyCandidateView): HeavyRun {
  if (seq < 0 || seq >= run.candidates.length) return run;
  const candidates = run.candidates.slice();
  candidates[seq] = f(candidates[seq]);
  return { ...run, candidates };
}

function withRound(run: HeavyRun, round: number, f: (r: HeavyRoundView) => HeavyRoundView): HeavyRun {
  const rounds = run.rounds.slice();
  while (rounds.length <= round) rounds.push({ candidates: [], text: '', tokens: 0, promptTokens: 0, summaryChars: 0, done: false, skipped: false, judgment: null, pick: null });
  rounds[round] = f(rounds[round]);
  return { ...run, rounds };
}

export function applyHeavyEvent(run: HeavyRun, e: HeavyEvent, now: number): HeavyRun {
  switch (e.type) {
    case 'prefill':
      return { ...run, prefill: { done: e.done, total: e.total } };
    case 'token':
      return withCandidate(run, e.seq, (c) => {
        const text = c.text + e.text;
        const firstTokenAt = c.firstTokenAt ?? now;
        const ended = c.thinkMs === undefined && text.includes(THINK_END, Math.max(0, c.text.length - THINK_END.length));
        return { ...c, text, tokens: Math.max(c.tokens, (c.tokensBefore ?? 0) + e.count), firstTokenAt, lastTokenAt: now, thinkMs: ended ? now - firstTokenAt : c.thinkMs };
      });
    case 'candidate-end':
      return withCandidate(run, e.seq, (c) => ({ ...c, stop: e.stop, answer: e.answer, lastTokenAt: c.lastTokenAt ?? now }));
    case 'selection-start':
      return withRound(run, e.round, (r) => ({ ...r, candidates: e.candidates, promptTokens: e.promptTokens, summaryChars: e.summaryChars }));
    case 'selection-prefill':
      return withRound(run, e.round, (r) => ({ ...r, prefill: { done: e.done, total: e.total } }));
    case 'selection-token':
      return withRound(run, e.round, (r) => ({ ...r, text: r.text + e.text, tokens: Math.max(r.tokens, e.count) }));
    case 'selection-end':
      return withRound(run, e.round, (r) => ({ ...r, done: true, skipped: e.skipped, judgment: e.judgment, pick: e.pick }));
    case 'stats':
      return { ...run, stats: e.stats };
  }
}

export function applyHeavyEvents(run: HeavyRun, events: readonly HeavyEvent[], now: number): HeavyRun {
  return events.reduce((r, e) => applyHeavyEvent(r, e, now), run);
}

/** The finished run: the result's texts and answers are authoritative; the streamed timings are kept. */
export function finishHeavyRun(run: HeavyRun, r: HeavyResult, now: number): HeavyRun {
  const candidates = r.candidates.map((c, i) => ({ ...(run.candidates[i] ?? { tokens: 0 }), text: c.text, answer: c.answer, stop: c.stop, tokens: Math.max(run.candidates[i]?.tokens ?? 0, (run.candidates[i]?.tokensBefore ?? 0) + c.ids.length) }));
  const rounds = r.selection.rounds.map((x, i) => ({
    ...(run.rounds[i] ?? { tokens: 0 }),
    candidates: x.candidates,
    text: x.text,
    promptTokens: x.promptTokens,
    summaryChars: x.summaryChars,
    done: true,
    skipped: x.skipped,
    judgment: x.judgment,
    pick: x.pick,
  }));
  const stopped = r.candidates.some((c) => c.stop === 'aborted') || r.selection.rounds.some((x) => x.stop === 'aborted');
  return {
    ...run,
    candidates,
    rounds,
    stats: r.stats,
    selectionError: r.selection.error,
    finishedAt: now,
    stopped,
    result: { chosen: r.chosen, answer: r.answer, vote: r.vote, tally: r.tally, skipped: r.selection.skipped },
  };
}

export interface HeavySlice {
  /** The heavy run on screen (being written, finished, or reopened from history); null when none. */
  heavy: HeavyRun | null;
  heavyStarted(id: string, mode: UiMode, problem: string, request: HeavyRequest, now: number): void;
  heavyEvents(events: readonly HeavyEvent[], now: number): void;
  heavyFinished(result: HeavyResult, now: number): void;
  heavyFailed(error: ErrorInfo): void;
  /** Continue the stopped run on screen with `request` (its continueFrom / continueDone made by continueHeavyRequest). */
  heavyContinued(request: HeavyRequest): void;
  showHeavy(run: HeavyRun | null): void;
}

/** Whether a heavy run can be continued: it was stopped before its end (a candidate or the selection). */
export function canContinueHeavy(run: HeavyRun | null): boolean {
  return run !== null && run.stopped === true;
}

/** The request that continues a stopped run: every candidate from its text, the ended ones kept as they are. */
export function continueHeavyRequest(run: HeavyRun, maxTokens: number): HeavyRequest {
  return {
    ...run.request,
    maxTokens,
    continueFrom: run.candidates.map((c) => c.text),
    continueDone: run.candidates.map((c) => (c.stop === undefined || c.stop === 'aborted' ? null : c.stop)),
  };
}

/** The run as it continues: the stopped candidates running again, the selection and the result cleared. */
export function continuedHeavyRun(run: HeavyRun, request: HeavyRequest): HeavyRun {
  return {
    id: run.id,
    mode: run.mode,
    problem: run.problem,
    request,
    select: run.select,
    startedAt: run.startedAt,
    candidates: run.candidates.map((c) => (c.stop === undefined || c.stop === 'aborted' ? { ...c, stop: undefined, tokensBefore: c.tokens } : c)),
    rounds: [],
  };
}

export const createHeavySlice: StateCreator<Boxed, [], [], HeavySlice> = (set, get) => ({
  heavy: null,
  heavyStarted: (id, mode, problem, request, now) =>
    set({ heavy: newHeavyRun(id, mode, problem, request, now), run: null, phase: { kind: 'generating', runId: id, stopping: false } }),
  heavyEvents: (events, now) => {
    const h = get().heavy;
    if (!h || get().phase.kind !== 'generating') return;
    set({ heavy: applyHeavyEvents(h, events, now) });
  },
  heavyFinished: (result, now) => {
    const h = get().heavy;
    set({ heavy: h ? finishHeavyRun(h, result, now) : null, phase: { kind: 'ready' } });
  },
  heavyFailed: (error) => {
    const h = get().heavy;
    set({ heavy: h ? { ...h, error, finishedAt: h.finishedAt } : null, phase: { kind: 'error', error, during: 'generate' }, ...(error.name === 'DeviceLost' ? { model: null } : {}) });
  },
  heavyContinued: (request) => {
    const h = get().heavy;
    if (!h || get().phase.kind === 'generating') return;
    set({ heavy: continuedHeavyRun(h, request), run: null, phase: { kind: 'generating', runId: h.id, stopping: false } });
  },
  showHeavy: (heavy) => {
    if (get().phase.kind === 'generating') return;
    set({ heavy, ...(heavy ? { run: null } : {}) });
  },
});
