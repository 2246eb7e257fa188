import { describe, expect, it } from 'vitest';
import { BoxedError } from '../protocol/errors';
import { blobSource, bytesSource, memoryProvider } from './source';

const data = new Uint8Array(257).map((_, i) => (i * 31 + 7) & 0xff);

describe('byte sources', () => {
  it.each([
    ['bytes', bytesSource('f.bin', data)],
    ['blob', blobSource('f.bin', new Blob([data as BlobPart]))],
  ])('%s: reads ranges and refuses reads past the end', async (_kind, src) => {
    expect(src.size).toBe(257);
    expect(Array.from(await src.read(250, 7))).toEqual(Array.from(data.subarray(250)));
    expect(Array.from(await src.read(3, 0))).toEqual([]);
    const err = await src.read(250, 8).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BoxedError);
    expect((err as BoxedError).name).toBe('ModelFormat');
    expect((err as BoxedError).file).toBe('f.bin');
    await expect(src.read(-1, 2)).rejects.toThrow(/bad read range/);
  });

  it('memory provider: found, missing, no prototype names', async () => {
    const p = memoryProvider({ 'a.json': data });
    expect((await p.open('a.json'))?.size).toBe(257);
    expect(await p.open('b.json')).toBeNull();
    expect(await p.open('toString')).toBeNull();
  });
});
