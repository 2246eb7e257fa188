// Streaming upload: piece by piece into binding-sized chunks gives the GPU the same bytes as packing the whole
// matrix at once (uploadWeight), for every format, with pieces that straddle nothing and chunks cut by a small
// binding limit; interleaved pairs (rowMultiple 2) are never split.
import { describe, expect, it } from 'vitest';
import { nodeContext } from './test-device';
import { streamWeight } from './weight-stream';
import { uploadWeight, type GpuWeight } from './weights';
import { packWeight } from '../loader/quant';
import { readU32 } from './buffers';
import { randomNormal } from '../cpu/random';
import type { GpuContext } from './context';

async function bytesOf(ctx: GpuContext, w: GpuWeight): Promise<{ rows: number[]; data: number[][]; scales: number[][] }> {
  const data: number[][] = [];
  const scales: number[][] = [];
  for (const c of w.chunks) {
    data.push([...(await readU32(ctx, c.data, c.rows * w.wordsPerRow))]);
    if (c.scales) scales.push([...(await readU32(ctx, c.scales, c.rows * w.groupsPerRow))]);
  }
  return { rows: w.chunks.map((c) => c.rows), data, scales };
}

describe('streamWeight', () => {
  it.each(['q4', 'q8', 'f16', 'f32'] as const)('%s: the same chunks and bytes as uploading the packed whole', async (format) => {
    // 8 KiB bindings: a 300-column row is 1200 bytes as f32 (6 rows a chunk), 192 as q4 (a superblock and 2 groups: 42 rows a chunk)
    const ctx = await nodeContext({ capLimits: { maxStorageBufferBindingSize: 8192 } });
    const rows = 100;
    const cols = 300;
    const m = randomNormal(rows * cols, 7);
    const reads: [number, number][] = [];
    const streamed = await streamWeight(ctx, 'w', rows, cols, format, async (start, count) => {
      reads.push([start, count]);
      return m.slice(start * cols, (start + count) * cols);
    }, { pieceValues: 3 * cols, rowMultiple: 2 });
    const whole = uploadWeight(ctx, 'w', packWeight(m, rows, cols, format));
    expect(streamed.chunks.length).toBeGreaterThan(1);
    expect(await bytesOf(ctx, streamed)).toEqual(await bytesOf(ctx, whole));
    // pieces of 2 rows (3 rounded down to whole pairs), each inside one chunk, covering every row once
    expect(reads.every(([s, c]) => s % 2 === 0 && c % 2 === 0 && c <= 2)).toBe(true);
    expect(reads.reduce((n, [, c]) => n + c, 0)).toBe(rows);
  });
});
