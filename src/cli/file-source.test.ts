import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoxedError } from '../protocol/errors';
import { dirProvider, fileSource } from './file-source';

let dir: string;
const data = new Uint8Array(1001).map((_, i) => (i * 13 + 5) & 0xff);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'boxed-fs-'));
  await writeFile(join(dir, 'w.bin'), data);
  await mkdir(join(dir, 'sub'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('file sources', () => {
  it('reads ranges with positioned reads and refuses reads past the end', async () => {
    const src = await fileSource(join(dir, 'w.bin'), 'w.bin');
    expect(src.size).toBe(1001);
    expect(Array.from(await src.read(997, 4))).toEqual(Array.from(data.subarray(997)));
    expect(Array.from(await src.read(0, 1001))).toEqual(Array.from(data));
    const err = await src.read(1000, 2).catch((e: unknown) => e);
    expect((err as BoxedError).name).toBe('ModelFormat');
    expect((err as BoxedError).file).toBe('w.bin');
  });

  it('dirProvider: files, missing files, folders, no escape', async () => {
    const p = dirProvider(dir);
    expect((await p.open('w.bin'))?.name).toBe('w.bin');
    expect(await p.open('nope.json')).toBeNull();
    expect(await p.open('sub')).toBeNull();
    await expect(p.open('../etc/passwd')).rejects.toThrow(/not allowed/);
    await expect(p.open('/etc/passwd')).rejects.toThrow(/not allowed/);
  });
});
