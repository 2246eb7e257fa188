// For components that group answers by equivalence (the tally): loads the symbolic stage of
// answersEquivalent on first use and re-renders once it is there, so a verdict made with the literal
// stages alone is made again with the full comparison.
import { useEffect, useState } from 'react';
import { loadSymbolicEquivalence, symbolicEquivalenceLoaded } from '../reasoning/equivalence';

/** True once answersEquivalent compares symbolically; starts the (lazy) load. */
export function useSymbolicEquivalence(): boolean {
  const [ready, setReady] = useState(symbolicEquivalenceLoaded);
  useEffect(() => {
    if (ready) return;
    let live = true;
    loadSymbolicEquivalence().then(
      () => live && setReady(true),
      (e: unknown) => console.warn('symbolic answer comparison unavailable', e),
    );
    return () => {
      live = false;
    };
  }, [ready]);
  return ready;
}
