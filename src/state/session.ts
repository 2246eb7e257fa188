// Session slice: what the app is doing right now, as one union (never a set of booleans), and the
// answer on screen. Every transition is an action usable outside React (the client calls them).
import type { StateCreator } from 'zustand';
import type { GenerateEvent, GenerateRequest, GenerateResult, LoadEvent } from '../protocol/engine';
import type { ErrorInfo } from '../protocol/errors';
import { applyLoadEvent, EMPTY_PROGRESS, type LoadProgress } from './load-progress';
import { applyGenerateEvent, continueRun, failRun, finishRun, newRun, type Run } from './run';
import type { UiMode } from './settings';
import type { Boxed } from './store';

export type Phase =
  | { kind: 'idle' } // no model loaded: the start screen
  | { kind: 'loading'; progress: LoadProgress; startedAt: number }
  | { kind: 'ready' } // a model is loaded and nothing is running
  | { kind: 'generating'; runId: string; stopping: boolean }
  | { kind: 'error'; error: ErrorInfo; during: 'probe' | 'load' | 'generate' };

export interface SessionSlice {
  phase: Phase;
  /** The answer on screen (being written, finished, or reopened from history); null when none. */
  run: Run | null;
  /** The problem being typed. */
  draft: string;
  setDraft(text: string): void;

  loadStarted(now: number): void;
  loadEvent(e: LoadEvent): void;
  loadFinished(): void;
  /** A failed load, or any failure that leaves no model loaded. */
  loadFailed(error: ErrorInfo): void;
  unloaded(): void;

  runStarted(id: string, mode: UiMode, problem: string, request: GenerateRequest, now: number): void;
  runContinued(request: GenerateRequest, now: number): void;
  generateEvent(e: GenerateEvent, now: number): void;
  stopRequested(): void;
  runFinished(result: GenerateResult, now: number): void;
  runFailed(error: ErrorInfo): void;
  /** Shows a stored run (reopened from history) without running anything. */
  showRun(run: Run | null): void;
  dismissError(): void;
}

export const createSessionSlice: StateCreator<Boxed, [], [], SessionSlice> = (set, get) => ({
  phase: { kind: 'idle' },
  run: null,
  draft: '',
  setDraft: (draft) => set({ draft }),

  loadStarted: (now) => set({ phase: { kind: 'loading', progress: EMPTY_PROGRESS, startedAt: now } }),
  loadEvent: (e) => {
    const p = get().phase;
    if (p.kind !== 'loading') return;
    set({ phase: { ...p, progress: applyLoadEvent(p.progress, e) } });
  },
  loadFinished: () => set({ phase: { kind: 'ready' } }),
  loadFailed: (error) => set({ phase: { kind: 'error', error, during: 'load' }, model: null }),
  unloaded: () => set({ phase: { kind: 'idle' }, model: null }),

  runStarted: (id, mode, problem, request, now) =>
    set({ run: newRun(id, mode, problem, request, now), heavy: null, phase: { kind: 'generating', runId: id, stopping: false } }),
  runContinued: (request, now) => {
    const run = get().run;
    if (!run) return;
    set({ run: continueRun(run, request, now), phase: { kind: 'generating', runId: run.id, stopping: false } });
  },
  generateEvent: (e, now) => {
    const run = get().run;
    if (!run || get().phase.kind !== 'generating') return;
    set({ run: applyGenerateEvent(run, e, now) });
  },
  stopRequested: () => {
    const p = get().phase;
    if (p.kind === 'generating') set({ phase: { ...p, stopping: true } });
  },
  runFinished: (result, now) => {
    const run = get().run;
    set({ run: run ? finishRun(run, result, now) : null, phase: result.error ? errorPhase(result.error) : { kind: 'ready' }, ...lostModel(result.error) });
  },
  runFailed: (error) => {
    const run = get().run;
    set({ run: run ? failRun(run, error) : null, phase: errorPhase(error), ...lostModel(error) });
  },
  showRun: (run) => {
    if (get().phase.kind === 'generating') return;
    set({ run, ...(run ? { heavy: null } : {}) });
  },
  dismissError: () => set((s) => ({ phase: s.model ? { kind: 'ready' } : { kind: 'idle' } })),
});

function errorPhase(error: ErrorInfo): Phase {
  return { kind: 'error', error, during: 'generate' };
}

/** A lost device takes the loaded model with it: the engine must load again (controller.recover). */
function lostModel(error: ErrorInfo | undefined): { model?: null } {
  return error?.name === 'DeviceLost' ? { model: null } : {};
}
