// Load progress folding, fractions per phase and the download ETA.
import { describe, expect, it } from 'vitest';
import { applyLoadEvent, downloadTotals, EMPTY_PROGRESS, etaSeconds, fileDone, phaseFraction, type LoadProgress } from './load-progress';

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

describe('download totals', () => {
  it('one combined rate and ETA over the moving files; a retried file never shows a full bar', () => {
    let p: LoadProgress = EMPTY_PROGRESS;
    p = applyLoadEvent(p, { type: 'revision', revision: 'main', commit: 'a'.repeat(40), cached: false, offline: false });
    p = applyLoadEvent(p, { type: 'download', file: 'config.json', loaded: 600, total: 600, bytesPerSecond: 0, state: 'done' });
    p = applyLoadEvent(p, { type: 'download', file: 'model.safetensors', loaded: 4e6, total: 10e6, bytesPerSecond: 2e6, state: 'downloading' });
    p = applyLoadEvent(p, { type: 'download', file: 'model-2.safetensors', loaded: 1e6, total: 2e6, bytesPerSecond: 1e6, state: 'downloading' });
    expect(p.revision).toEqual({ revision: 'main', commit: 'a'.repeat(40), cached: false, offline: false, newerCommit: undefined });
    const t = downloadTotals(p);
    expect(t).toEqual({ loaded: 5e6 + 600, total: 12e6 + 600, bytesPerSecond: 3e6, eta: (7e6) / 3e6 });
    // all bytes in but the hash not checked yet, or waiting to retry: not done, not a full bar, no rate counted
    p = applyLoadEvent(p, { type: 'download', file: 'model-2.safetensors', loaded: 2e6, total: 2e6, bytesPerSecond: 1e6, state: 'verifying' });
    p = applyLoadEvent(p, { type: 'download', file: 'model.safetensors', loaded: 10e6, total: 10e6, bytesPerSecond: 2e6, state: 'retrying', retry: { attempt: 2, of: 6, inMs: 4000 } });
    expect(p.files.map(fileDone)).toEqual([true, false, false]);
    expect(phaseFraction(p, 'download')).toBeLessThan(1);
    expect(downloadTotals(p).bytesPerSecond).toBe(1e6);
    p = applyLoadEvent(p, { type: 'download', file: 'model.safetensors', loaded: 10e6, total: 10e6, bytesPerSecond: 2e6, state: 'done' });
    p = applyLoadEvent(p, { type: 'download', file: 'model-2.safetensors', loaded: 2e6, total: 2e6, bytesPerSecond: 1e6, state: 'done' });
    expect(phaseFraction(p, 'download')).toBe(1);
  });
});
