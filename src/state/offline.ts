// Offline slice: a waiting new version of the app (the function that activates it), whether the app shell is
// cached for offline use, and whether the browser granted persistent storage for the model cache.
import type { StateCreator } from 'zustand';
import type { Boxed } from './store';

export type PersistState = 'unknown' | 'granted' | 'denied' | 'unsupported';

export interface OfflineSlice {
  /** Activates the waiting version and reloads; null when there is none. */
  appUpdate: (() => Promise<void>) | null;
  offlineReady: boolean;
  persist: PersistState;
  setAppUpdate(apply: (() => Promise<void>) | null): void;
  setOfflineReady(ready: boolean): void;
  setPersist(p: PersistState): void;
}

export const createOfflineSlice: StateCreator<Boxed, [], [], OfflineSlice> = (set) => ({
  appUpdate: null,
  offlineReady: false,
  persist: 'unknown',
  setAppUpdate: (appUpdate) => set({ appUpdate }),
  setOfflineReady: (offlineReady) => set({ offlineReady }),
  setPersist: (persist) => set({ persist }),
});
