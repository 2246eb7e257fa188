// Load progress folding, fractions per phase and the download ETA.
import { describe, expect, it } from 'vitest';
import { applyLoadEvent, EMPTY_PROGRESS, etaSeconds, phaseFraction } from './load-progress';

describe('load progress', () => {
  it('folds events and computes fractions and ETA', () => {
    let p = EMPTY_PROGRESS;
    p = applyLoadEvent(p, { type: 'phase', phase: 'download' });
    p = applyLoadEvent(p, { type: 'download', file: 'a', loaded: 100, total: 400, bytesPerSecond: 50 });
    p = applyLoadEvent(p, { type: 'download', file: 'b', loaded: 0, total: 600, bytesPerSecond: 0 });
    expect(phaseFraction(p, 'download')).toBeCloseTo(0.1, 12);
    expect(phaseFraction(p, 'convert')).toBe(0);
    expect(etaSeconds(p.files[0])).toBe(6);
    expect(etaSeconds(p.files[1])).toBeUndefined();
    p = applyLoadEvent(p, { type: 'download', file: 'a', loaded: 400, total: 400, bytesPerSecond: 80 });
    p = applyLoadEvent(p, { type: 'download', file: 'b', loaded: 300, total: 600, bytesPerSecond: 80 });
    expect(phaseFraction(p, 'download')).toBeCloseTo(0.7, 12);
    expect(etaSeconds(p.files[0])).toBe(0);
    p = applyLoadEvent(p, { type: 'convert', tensor: 't', done: 1, total: 3 });
    expect(phaseFraction(p, 'download')).toBe(1);
    expect(phaseFraction(p, 'convert')).toBeCloseTo(1 / 3, 12);
    p = applyLoadEvent(p, { type: 'warmup', done: 2, total: 2 });
    expect(phaseFraction(p, 'compile')).toBe(1);
    expect(phaseFraction(p, 'warmup')).toBe(1);
    expect(p.files).toHaveLength(2);
  });
});
