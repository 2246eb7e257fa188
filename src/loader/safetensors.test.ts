import { describe, expect, it } from 'vitest';
import { randomNormal } from '../cpu/random';
import { BoxedError } from '../protocol/errors';
import { decodeToF32, encodeFromF32, type Dtype } from './dtype';
import { parseSafetensors, readTensorF32 } from './safetensors';
import { safetensorsBytes, tensorOf } from './safetensors-write';
import { INDEX_FILE, openShards, parseShardIndex } from './sharded';
import { bytesSource, memoryProvider } from './source';

/** Values exactly representable in dtype (so a round trip must be exact). */
function representable(n: number, seed: number, dtype: Dtype): Float32Array {
  return decodeToF32(encodeFromF32(randomNormal(n, seed, 3), dtype), dtype);
}

/** A safetensors file from a raw header object and a data section of `dataBytes` bytes. */
function rawFile(header: unknown, dataBytes: number, headerText?: string): Uint8Array {
  const text = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  return out;
}

async function formatError(bytes: Uint8Array, name = 'bad.safetensors'): Promise<string> {
  try {
    await parseSafetensors(bytesSource(name, bytes));
  } catch (e) {
    expect(e).toBeInstanceOf(BoxedError);
    expect((e as BoxedError).name).toBe('ModelFormat');
    expect((e as BoxedError).file).toBe(name);
    return (e as BoxedError).message;
  }
  throw new Error('parseSafetensors accepted a malformed file');
}

describe('safetensors round trip', () => {
  it.each(['BF16', 'F16', 'F32'] as const)('%s values come back exactly, with shapes and metadata', async (dtype) => {
    const a = representable(37 * 13, 1, dtype);
    const b = representable(29, 2, dtype);
    const c = representable(3 * 5 * 7, 3, dtype);
    const bytes = await safetensorsBytes(
      [tensorOf('a.weight', dtype, [37, 13], a), tensorOf('b.bias', dtype, [29], b), tensorOf('c', dtype, [3, 5, 7], c)],
      { format: 'pt' },
    );
    // header padded to 8
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0);
    const st = await parseSafetensors(bytesSource('rt.safetensors', bytes));
    expect([...st.tensors.keys()]).toEqual(['a.weight', 'b.bias', 'c']);
    expect(st.metadata).toEqual({ format: 'pt' });
    expect(st.tensors.get('a.weight')?.shape).toEqual([37, 13]);
    expect(st.tensors.get('c')?.dtype).toBe(dtype);
    expect(Array.from(await readTensorF32(st.tensors.get('a.weight')!))).toEqual(Array.from(a));
    expect(Array.from(await readTensorF32(st.tensors.get('b.bias')!))).toEqual(Array.from(b));
    expect(Array.from(await readTensorF32(st.tensors.get('c')!))).toEqual(Array.from(c));
  });

  it('BF16 keeps the top 16 bits of f32 (rounded)', async () => {
    const x = randomNormal(101, 9);
    const bytes = await safetensorsBytes([tensorOf('x', 'BF16', [101], x)]);
    const back = await readTensorF32((await parseSafetensors(bytesSource('x', bytes))).tensors.get('x')!);
    for (let i = 0; i < x.length; i++) expect(Math.abs(back[i] - x[i])).toBeLessThanOrEqual(Math.abs(x[i]) * 2 ** -8);
  });

  it('writes chunked data and rejects a wrong element count', async () => {
    const x = representable(10, 4, 'F32');
    const bytes = await safetensorsBytes([{ name: 'x', dtype: 'F32', shape: [2, 5], data: () => [x.subarray(0, 3), x.subarray(3)] }]);
    expect(Array.from(await readTensorF32((await parseSafetensors(bytesSource('x', bytes))).tensors.get('x')!))).toEqual(Array.from(x));
    await expect(safetensorsBytes([{ name: 'x', dtype: 'F32', shape: [2, 6], data: () => [x] }])).rejects.toThrow(/12/);
  });
});

