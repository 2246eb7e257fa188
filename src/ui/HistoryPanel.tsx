// Every solved problem, newest first, kept in IndexedDB: reopen or delete. An entry still marked
// running that is not the answer on screen was cut off (reload or crash); its text so far is kept.
import { useBoxed } from '../state/store';
import type { HistoryEntry } from '../state/history';
import { useController } from './controller-context';
import { modeLabel } from './modes';

function statusLabel(e: HistoryEntry, live: boolean): string {
  if (e.status === 'running') return live ? 'writing…' : 'interrupted';
  if (e.status === 'stopped') return 'stopped';
  if (e.status === 'error') return e.error ? `failed: ${e.error.name}` : 'failed';
  return e.stop === 'max-tokens' ? 'token limit' : 'done';
}

export function HistoryPanel() {
  const history = useBoxed((s) => s.history);
  const current = useBoxed((s) => s.run?.id);
  const generating = useBoxed((s) => s.phase.kind === 'generating');
  const controller = useController();
  return (
    <nav className="card history" aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      {history.length === 0 ? (
        <p className="muted small">Solved problems are kept here, in this browser only.</p>
      ) : (
        <ul>
          {history.map((e) => {
            const live = generating && e.id === current;
            const title = e.problem.trim().split('\n')[0].slice(0, 80) || '(empty)';
            return (
              <li key={e.id} className={e.id === current ? 'current' : undefined} data-testid="history-entry">
                <button type="button" className="history-open" onClick={() => controller.openEntry(e.id)} disabled={generating} aria-current={e.id === current ? 'true' : undefined}>
                  <span className="history-title">{title}</span>
                  <span className="history-meta">
                    {modeLabel(e.mode)}
                    {e.heavy ? ` · ${e.heavy.candidates.length} solutions` : ''} · {new Date(e.createdAt).toLocaleString()} · <span className={`status status-${e.status}`}>{statusLabel(e, live)}</span>
                  </span>
                </button>
                <button type="button" className="icon" onClick={() => void controller.deleteEntry(e.id)} disabled={live} aria-label={`Delete “${title}”`} title="Delete">
                  ×
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </nav>
  );
}
