import { describe, expect, it } from 'vitest';
import type { HeavyEvent } from '../protocol/engine';
import { EventBatcher } from './event-batch';

/** A scheduler the test advances by hand: one "frame" runs everything scheduled so far. */
function manualFrames() {
  let queue: (() => void)[] = [];
  return {
    schedule: (run: () => void) => void queue.push(run),
    frame: () => {
      const q = queue;
      queue = [];
      q.forEach((r) => r());
    },
    pending: () => queue.length,
  };
}

const tok = (seq: number, text: string, count: number): HeavyEvent => ({ type: 'token', seq, text, count });

describe('EventBatcher', () => {
  it('sends once per frame, merging each candidate’s consecutive tokens', () => {
    const frames = manualFrames();
    const sent: HeavyEvent[][] = [];
    const b = new EventBatcher((e) => sent.push(e), frames.schedule);
    for (let step = 1; step <= 5; step++) b.push([tok(0, `a${step}`, step), tok(1, `b${step}`, step)]);
    expect(sent).toHaveLength(0);
    expect(frames.pending()).toBe(1);
    frames.frame();
    expect(sent).toEqual([[tok(0, 'a1a2a3a4a5', 5), tok(1, 'b1b2b3b4b5', 5)]]);
    frames.frame();
    expect(sent).toHaveLength(1); // nothing new, nothing sent
  });

  it('keeps each stream in order around its end and selection events', () => {
    const frames = manualFrames();
    const sent: HeavyEvent[][] = [];
    const b = new EventBatcher((e) => sent.push(e), frames.schedule);
    const end: HeavyEvent = { type: 'candidate-end', seq: 0, stop: 'eos', answer: '4' };
    b.push([tok(0, 'x', 1), tok(1, 'y', 1)]);
    b.push([end, tok(1, 'z', 2)]);
    b.push([{ type: 'selection-token', round: 0, text: 'J', count: 1 }, { type: 'selection-token', round: 0, text: 'udg', count: 2 }]);
    b.push([{ type: 'selection-end', round: 0, skipped: false, judgment: 1, pick: 1 }]);
    b.push([{ type: 'selection-token', round: 1, text: 'a', count: 1 }]);
    b.flush();
    expect(sent).toEqual([
      [
        tok(0, 'x', 1),
        tok(1, 'yz', 2),
        end,
        { type: 'selection-token', round: 0, text: 'Judg', count: 2 },
        { type: 'selection-end', round: 0, skipped: false, judgment: 1, pick: 1 },
        { type: 'selection-token', round: 1, text: 'a', count: 1 },
      ],
    ]);
    // a token after its stream's end event starts a new event (never merged across the end)
    b.push([tok(2, 'p', 1), { type: 'candidate-end', seq: 2, stop: 'aborted', answer: null }, tok(2, 'q', 2)]);
    b.flush();
    expect(sent[1].map((e) => e.type)).toEqual(['token', 'candidate-end', 'token']);
    frames.frame(); // the frame scheduled before flush() finds nothing left
    expect(sent).toHaveLength(2);
  });
});
