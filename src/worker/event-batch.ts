// Heavy-mode events leave the worker at most once per animation frame: events are buffered, and a
// candidate's consecutive token events (or a selection round's) are merged into one with the joined text
// and the latest count, so at N = 16 the main thread receives one small message a frame, not one per
// token. Order within a candidate is kept; flush() sends what is buffered at once (before a result).
import type { HeavyEvent } from '../protocol/engine';

export type Schedule = (run: () => void) => void;

/**
 * The next animation frame where the worker has requestAnimationFrame (Chromium and Firefox do), with a
 * 100 ms timer as well, whichever comes first: a hidden tab has no frames but still receives (and saves)
 * the stream. Without requestAnimationFrame, a ~60 Hz timer.
 */
export const nextFrame: Schedule = (run) => {
  const raf = (globalThis as { requestAnimationFrame?: (cb: () => void) => number }).requestAnimationFrame;
  if (!raf) {
    setTimeout(run, 16);
    return;
  }
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    run();
  };
  raf(once);
  setTimeout(once, 100);
};

/** Which stream a token event continues: a candidate, or a selection round. */
function streamKey(e: HeavyEvent): string | null {
  if (e.type === 'token') return `c${e.seq}`;
  if (e.type === 'selection-token') return `s${e.round}`;
  return null;
}

/** The stream an event belongs to, token or not (an end event closes its stream's merging). */
function ownerKey(e: HeavyEvent): string | null {
  if (e.type === 'token' || e.type === 'candidate-end') return `c${e.seq}`;
  if (e.type === 'selection-token' || e.type === 'selection-start' || e.type === 'selection-prefill' || e.type === 'selection-end') return `s${e.round}`;
  return null;
}

export class EventBatcher {
  private buffer: HeavyEvent[] = [];
  /** Index in the buffer of each stream's last token event, while it can still be extended. */
  private open = new Map<string, number>();
  private scheduled = false;

  constructor(
    private readonly send: (events: HeavyEvent[]) => void,
    private readonly schedule: Schedule = nextFrame,
  ) {}

  push(events: readonly HeavyEvent[]): void {
    for (const e of events) this.add(e);
    if (!this.scheduled && this.buffer.length > 0) {
      this.scheduled = true;
      this.schedule(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  /** Sends the buffered events now (nothing when empty). */
  flush(): void {
    if (this.buffer.length === 0) return;
    const out = this.buffer;
    this.buffer = [];
    this.open.clear();
    this.send(out);
  }

  private add(e: HeavyEvent): void {
    const key = streamKey(e);
    if (key !== null) {
      const at = this.open.get(key);
      const prev = at === undefined ? undefined : this.buffer[at];
      if (prev && (prev.type === 'token' || prev.type === 'selection-token') && prev.type === e.type) {
        this.buffer[at!] = { ...prev, text: prev.text + e.text, count: e.count } as HeavyEvent;
        return;
      }
      this.open.set(key, this.buffer.length);
      this.buffer.push(e);
      return;
    }
    const owner = ownerKey(e);
    if (owner !== null) this.open.delete(owner);
    this.buffer.push(e);
  }
}
