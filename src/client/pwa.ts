// The service worker (built by vite-plugin-pwa): registered once the page has loaded. A new version of the app
// is never activated by itself: the store learns that one is waiting, and the user reloads into it when no
// answer is being written (AppUpdateNotice).
/// <reference types="vite-plugin-pwa/vanillajs" />
import { registerSW } from 'virtual:pwa-register';
import type { BoxedStore } from '../state/store';

export function registerServiceWorker(store: BoxedStore): void {
  if (!('serviceWorker' in navigator)) return;
  const update = registerSW({
    onNeedRefresh: () => store.getState().setAppUpdate(() => update(true)),
    onOfflineReady: () => store.getState().setOfflineReady(true),
    onRegisterError: (e: unknown) => console.warn('service worker registration failed', e),
  });
}
