// GGUF q, k and v rows stacked into row chunks (uploadGgml): with a binding limit small enough that pieces
// cross the q/k and k/v boundaries, every chunk holds exactly the stacked rows (q and k in RoPE-quad order,
// v as stored), pieces are whole quads, and q, k, v of one type are one chunk when they fit in a binding.
import { describe, it, expect, beforeAll } from 'vitest';
import { nodeContext, PROFILES } from './test-device';
import { GpuContext } from './context';
import { readBuffer } from './buffers';
import { destroyWeight } from './weights';
import { uploadGgml, ggmlRopeOrder } from './model';
import type { GgmlTensors } from '../loader/gguf/checkpoint';
import { ggmlTypeByName, typeBytes, type GgmlTypeName } from '../loader/gguf/blocks';
import { randomUniform } from '../cpu/random';

const COLS = 256;
const HEAD_DIM = 4;
// q: 10 heads, k: 6 heads (not tile multiples of the 12-row pieces below), v: as many rows as k
const ROWS = [10 * HEAD_DIM, 6 * HEAD_DIM, 6 * HEAD_DIM];
const NAMES = ['q', 'k', 'v'];

function tensors(types: GgmlTypeName[], seed: number): { g: GgmlTensors; bytes: Uint8Array[] } {
  const bytes = NAMES.map((_, i) => Uint8Array.from(randomUniform(ROWS[i] * typeBytes(ggmlTypeByName(types[i]), COLS), seed + i, 0, 256), Math.floor));
  const g: GgmlTensors = {
    type: (name) => types[NAMES.indexOf(name)],
    readRows: (name, start, count) => {
      const i = NAMES.indexOf(name);
      const rb = bytes[i].length / ROWS[i];
      return Promise.resolve(bytes[i].slice(start * rb, (start + count) * rb));
    },
  };
  return { g, bytes };
}

/** Row r of the stack as uploaded: q and k rows in RoPE-quad order, v rows as stored. */
function expectedRow(types: GgmlTypeName[], bytes: Uint8Array[], r: number): Uint8Array {
  let i = 0;
  while (r >= ROWS[i]) r -= ROWS[i++];
  const src = i < 2 ? ggmlRopeOrder(ROWS[i] / HEAD_DIM, HEAD_DIM)[r] : r;
  const rb = typeBytes(ggmlTypeByName(types[i]), COLS);
  return bytes[i].subarray(src * rb, (src + 1) * rb);
}

async function upload(ctx: GpuContext, types: GgmlTypeName[], seed: number) {
  const { g, bytes } = tensors(types, seed);
  const orders = [ggmlRopeOrder(ROWS[0] / HEAD_DIM, HEAD_DIM), ggmlRopeOrder(ROWS[1] / HEAD_DIM, HEAD_DIM), null];
  const w = await uploadGgml(ctx, 'qkv', g, NAMES, ROWS, COLS, false, orders);
  try {
    expect(w.rows).toBe(ROWS[0] + ROWS[1] + ROWS[2]);
    let next = 0;
    for (const c of w.chunks) {
      expect(c.rowStart).toBe(next);
      next += c.rows;
      const data = new Uint8Array(await readBuffer(ctx, c.data, c.rows * c.wordsPerRow * 4));
      for (let r = 0; r < c.rows; r++) {
        const want = expectedRow(types, bytes, c.rowStart + r);
        expect(c.format).toBe(types[c.rowStart + r < ROWS[0] + ROWS[1] ? 0 : 2]);
        expect(data.subarray(r * c.wordsPerRow * 4, r * c.wordsPerRow * 4 + want.length)).toEqual(want);
      }
    }
    expect(next).toBe(w.rows);
    return w.chunks.map((c) => c.rows);
  } finally {
    destroyWeight(w);
  }
}

describe('uploadGgml: q, k and v stacked by rows', () => {
  let full: GpuContext;
  let capped: GpuContext;
  beforeAll(async () => {
    full = await nodeContext(PROFILES.full);
    // 14 Q4_K rows a binding: pieces of 12 rows (whole quads), crossing q/k at row 40 and k/v at row 64
    capped = new GpuContext({ ...full.boxed, caps: { ...full.caps, limits: { ...full.caps.limits, maxStorageBufferBindingSize: 14 * 144 } } });
  });

  it('one type: one chunk when it fits, else 12-row pieces across the tensor boundaries', async () => {
    expect(await upload(full, ['Q4_K', 'Q4_K', 'Q4_K'], 1)).toEqual([88]);
    expect(await upload(capped, ['Q4_K', 'Q4_K', 'Q4_K'], 2)).toEqual([12, 12, 12, 12, 12, 12, 12, 4]);
  });

  it('a v of another type: q and k stacked, v apart in its own type', async () => {
    expect(await upload(full, ['Q4_K', 'Q4_K', 'Q6_K'], 3)).toEqual([64, 24]);
    // 2016 bytes: 9 Q6_K rows of 212 (210 padded to words), 8 as whole quads
    expect(await upload(capped, ['Q4_K', 'Q4_K', 'Q6_K'], 4)).toEqual([12, 12, 12, 12, 12, 4, 8, 8, 8]);
  });
});
