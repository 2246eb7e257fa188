// The browser's storage for the model cache, from the page: persistence (asked once, when a hub load starts:
// a browser may then keep the cache under storage pressure) and the usage/quota estimate.
import type { BoxedStore } from '../state/store';

export async function readPersisted(store: BoxedStore): Promise<void> {
  const st = globalThis.navigator?.storage;
  if (!st?.persisted) return store.getState().setPersist('unsupported');
  if (await st.persisted()) return store.getState().setPersist('granted');
  if (store.getState().persist === 'granted') store.getState().setPersist('unknown'); // revoked; a 'denied' answer stays shown
}

export async function askPersistentStorage(store: BoxedStore): Promise<void> {
  const st = globalThis.navigator?.storage;
  if (!st?.persist || !st.persisted) return store.getState().setPersist('unsupported');
  if (await st.persisted()) return store.getState().setPersist('granted');
  if (store.getState().persist === 'denied') return; // asked already
  store.getState().setPersist((await st.persist()) ? 'granted' : 'denied');
}

export async function storageEstimate(): Promise<{ usage: number; quota: number } | null> {
  const e = await globalThis.navigator?.storage?.estimate?.();
  return e && typeof e.quota === 'number' ? { usage: e.usage ?? 0, quota: e.quota } : null;
}
