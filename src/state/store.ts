// The one store, built from slices. `boxed` is a vanilla store (usable from the client and tests
// without React); `useBoxed(selector)` is the React hook over it.
import { createStore, useStore } from 'zustand';
import { createHeavySlice, type HeavySlice } from './heavy';
import { createHistorySlice, type HistorySlice } from './history';
import { createModelSlice, type ModelSlice } from './model';
import { createOfflineSlice, type OfflineSlice } from './offline';
import { createSessionSlice, type SessionSlice } from './session';
import { createSettingsSlice, type SettingsSlice } from './settings';

export type Boxed = SettingsSlice & ModelSlice & SessionSlice & HistorySlice & HeavySlice & OfflineSlice;

export function createBoxedStore() {
  return createStore<Boxed>()((...a) => ({
    ...createSettingsSlice(...a),
    ...createModelSlice(...a),
    ...createSessionSlice(...a),
    ...createHistorySlice(...a),
    ...createHeavySlice(...a),
    ...createOfflineSlice(...a),
  }));
}

export type BoxedStore = ReturnType<typeof createBoxedStore>;

/** The app's store. Tests make their own with createBoxedStore(). */
export const boxed: BoxedStore = createBoxedStore();

export function useBoxed<T>(selector: (s: Boxed) => T): T {
  return useStore(boxed, selector);
}
