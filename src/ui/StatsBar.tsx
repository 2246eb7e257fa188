// Live numbers of the answer on screen: time to first token, prefill and decode speed, tokens so far.
import { useEffect, useState } from 'react';
import { runNumbers, type Run } from '../state/run';
import { formatDuration, formatPerSecond } from './units';

export function useNow(active: boolean, everyMs = 250): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [active, everyMs]);
  return active ? now : Date.now();
}

export function StatsBar({ run, now }: { run: Run; now: number }) {
  const n = runNumbers(run, now);
  return (
    <dl className="stats" aria-label="Generation statistics">
      <div>
        <dt>First token</dt>
        <dd>{formatDuration(n.timeToFirstTokenMs)}</dd>
      </div>
      <div>
        <dt>Prefill</dt>
        <dd>{formatPerSecond(n.prefillTokensPerSecond)}</dd>
      </div>
      <div>
        <dt>Decode</dt>
        <dd>{formatPerSecond(n.decodeTokensPerSecond)}</dd>
      </div>
      <div>
        <dt>Tokens</dt>
        <dd data-testid="token-count">{n.tokens.toLocaleString()}</dd>
      </div>
    </dl>
  );
}
