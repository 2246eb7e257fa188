// GGUF files built in memory with Boxed's writer: parsed back exactly, and every kind of malformed file
// refused with a one-line ModelFormat error after reading only a few bytes.
import { describe, expect, it } from 'vitest';
import { BoxedError } from '../../protocol/errors';
import { bytesSource, type ByteSource } from '../source';
import { dequantize } from './blocks';
import { ggufTensorName, parseGguf } from './parse';
import { quantize } from './quantize';
import { ggufHeader, tensorTypeFor, writeGguf, type GgufTensorToWrite, type GgufValue } from './write';
import { ggmlTypeByName } from './blocks';

function values(n: number, seed: number): Float32Array {
  const x = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    x[i] = s / 2 ** 31 - 1;
  }
  return x;
}

const METADATA: Record<string, GgufValue> = {
  'general.architecture': { kind: 'string', value: 'qwen2' },
  'qwen2.block_count': { kind: 'u32', value: 2 },
  'qwen2.rope.freq_base': { kind: 'f32', value: 1e6 },
  'tokenizer.ggml.add_bos_token': { kind: 'bool', value: false },
  'tokenizer.ggml.tokens': { kind: 'array', of: 'string', value: ['a', 'b', 'ab', '<|x|>'] },
  'tokenizer.ggml.token_type': { kind: 'array', of: 'i32', value: [1, 1, 1, 3] },
};

const A = values(256 * 3, 1); // [3 rows, 256 cols]
const B = values(96 * 5, 2); // [5 rows, 96 cols]
const C = values(7, 3); // a vector
const TENSORS: GgufTensorToWrite[] = [
  { name: 'blk.0.ffn_up.weight', type: 'Q4_K', dims: [256, 3], data: () => [A] },
  { name: 'blk.0.attn_q.weight', type: 'Q8_0', dims: [96, 5], data: () => [B.subarray(0, 96 * 2), B.subarray(96 * 2)] },
  { name: 'blk.0.attn_norm.weight', type: 'F32', dims: [7], data: () => [C] },
];

async function build(tensors = TENSORS, metadata = METADATA): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  await writeGguf({ write: async (b) => void parts.push(b.slice()) }, metadata, tensors);
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A source that counts the bytes read through it. */
function counting(name: string, bytes: Uint8Array): ByteSource & { bytesRead: number } {
  const inner = bytesSource(name, bytes);
  const src = {
    name,
    size: bytes.length,
    bytesRead: 0,
    async read(offset: number, length: number) {
      src.bytesRead += length;
      return inner.read(offset, length);
    },
  };
  return src;
}

async function failure(bytes: Uint8Array): Promise<{ e: BoxedError; bytesRead: number }> {
  const src = counting('bad.gguf', bytes);
  const e = await parseGguf(src).then(
    () => null,
    (err: unknown) => err,
  );
  expect(e, 'parse should fail').toBeInstanceOf(BoxedError);
  const be = e as BoxedError;
  expect(be.name).toBe('ModelFormat');
  expect(be.message.startsWith('bad.gguf: ')).toBe(true);
  expect(be.message).not.toContain('\n');
  return { e: be, bytesRead: src.bytesRead };
}

