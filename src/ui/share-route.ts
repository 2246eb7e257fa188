// The shared-solution route: a URL fragment '#s=…' (share/codec.ts) shows that solution instead of
// the app's own screens. The fragment is read from the address and decoded here, in the page: nothing
// of it is ever sent anywhere. Leaving the route removes the fragment (a new history entry, so the
// browser's Back returns to the shared solution).
import { useEffect, useState, useSyncExternalStore } from 'react';
import type { ErrorInfo } from '../protocol/errors';
import { toErrorInfo } from '../protocol/errors';
import { decodeShare, shareFragment } from '../share/codec';
import type { ShareRecord } from '../share/record';

export type SharedLink =
  | { kind: 'opening'; fragment: string }
  | { kind: 'ok'; fragment: string; record: ShareRecord }
  | { kind: 'error'; fragment: string; error: ErrorInfo };

const listeners = new Set<() => void>();

function subscribe(onChange: () => void): () => void {
  listeners.add(onChange);
  window.addEventListener('hashchange', onChange);
  return () => {
    listeners.delete(onChange);
    window.removeEventListener('hashchange', onChange);
  };
}

const currentHash = () => window.location.hash;

/** Leaves the shared solution for the app (the address keeps its path and query). */
export function leaveSharedLink(): void {
  const { pathname, search } = window.location;
  window.history.pushState(null, '', pathname + search);
  for (const l of listeners) l();
}

/** The shared solution named by the address, or null when the address names none. */
export function useSharedLink(): SharedLink | null {
  const hash = useSyncExternalStore(subscribe, currentHash);
  const fragment = shareFragment(hash);
  const [state, setState] = useState<SharedLink | null>(null);
  useEffect(() => {
    if (fragment === null) return;
    let live = true;
    decodeShare(fragment).then(
      (record) => live && setState({ kind: 'ok', fragment, record }),
      (e: unknown) => live && setState({ kind: 'error', fragment, error: toErrorInfo(e) }),
    );
    return () => {
      live = false;
    };
  }, [fragment]);
  if (fragment === null) return null;
  return state?.fragment === fragment ? state : { kind: 'opening', fragment };
}
