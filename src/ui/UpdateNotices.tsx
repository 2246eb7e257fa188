// Two offers, never forced: a new version of the app (the service worker has it; reloading into it waits while
// an answer is being written), and a newer commit of the loaded model's branch on the hub (the cached copy
// stays until deleted in Storage).
import { useBoxed } from '../state/store';
import { useController } from './controller-context';

export function AppUpdateNotice() {
  const apply = useBoxed((s) => s.appUpdate);
  const generating = useBoxed((s) => s.phase.kind === 'generating' || s.phase.kind === 'loading');
  if (!apply) return null;
  return (
    <section className="card notice" role="status" aria-label="App update">
      <span>A new version of Boxed is ready.</span>
      <button type="button" className="primary" disabled={generating} onClick={() => void apply()} title={generating ? 'Available when the answer or load has finished' : undefined}>
        {generating ? 'Reload when this finishes' : 'Reload'}
      </button>
    </section>
  );
}

export function ModelUpdateNotice() {
  const hub = useBoxed((s) => s.model?.hub);
  const busy = useBoxed((s) => s.phase.kind === 'generating' || s.phase.kind === 'loading');
  const controller = useController();
  if (!hub) return null;
  if (hub.offline) {
    return (
      <p className="muted small" role="status" data-testid="offline-note">
        Offline: {hub.repo}@{hub.revision} loaded from this browser’s cache (commit {hub.commit.slice(0, 10)}).
      </p>
    );
  }
  if (!hub.newerCommit) return null;
  return (
    <section className="card notice" role="status" aria-label="Model update">
      <span>
        {hub.revision} of {hub.repo} has moved on the hub (commit {hub.newerCommit.slice(0, 10)}); the copy loaded is {hub.commit.slice(0, 10)}.
      </span>
      <button type="button" className="secondary" disabled={busy} onClick={() => void controller.loadUpdate()}>
        Download and load the new revision
      </button>
    </section>
  );
}
