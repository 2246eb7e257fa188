// Load progress as plain data, and the pure function that folds one engine LoadEvent into it.
// Downloads are tracked per file (bytes, rate); conversion, compilation and warm-up as done/total.
import type { LoadEvent, LoadPhase } from '../protocol/engine';

export const LOAD_PHASES: ReadonlyArray<LoadPhase> = ['download', 'convert', 'compile', 'warmup'];

export interface FileProgress {
  file: string;
  loaded: number;
  total: number;
  bytesPerSecond: number;
}

export interface StepProgress {
  done: number;
  total: number;
  /** What is being worked on (the tensor being converted). */
  item?: string;
}

export interface LoadProgress {
  /** The phase the engine last announced. */
  phase: LoadPhase;
  /** In the order the files first appeared. */
  files: ReadonlyArray<FileProgress>;
  convert: StepProgress;
  compile: StepProgress;
  warmup: StepProgress;
}

export const EMPTY_PROGRESS: LoadProgress = {
  phase: 'download',
  files: [],
  convert: { done: 0, total: 0 },
  compile: { done: 0, total: 0 },
  warmup: { done: 0, total: 0 },
};

export function applyLoadEvent(p: LoadProgress, e: LoadEvent): LoadProgress {
  switch (e.type) {
    case 'phase':
      return { ...p, phase: e.phase };
    case 'download': {
      const next: FileProgress = { file: e.file, loaded: e.loaded, total: e.total, bytesPerSecond: e.bytesPerSecond };
      const i = p.files.findIndex((f) => f.file === e.file);
      const files = i < 0 ? [...p.files, next] : p.files.map((f, j) => (j === i ? next : f));
      return { ...p, phase: 'download', files };
    }
    case 'convert':
      return { ...p, phase: 'convert', convert: { done: e.done, total: e.total, item: e.tensor } };
    case 'compile':
      return { ...p, phase: 'compile', compile: { done: e.done, total: e.total } };
    case 'warmup':
      return { ...p, phase: 'warmup', warmup: { done: e.done, total: e.total } };
  }
}

/** Seconds left for a file at its current rate; undefined when unknown (no rate yet or no total). */
export function etaSeconds(f: FileProgress): number | undefined {
  if (f.total <= 0 || f.bytesPerSecond <= 0) return undefined;
  return Math.max(0, (f.total - f.loaded) / f.bytesPerSecond);
}

/** Fraction 0..1 of a phase; a phase not started is 0, one announced finished is 1. */
export function phaseFraction(p: LoadProgress, phase: LoadPhase): number {
  const order = LOAD_PHASES.indexOf(phase);
  const current = LOAD_PHASES.indexOf(p.phase);
  if (order < current) return 1;
  if (phase === 'download') {
    const total = p.files.reduce((a, f) => a + f.total, 0);
    return total > 0 ? Math.min(1, p.files.reduce((a, f) => a + f.loaded, 0) / total) : 0;
  }
  const s = p[phase];
  return s.total > 0 ? Math.min(1, s.done / s.total) : 0;
}