describe('safetensors malformed files', () => {
  const ok = { t: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] } };

  it('accepts the reference header and ignores __metadata__', async () => {
    const st = await parseSafetensors(bytesSource('ok', rawFile({ __metadata__: { format: 'pt' }, ...ok }, 24)));
    expect([...st.tensors.keys()]).toEqual(['t']);
  });

  it('file shorter than 8 bytes', async () => {
    expect(await formatError(new Uint8Array(5))).toMatch(/shorter than the 8-byte/);
  });
  it('header length past the end', async () => {
    const f = rawFile(ok, 24);
    new DataView(f.buffer).setBigUint64(0, BigInt(f.length), true);
    expect(await formatError(f)).toMatch(/past the end/);
  });
  it('absurd header length', async () => {
    const f = rawFile(ok, 24);
    new DataView(f.buffer).setBigUint64(0, 200_000_000n, true);
    expect(await formatError(f)).toMatch(/absurd/);
    new DataView(f.buffer).setBigUint64(0, 2n ** 60n, true);
    expect(await formatError(f)).toMatch(/absurd/);
  });
  it('header not JSON', async () => {
    expect(await formatError(rawFile(null, 24, '{"t": {"dtype": "F32",'))).toMatch(/not valid JSON/);
    expect(await formatError(rawFile(null, 0, '\xff\xfe'))).toMatch(/not valid JSON/);
  });
  it('header not an object', async () => {
    expect(await formatError(rawFile([1, 2], 0))).toMatch(/not a JSON object/);
    expect(await formatError(rawFile(null, 0, 'null'))).toMatch(/not a JSON object/);
  });
  it.each(['dtype', 'shape', 'data_offsets'])('entry missing %s', async (key) => {
    const entry: Record<string, unknown> = { ...ok.t };
    delete entry[key];
    const msg = await formatError(rawFile({ t: entry }, 24));
    expect(msg).toMatch(new RegExp(`tensor t: missing ${key}`));
  });
  it('unsupported and unknown dtypes', async () => {
    expect(await formatError(rawFile({ t: { dtype: 'I64', shape: [3], data_offsets: [0, 24] } }, 24))).toMatch(/unsupported dtype I64/);
    expect(await formatError(rawFile({ t: { dtype: 'Q4', shape: [3], data_offsets: [0, 24] } }, 24))).toMatch(/unknown dtype Q4/);
  });
  it('shape * dtype size != offsets span', async () => {
    expect(await formatError(rawFile({ t: { dtype: 'BF16', shape: [2, 3], data_offsets: [0, 24] } }, 24))).toMatch(/12 bytes but data_offsets span 24/);
  });
  it('bad shapes and offsets', async () => {
    expect(await formatError(rawFile({ t: { dtype: 'F32', shape: [2, -3], data_offsets: [0, 24] } }, 24))).toMatch(/shape/);
    expect(await formatError(rawFile({ t: { dtype: 'F32', shape: [6], data_offsets: [24, 0] } }, 24))).toMatch(/data_offsets/);
  });
  it('offsets out of range of the data section', async () => {
    expect(await formatError(rawFile(ok, 20))).toMatch(/out of range/);
  });
  it('overlapping tensors', async () => {
    const h = { a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [4], data_offsets: [12, 28] } };
    expect(await formatError(rawFile(h, 28))).toMatch(/a and b overlap/);
  });
  it('entry not an object', async () => {
    expect(await formatError(rawFile({ t: 5 }, 0))).toMatch(/tensor t: entry is not an object/);
  });
});

describe('sharded checkpoints', () => {
  it('two shards load the same tensors as one file', async () => {
    const a = representable(7 * 11, 5, 'BF16');
    const b = representable(13, 6, 'BF16');
    const c = representable(5 * 3, 7, 'BF16');
    const shard1 = await safetensorsBytes([tensorOf('a', 'BF16', [7, 11], a), tensorOf('b', 'BF16', [13], b)]);
    const shard2 = await safetensorsBytes([tensorOf('c', 'BF16', [5, 3], c)]);
    const s1 = 'model-00001-of-00002.safetensors';
    const s2 = 'model-00002-of-00002.safetensors';
    const index = parseShardIndex({ metadata: { total_size: 210 }, weight_map: { a: s1, b: s1, c: s2 } });
    expect(index.shards).toEqual([s1, s2]);
    const tensors = await openShards(memoryProvider({ [s1]: shard1, [s2]: new Blob([shard2 as BlobPart]) }), index);
    expect([...tensors.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(tensors.get('c')?.source.name).toBe(s2);
    expect(Array.from(await readTensorF32(tensors.get('a')!))).toEqual(Array.from(a));
    expect(Array.from(await readTensorF32(tensors.get('b')!))).toEqual(Array.from(b));
    expect(Array.from(await readTensorF32(tensors.get('c')!))).toEqual(Array.from(c));
  });

  it.each([
    [{ weight_map: { a: '../secret.safetensors' } }, /not a plain file name/],
    [{ weight_map: { a: 'dir/x.safetensors' } }, /not a plain file name/],
    [{ weight_map: { a: '..' } }, /not a plain file name/],
    [{ weight_map: { a: 3 } }, /not a file name/],
    [{ weight_map: {} }, /empty/],
    [{ metadata: {} }, /weight_map/],
    [[], /JSON object/],
  ])('rejects index %j', (json, msg) => {
    expect(() => parseShardIndex(json)).toThrow(msg);
    try {
      parseShardIndex(json);
    } catch (e) {
      expect((e as BoxedError).name).toBe('ModelFormat');
      expect((e as BoxedError).file).toBe(INDEX_FILE);
    }
  });

  it('missing shard, tensor in the wrong shard, tensor missing from its shard', async () => {
    const shard = await safetensorsBytes([tensorOf('a', 'F32', [2], new Float32Array([1, 2]))]);
    await expect(openShards(memoryProvider({}), parseShardIndex({ weight_map: { a: 's1.safetensors' } }))).rejects.toThrow(/shard s1.safetensors .* missing/);
    await expect(
      openShards(memoryProvider({ 's1.safetensors': shard, 's2.safetensors': shard }), parseShardIndex({ weight_map: { a: 's1.safetensors', z: 's2.safetensors' } })),
    ).rejects.toThrow(/tensor a is in s2.safetensors but the index says s1.safetensors/);
    await expect(
      openShards(memoryProvider({ 's1.safetensors': shard }), parseShardIndex({ weight_map: { a: 's1.safetensors', b: 's1.safetensors' } })),
    ).rejects.toThrow(/tensor b is listed in the index but missing/);
  });
});
