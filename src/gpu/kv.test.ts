import { describe, it, expect, beforeAll } from 'vitest';
import { nodeContext, PROFILES } from './test-device';
import type { GpuContext } from './context';
import { writeBuffer, readBuffer } from './buffers';
import { KvCache, planKvBytes } from './kv';
import { BoxedError } from '../protocol/errors';
import { randomNormal } from '../cpu/random';

describe('planKvBytes', () => {
  it('counts K and V for every layer in the format', () => {
    expect(planKvBytes({ nLayers: 28, kvDim: 256, heads: 2, slots: 1, context: 32768, format: 'f16' })).toBe(28 * 2 * 32768 * 256 * 2);
    expect(planKvBytes({ nLayers: 3, kvDim: 6, heads: 3, slots: 5, context: 7, format: 'f32' })).toBe(3 * 2 * 5 * 7 * 6 * 4);
    // q8: a byte a value and an f32 scale per (position, kv head): 264 bytes a position at 1.5B (f16: 512)
    expect(planKvBytes({ nLayers: 28, kvDim: 256, heads: 2, slots: 1, context: 32768, format: 'q8' })).toBe(28 * 2 * 32768 * (256 + 2 * 4));
  });
});

describe.each(Object.entries(PROFILES))('KvCache on the %s profile', (_name, profile) => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await nodeContext(profile);
  });

  it('allocates one K and one V buffer per layer of the planned size', () => {
    const shape = { nLayers: 3, kvDim: 10, heads: 1, slots: 2, context: 33, format: 'f16' as const };
    const kv = new KvCache(ctx, shape);
    expect(kv.bytes).toBe(planKvBytes(shape));
    for (let l = 0; l < 3; l++) {
      expect(kv.k(l).size).toBeGreaterThanOrEqual(2 * 33 * 10 * 2);
      expect(kv.k(l)).not.toBe(kv.v(l));
    }
    kv.destroy();
  });

  it('throws OutOfMemory with the needed bytes and the limit when a layer does not fit one buffer', () => {
    const limit = Math.min(ctx.caps.limits.maxStorageBufferBindingSize, ctx.caps.limits.maxBufferSize);
    const context = Math.ceil(limit / (256 * 2)) + 1; // one slot of one layer just over the limit
    let err: unknown;
    try {
      new KvCache(ctx, { nLayers: 28, kvDim: 256, heads: 2, slots: 1, context, format: 'f16' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BoxedError);
    const b = err as BoxedError;
    expect(b.name).toBe('OutOfMemory');
    expect(b.detail).toEqual({ neededBytes: context * 256 * 2, limitBytes: limit });
    expect(b.message).toContain(String(limit));
  });

  it('rejects an odd kvDim for f16, a q8 head dimension not a multiple of 4 and non-positive sizes', () => {
    expect(() => new KvCache(ctx, { nLayers: 1, kvDim: 7, heads: 1, slots: 1, context: 4, format: 'f16' })).toThrow(BoxedError);
    expect(() => new KvCache(ctx, { nLayers: 1, kvDim: 8, heads: 1, slots: 0, context: 4, format: 'f32' })).toThrow(BoxedError);
    expect(() => new KvCache(ctx, { nLayers: 1, kvDim: 12, heads: 2, slots: 1, context: 4, format: 'q8' })).toThrow(/multiple of 4/);
    expect(() => new KvCache(ctx, { nLayers: 1, kvDim: 12, heads: 5, slots: 1, context: 4, format: 'q8' })).toThrow(BoxedError);
  });

  // f16/f32: kvDim 6 (one head); q8: kvDim 8 in 2 heads of 4, the scales region after the codes copied too
  it.each([
    ['f16', 6, 1],
    ['f32', 6, 1],
    ['q8', 8, 2],
  ] as const)('copySlot copies the first positions of a slot in every layer (%s)', async (format, kvDim, heads) => {
    const shape = { nLayers: 2, kvDim, heads, slots: 3, context: 10, format };
    const kv = new KvCache(ctx, shape);
    // regions of [3 slots][10 positions][row words]: the values, and for q8 the scales
    const rowWords = format === 'q8' ? [kvDim / 4, heads] : [(kvDim * (format === 'f16' ? 2 : 4)) / 4];
    const words = rowWords.reduce((a, w) => a + 3 * 10 * w, 0);
    expect(kv.k(0).size).toBe(words * 4);
    const data = [0, 1, 2, 3].map((i) => new Uint32Array(randomNormal(words, 100 + i).buffer));
    const bufs = [kv.k(0), kv.v(0), kv.k(1), kv.v(1)];
    bufs.forEach((b, i) => writeBuffer(ctx, b, 0, data[i]));
    const enc = ctx.device.createCommandEncoder();
    kv.copySlot(enc, 2, 0, 7);
    ctx.submit([enc.finish()]);
    for (const [i, b] of bufs.entries()) {
      const got = new Uint32Array(await readBuffer(ctx, b, words * 4));
      const want = data[i].slice();
      let base = 0;
      for (const w of rowWords) {
        want.copyWithin(base, base + 2 * 10 * w, base + 2 * 10 * w + 7 * w);
        base += 3 * 10 * w;
      }
      expect(Array.from(got)).toEqual(Array.from(want));
    }
    kv.destroy();
  });

  it('copySlot copies a slot larger than its scratch buffer, in chunks', async () => {
    const shape = { nLayers: 1, kvDim: 64, heads: 1, slots: 2, context: 333, format: 'f16' as const };
    const kv = new KvCache(ctx, shape, { scratchBytes: 1000 }); // 42 624 bytes a slot: 43 chunks (the last partial)
    const words = (2 * 333 * 64) / 2;
    const k = new Uint32Array(randomNormal(words, 7).buffer);
    const v = new Uint32Array(randomNormal(words, 8).buffer);
    writeBuffer(ctx, kv.k(0), 0, k);
    writeBuffer(ctx, kv.v(0), 0, v);
    const enc = ctx.device.createCommandEncoder();
    kv.copySlot(enc, 0, 1, 333);
    ctx.submit([enc.finish()]);
    const slot = words / 2;
    expect(Array.from(new Uint32Array(await readBuffer(ctx, kv.k(0), slot * 4, slot * 4)))).toEqual(Array.from(k.subarray(0, slot)));
    expect(Array.from(new Uint32Array(await readBuffer(ctx, kv.v(0), slot * 4, slot * 4)))).toEqual(Array.from(v.subarray(0, slot)));
    kv.destroy();
  });
});
