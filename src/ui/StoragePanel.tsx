// Storage: every model kept in this browser (the OPFS model cache) with its size, date, commit and verified
// state; delete one; the site's storage use against its quota, and whether the browser keeps it persistently.
// The copy the loaded model reads from cannot be deleted while it is loaded.
import { useCallback, useEffect, useState } from 'react';
import { openOpfsStore } from '../loader/opfs-store';
import { deleteCachedModel, listCachedModels, type CachedEntry } from '../loader/model-cache';
import { readPersisted, storageEstimate } from '../client/storage';
import { boxed, useBoxed } from '../state/store';
import { formatBytes } from './units';

const PERSIST_TEXT = {
  granted: 'Persistent: the browser keeps these files until you delete them.',
  denied: 'Not persistent: the browser may clear these files when the disk runs low (it declined to keep them).',
  unknown: 'Not persistent yet: Boxed asks the browser to keep them when a model is first downloaded.',
  unsupported: 'This browser does not say whether it keeps these files.',
} as const;

export function StoragePanel() {
  const phase = useBoxed((s) => s.phase.kind);
  const hub = useBoxed((s) => s.model?.hub);
  const inUse = hub ? `${hub.endpoint} ${hub.repo} ${hub.commit}` : null;
  const persist = useBoxed((s) => s.persist);
  const [entries, setEntries] = useState<CachedEntry[] | null>(null);
  const [estimate, setEstimate] = useState<{ usage: number; quota: number } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    const store = await openOpfsStore();
    setEntries(store ? await listCachedModels(store) : []);
    setEstimate(await storageEstimate());
    await readPersisted(boxed);
  }, []);

  useEffect(() => {
    if (phase !== 'loading') void refresh().catch((e: unknown) => setProblem(String(e)));
  }, [phase, refresh]);

  const remove = async (e: CachedEntry) => {
    setBusy(e.commit);
    setProblem(null);
    try {
      const store = await openOpfsStore();
      if (store) await deleteCachedModel(store, e.endpoint, e.repo, e.commit);
    } catch (err) {
      setProblem(`Could not delete ${e.repo}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      setBusy(null);
      await refresh();
    }
  };

  return (
    <section className="card storage" aria-labelledby="storage-title">
      <h2 id="storage-title">Storage</h2>
      {estimate && (
        <p className="small" data-testid="storage-usage">
          {formatBytes(estimate.usage)} used of {formatBytes(estimate.quota)} this site may use.
        </p>
      )}
      {persist !== 'unknown' || entries?.length ? <p className="muted small" data-testid="storage-persist">{PERSIST_TEXT[persist]}</p> : null}
      {entries === null ? (
        <p className="muted small">Looking for cached models…</p>
      ) : entries.length === 0 ? (
        <p className="muted small">No model is kept in this browser yet. A model you load from the hub is kept here, so the next load needs no network.</p>
      ) : (
        <ul className="storage-list" aria-label="Cached models">
          {entries.map((e) => {
            const used = `${e.endpoint} ${e.repo} ${e.commit}` === inUse;
            const state = e.verified ? 'verified' : e.complete ? 'unverified' : `partial, ${Math.floor((e.bytes / Math.max(1, e.totalBytes)) * 100)}%`;
            return (
              <li key={`${e.endpoint} ${e.repo} ${e.commit}`} data-testid="cached-model">
                <div className="storage-name">
                  <strong>{e.repo}</strong> <span className="mono small">{e.commit.slice(0, 10)}</span>
                  {e.refs.length > 0 && <span className="muted small"> ({e.refs.join(', ')})</span>}
                </div>
                <div className="muted small">
                  {formatBytes(e.bytes)} · {new Date(e.completedAt ?? e.createdAt).toLocaleString()} · <span className={e.verified ? 'status-done' : 'status-running'}>{state}</span>
                  {e.endpoint !== 'https://huggingface.co' && <> · {e.endpoint}</>}
                </div>
                <button type="button" className="secondary" disabled={used || busy !== null || phase === 'loading'} onClick={() => void remove(e)} aria-label={`Delete ${e.repo} ${e.commit.slice(0, 10)}`} title={used ? 'In use by the loaded model' : 'Delete'}>
                  {busy === e.commit ? 'Deleting…' : used ? 'In use' : 'Delete'}
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {problem && <p className="error-text small">{problem}</p>}
    </section>
  );
}
