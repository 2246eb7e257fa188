// Loading: one bar per phase (download per file with bytes and state, all files together with one MB/s and
// ETA; conversion; shader compilation; warm-up), as the engine reports them. A file being retried keeps its
// bytes so far and says "retrying (2 of 6) in 4 s"; a file read from the cache says so.
import type { LoadPhase } from '../protocol/engine';
import { downloadTotals, fileDone, LOAD_PHASES, phaseFraction, type FileProgress, type LoadProgress } from '../state/load-progress';
import { useBoxed } from '../state/store';
import { useController } from './controller-context';
import { ProgressBar } from './ProgressBar';
import { formatBytes, formatDuration, formatRate } from './units';

const PHASE_LABEL: Record<LoadPhase, string> = {
  download: 'Download',
  convert: 'Convert weights',
  compile: 'Compile shaders',
  warmup: 'Warm up',
};

function stateOf(p: LoadProgress, phase: LoadPhase): 'waiting' | 'active' | 'done' {
  const a = LOAD_PHASES.indexOf(phase);
  const b = LOAD_PHASES.indexOf(p.phase);
  return a < b ? 'done' : a === b ? 'active' : 'waiting';
}

/** A running step that reports no steps of its own (one long warm-up step) shows a moving bar. */
function indeterminate(p: LoadProgress, phase: LoadPhase, st: 'waiting' | 'active' | 'done'): boolean {
  if (st !== 'active' || phase === 'download') return false;
  const s = p[phase];
  return s.total <= 1 && s.done < Math.max(1, s.total);
}

/** "retrying (2 of 6) in 4 s", "verifying", "1.2 MB/s", or "" for a finished file. */
function fileStatus(f: FileProgress): string {
  if (f.state === 'retrying' && f.retry) return `retrying (${f.retry.attempt} of ${f.retry.of}) in ${Math.max(1, Math.round(f.retry.inMs / 1000))} s`;
  if (f.state === 'verifying') return 'verifying';
  if (fileDone(f)) return '';
  return formatRate(f.bytesPerSecond);
}

function Files({ p }: { p: LoadProgress }) {
  if (p.files.length === 0) return <p className="muted">Asking the hub for the model files…</p>;
  const fromCache = p.revision?.cached === true;
  return (
    <ul className="file-list" aria-label="Files">
      {p.files.map((f) => {
        const done = fileDone(f);
        const status = fileStatus(f);
        const detail = `${formatBytes(f.loaded)} of ${f.total > 0 ? formatBytes(f.total) : '?'}${status ? ` · ${status}` : done && fromCache ? ' · from the cache' : ''}`;
        return (
          <li key={f.file} data-state={f.state ?? (done ? 'done' : 'downloading')}>
            <ProgressBar label={f.file} fraction={f.total > 0 ? (done ? 1 : Math.min(f.loaded / f.total, 0.999)) : undefined} detail={detail} state={done ? 'done' : 'active'} />
            {f.state === 'retrying' && <span className="visually-hidden" role="status">{`${f.file}: ${status}`}</span>}
          </li>
        );
      })}
    </ul>
  );
}

function downloadDetail(p: LoadProgress): string | undefined {
  if (p.files.length === 0) return undefined;
  const t = downloadTotals(p);
  const moving = t.bytesPerSecond > 0 ? ` · ${formatRate(t.bytesPerSecond)} · ETA ${t.eta === undefined ? '–' : formatDuration(t.eta * 1000)}` : '';
  return `${formatBytes(t.loaded)} of ${formatBytes(t.total)}${moving}`;
}

function RevisionLine({ p }: { p: LoadProgress }) {
  const r = p.revision;
  if (!r) return null;
  const where = r.offline ? 'from this browser’s cache (the hub did not answer)' : r.cached ? 'from this browser’s cache' : 'downloading into this browser’s cache';
  return (
    <p className="muted small" data-testid="revision-line">
      {r.revision} → commit <span className="mono">{r.commit.slice(0, 10)}</span>, {where}.
    </p>
  );
}

export function LoadingScreen() {
  const phase = useBoxed((s) => s.phase);
  const settings = useBoxed((s) => s.settings);
  const controller = useController();
  if (phase.kind !== 'loading') return null;
  const p = phase.progress;
  return (
    <section className="card loading" aria-labelledby="loading-title" aria-busy="true">
      <h2 id="loading-title">Loading {settings.repo}</h2>
      <p className="muted">
        {settings.weights.toUpperCase()} weights, {settings.kv} KV cache, {settings.context.toLocaleString()} tokens of context.
      </p>
      <RevisionLine p={p} />
      <ol className="phases">
        {LOAD_PHASES.map((ph) => {
          const st = stateOf(p, ph);
          const step = ph === 'download' ? undefined : p[ph];
          const detail = ph === 'download' ? downloadDetail(p) : step && step.total > 0 ? `${step.done} / ${step.total}${step.item && st === 'active' ? ` · ${step.item}` : ''}` : st === 'done' ? 'done' : '';
          return (
            <li key={ph} className={`phase phase-${st}`} data-phase={ph}>
              <ProgressBar label={PHASE_LABEL[ph]} fraction={indeterminate(p, ph, st) ? undefined : phaseFraction(p, ph)} detail={detail} state={st} />
              {ph === 'download' && st !== 'waiting' && <Files p={p} />}
            </li>
          );
        })}
      </ol>
      <button type="button" className="secondary" onClick={() => void controller.unload()}>
        Cancel
      </button>
    </section>
  );
}
