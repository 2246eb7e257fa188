// Load progress as plain data, and the pure function that folds one engine LoadEvent into it.
// Downloads are tracked per file (bytes, rate); conversion, compilation and warm-up as done/total.
import type { LoadEvent, LoadPhase } from '../protocol/engine';

export const LOAD_PHASES: ReadonlyArray<LoadPhase> = ['download', 'convert', 'compile', 'warmup'];

type DownloadEvent = Extract<LoadEvent, { type: 'download' }>;

/** A file's download as its last event said (`state` is absent for sources that do not report it). */
export type FileProgress = Omit<DownloadEvent, 'type'>;

/** What the hub said about the revision: the commit, and whether the copy came from the cache. */
export type RevisionProgress = Omit<Extract<LoadEvent, { type: 'revision' }>, 'type'>;

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
  revision?: RevisionProgress;
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
    case 'revision':
      return { ...p, revision: { revision: e.revision, commit: e.commit, cached: e.cached, offline: e.offline, newerCommit: e.newerCommit } };
    case 'download': {
      const next: FileProgress = { file: e.file, loaded: e.loaded, total: e.total, bytesPerSecond: e.bytesPerSecond, state: e.state, retry: e.retry };
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

/** A file counts as finished only when its source says so (or, without states, when all its bytes are in). */
export function fileDone(f: FileProgress): boolean {
  return f.state !== undefined ? f.state === 'done' : f.total > 0 && f.loaded >= f.total;
}

/** All downloads together: bytes, the combined rate of the files still moving, and the time left at that rate. */
export function downloadTotals(p: LoadProgress): { loaded: number; total: number; bytesPerSecond: number; eta: number | undefined } {
  let loaded = 0;
  let total = 0;
  let rate = 0;
  for (const f of p.files) {
    loaded += f.loaded;
    total += f.total;
    if (!fileDone(f) && f.state !== 'retrying') rate += f.bytesPerSecond;
  }
  return { loaded, total, bytesPerSecond: rate, eta: rate > 0 && total > 0 ? Math.max(0, (total - loaded) / rate) : undefined };
}

/** Fraction 0..1 of a phase; a phase not started is 0, one announced finished is 1. */
export function phaseFraction(p: LoadProgress, phase: LoadPhase): number {
  const order = LOAD_PHASES.indexOf(phase);
  const current = LOAD_PHASES.indexOf(p.phase);
  if (order < current) return 1;
  if (phase === 'download') {
    const { loaded, total } = downloadTotals(p);
    // never a full bar while a file is unfinished (retrying, verifying)
    const all = total > 0 ? Math.min(1, loaded / total) : 0;
    return p.files.some((f) => !fileDone(f)) ? Math.min(all, 0.999) : all;
  }
  const s = p[phase];
  return s.total > 0 ? Math.min(1, s.done / s.total) : 0;
}
