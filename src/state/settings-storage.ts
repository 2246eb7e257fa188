// Keeps the settings across visits in localStorage, validated on the way back in.
import { sanitizeSettings, type Settings } from './settings';
import type { BoxedStore } from './store';

const KEY = 'boxed.settings.v1';

export function readSettings(storage: Pick<Storage, 'getItem'>): Settings | null {
  try {
    const raw = storage.getItem(KEY);
    if (!raw) return null;
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed === 'object' && parsed !== null ? sanitizeSettings(parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Loads stored settings into the store, then writes every change back. Returns the unsubscribe. */
export function persistSettings(store: BoxedStore, storage: Pick<Storage, 'getItem' | 'setItem'>): () => void {
  const stored = readSettings(storage);
  if (stored) store.getState().updateSettings(stored);
  return store.subscribe((s, prev) => {
    if (s.settings === prev.settings) return;
    try {
      storage.setItem(KEY, JSON.stringify(s.settings));
    } catch {
      // storage full or blocked: settings simply do not persist
    }
  });
}