/** Byte offset of the first occurrence of a string's bytes (to patch fields the writer put there). */
function find(bytes: Uint8Array, s: string): number {
  const needle = new TextEncoder().encode(s);
  outer: for (let i = 0; i + needle.length <= bytes.length; i++) {
    for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error(`${s} not found`);
}

describe('parseGguf', () => {
  it('reads back metadata, tensor infos and data as written', async () => {
    const bytes = await build();
    const g = await parseGguf(bytesSource('m.gguf', bytes));
    expect(g.version).toBe(3);
    expect(g.metadata['general.architecture']).toBe('qwen2');
    expect(g.metadata['qwen2.block_count']).toBe(2);
    expect(g.metadata['qwen2.rope.freq_base']).toBe(1e6);
    expect(g.metadata['tokenizer.ggml.tokens']).toEqual(['a', 'b', 'ab', '<|x|>']);
    expect([...g.tensors.keys()]).toEqual(TENSORS.map((t) => t.name));
    const { offsets, header } = ggufHeader(METADATA, TENSORS);
    for (const [i, t] of TENSORS.entries()) {
      const info = g.tensors.get(t.name)!;
      expect(info.type.name).toBe(t.type);
      expect(info.dims).toEqual(t.dims);
      expect(info.offset).toBe(header.length + offsets[i]);
      expect(info.offset % 32).toBe(0);
    }
    const a = g.tensors.get('blk.0.ffn_up.weight')!;
    const want = dequantize(ggmlTypeByName('Q4_K'), quantize(ggmlTypeByName('Q4_K'), A), A.length);
    expect(dequantize(a.type, bytes.subarray(a.offset, a.offset + a.byteLength), A.length)).toEqual(want);
    const c = g.tensors.get('blk.0.attn_norm.weight')!;
    expect(dequantize(c.type, bytes.subarray(c.offset, c.offset + c.byteLength), 7)).toEqual(C);
  });

  it('maps Hugging Face names to llama.cpp names', () => {
    expect(ggufTensorName('model.embed_tokens.weight')).toBe('token_embd.weight');
    expect(ggufTensorName('lm_head.weight')).toBe('output.weight');
    expect(ggufTensorName('model.norm.weight')).toBe('output_norm.weight');
    expect(ggufTensorName('model.layers.11.self_attn.k_proj.bias')).toBe('blk.11.attn_k.bias');
    expect(ggufTensorName('model.layers.0.self_attn.o_proj.weight')).toBe('blk.0.attn_output.weight');
    expect(ggufTensorName('model.layers.3.post_attention_layernorm.weight')).toBe('blk.3.ffn_norm.weight');
    expect(ggufTensorName('model.layers.3.mlp.down_proj.weight')).toBe('blk.3.ffn_down.weight');
  });

  it('writes vectors as F32 and matrices with partial blocks in a type that fits', () => {
    expect(tensorTypeFor('Q4_K', [64])).toBe('F32');
    expect(tensorTypeFor('Q4_K', [512, 3])).toBe('Q4_K');
    expect(tensorTypeFor('Q4_K', [64, 3])).toBe('Q8_0');
    expect(tensorTypeFor('Q6_K', [176, 3])).toBe('F16');
  });
});

describe('malformed GGUF', () => {
  it('bad magic', async () => {
    const b = await build();
    b[0] = 0x47 ^ 1;
    expect((await failure(b)).e.message).toMatch(/not a GGUF file/);
  });

  it('unsupported version', async () => {
    const b = await build();
    new DataView(b.buffer).setUint32(4, 4, true);
    expect((await failure(b)).e.message).toMatch(/GGUF version 4 is not supported/);
  });

  it('truncated: in the header, in the tensor infos, in the data', async () => {
    const b = await build();
    expect((await failure(b.subarray(0, 10))).e.message).toMatch(/shorter than a GGUF header/);
    expect((await failure(b.subarray(0, find(b, 'blk.0.attn_q.weight') + 4))).e.message).toMatch(/truncated: the file \(\d+ bytes\) ends inside its header/);
    expect((await failure(b.subarray(0, find(b, 'qwen2.rope.freq_base') + 2))).e.message).toMatch(/truncated|not a valid GGUF file/);
    expect((await failure(b.subarray(0, b.length - 100))).e.message).toMatch(/lies past the end of the file/);
  });

  it('tensor data out of range', async () => {
    const b = await build();
    // the u64 offset of the last tensor sits 8 bytes before the header's end padding; patch it far away
    const name = find(b, 'blk.0.attn_norm.weight');
    const offsetAt = name + 'blk.0.attn_norm.weight'.length + 4 + 8 + 4;
    new DataView(b.buffer).setBigUint64(offsetAt, 1n << 40n, true);
    expect((await failure(b)).e.message).toMatch(/tensor blk\.0\.attn_norm\.weight data .* past the end of the file/);
  });

  it('a metadata string of absurd length is refused without reading it', async () => {
    const b = await build();
    const key = find(b, 'general.architecture');
    // the value's u64 length follows the key and its u32 type
    new DataView(b.buffer).setBigUint64(key + 'general.architecture'.length + 4, 1n << 40n, true);
    const { e, bytesRead } = await failure(b);
    expect(e.message).toMatch(/not a valid GGUF file: String length \d+ exceeds/);
    expect(bytesRead).toBeLessThan(64 << 20);
  });

  it('an unknown or unsupported tensor type is named', async () => {
    for (const [id, name] of [[16, 'IQ2_XXS'], [35, 'TQ2_0'], [11, 'Q3_K'], [77, 'unknown \\(id 77\\)']] as const) {
      const b = await build();
      const at = find(b, 'blk.0.attn_q.weight') + 'blk.0.attn_q.weight'.length + 4 + 16;
      new DataView(b.buffer).setUint32(at, id, true);
      expect((await failure(b)).e.message).toMatch(new RegExp(`tensor blk\\.0\\.attn_q\\.weight has type ${name}, which Boxed does not read`));
    }
  });
});
