import { describe, it, expect, beforeAll } from 'vitest';
import { nodeContext, PROFILES } from './test-device';
import { GpuContext } from './context';
import { readU32, readF32 } from './buffers';
import { uploadWeight, destroyWeight, gpuWeightBytes, rowsPerChunk } from './weights';
import { packWeight, packedBytes, rowLayout } from '../loader/quant';
import { randomNormal } from '../cpu/random';
import { BoxedError } from '../protocol/errors';

/** A context whose kernels see a small binding limit (Dawn will not lower limits below the WebGPU defaults). */
async function cappedContext(bindingBytes: number): Promise<GpuContext> {
  const base = await nodeContext(PROFILES.weak);
  return new GpuContext({ ...base.boxed, caps: { ...base.caps, limits: { ...base.caps.limits, maxStorageBufferBindingSize: bindingBytes } } });
}

describe('uploadWeight', () => {
  let small: GpuContext;
  let full: GpuContext;
  beforeAll(async () => {
    small = await cappedContext(64 * 1024);
    full = await nodeContext(PROFILES.full);
  });

  it('keeps a weight that fits in one chunk, byte for byte', async () => {
    const p = packWeight(randomNormal(45 * 333, 1), 45, 333, 'q4');
    const w = uploadWeight(full, 'w', p);
    expect(w.chunks.length).toBe(1);
    expect(w.chunks[0]).toMatchObject({ rowStart: 0, rows: 45 });
    expect(w.chunks[0].data.label).toBe('w');
    expect(Array.from(await readU32(full, w.chunks[0].data, p.data.length))).toEqual(Array.from(p.data));
    // q4's scales are inside its words: no scales buffer
    expect(w.chunks[0].scales).toBeNull();
    expect(gpuWeightBytes(w)).toBe(packedBytes(45, 333, 'q4'));
    expect(packedBytes(45, 333, 'q4')).toBe(45 * (36 + 4 + 4 * 3) * 4);
    destroyWeight(w);
    expect(w.chunks.length).toBe(0);
  });

  it.each([
    ['q4', 1000, 600], // 32 groups = 4 superblocks: 576 B rows, 113 -> 112 a chunk (even)
    ['q8', 777, 301], // 25 groups: 800 B rows, 81 -> 80 a chunk (even)
    ['f16', 333, 257], // 668 B rows: 98 a chunk
    ['f32', 333, 257], // 1332 B rows: 49 -> 48 a chunk (even)
  ] as const)('splits %s [%i cols, %i rows] by whole, even row counts under a 64 KiB binding', async (format, cols, rows) => {
    const p = packWeight(randomNormal(rows * cols, cols), rows, cols, format);
    const w = uploadWeight(small, 'big', p);
    const per = rowsPerChunk(small, rows, p.wordsPerRow, p.groupsPerRow);
    expect(per % 2).toBe(0);
    expect(per * p.wordsPerRow * 4).toBeLessThanOrEqual(64 * 1024);
    expect((per + 2) * p.wordsPerRow * 4).toBeGreaterThan(64 * 1024);
    expect(w.chunks.length).toBe(Math.ceil(rows / per));
    let next = 0;
    for (const [i, c] of w.chunks.entries()) {
      expect(c.rowStart).toBe(next);
      expect(c.data.size).toBeLessThanOrEqual(64 * 1024);
      expect(c.data.label).toBe(`big#${i}`);
      const words = await readU32(small, c.data, c.rows * p.wordsPerRow);
      expect(Array.from(words)).toEqual(Array.from(p.data.subarray(c.rowStart * p.wordsPerRow, (c.rowStart + c.rows) * p.wordsPerRow)));
      if (p.scales) {
        const s = await readF32(small, c.scales!, c.rows * p.groupsPerRow);
        expect(Array.from(s)).toEqual(Array.from(p.scales.subarray(c.rowStart * p.groupsPerRow, (c.rowStart + c.rows) * p.groupsPerRow)));
      } else {
        expect(c.scales).toBeNull();
      }
      next += c.rows;
    }
    expect(next).toBe(rows);
    expect(gpuWeightBytes(w)).toBe(packedBytes(rows, cols, format));
    destroyWeight(w);
  });

  it('plans the 1.5B embedding in f16 and q4 under a 128 MiB binding', () => {
    const limit = 128 * 1024 * 1024;
    const ctx = { caps: { limits: { maxStorageBufferBindingSize: limit, maxBufferSize: 2 ** 32 } } } as GpuContext;
    // f16: 768 words a row -> 43690 rows a chunk -> 4 chunks; q4: 6 superblocks, 216 words -> 155344 >= 151936
    // rows: one chunk
    expect(rowsPerChunk(ctx, 151936, 768, 0)).toBe(43690);
    expect(rowLayout(1536, 'q4')).toEqual({ wordsPerRow: 216, groupsPerRow: 0 });
    expect(rowsPerChunk(ctx, 151936, 216, 0)).toBe(151936);
  });

  it('refuses a row too wide to bind, with a typed error', () => {
    const tiny = { caps: { limits: { maxStorageBufferBindingSize: 1024, maxBufferSize: 2 ** 32 } } } as GpuContext;
    expect(() => rowsPerChunk(tiny, 10, 300, 0)).toThrow(BoxedError);
    expect(() => rowsPerChunk(tiny, 10, 300, 0)).toThrow(/binding limit/);
  });
});
