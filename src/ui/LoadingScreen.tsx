// Loading: one bar per phase (download per file with bytes, MB/s and ETA; conversion; shader
// compilation; warm-up), as the engine reports them.
import type { LoadPhase } from '../protocol/engine';
import { etaSeconds, LOAD_PHASES, phaseFraction, type LoadProgress } from '../state/load-progress';
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

function Files({ p }: { p: LoadProgress }) {
  if (p.files.length === 0) return <p className="muted">Asking the hub for the model files…</p>;
  return (
    <ul className="file-list" aria-label="Files">
      {p.files.map((f) => {
        const eta = etaSeconds(f);
        const done = f.total > 0 && f.loaded >= f.total;
        const detail = `${formatBytes(f.loaded)} of ${f.total > 0 ? formatBytes(f.total) : '?'}${done ? '' : ` · ${formatRate(f.bytesPerSecond)} · ETA ${eta === undefined ? '–' : formatDuration(eta * 1000)}`}`;
        return (
          <li key={f.file}>
            <ProgressBar label={f.file} fraction={f.total > 0 ? f.loaded / f.total : undefined} detail={detail} state={done ? 'done' : 'active'} />
          </li>
        );
      })}
    </ul>
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
        {settings.weights.toUpperCase()} weights, {settings.context.toLocaleString()} tokens of context.
      </p>
      <ol className="phases">
        {LOAD_PHASES.map((ph) => {
          const st = stateOf(p, ph);
          const step = ph === 'download' ? undefined : p[ph];
          const detail = ph === 'download' ? undefined : step && step.total > 0 ? `${step.done} / ${step.total}${step.item && st === 'active' ? ` · ${step.item}` : ''}` : st === 'done' ? 'done' : '';
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
