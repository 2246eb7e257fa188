// GGUF writer (version 3, little-endian): header, metadata, tensor infos, then each tensor's blocks, streamed
// from f32 chunks (whole blocks each) that are encoded and written one at a time.
// Layout: "GGUF", u32 version, u64 tensor count, u64 metadata count; each metadata entry a string key, a u32
// value type and the value; each tensor info a string name, u32 n_dims, n_dims u64 dims (ne[0] first: the
// number of columns), u32 GGML type, u64 offset into the data section; the data section starts at the next
// multiple of the alignment (32) and every tensor's offset is a multiple of it. Strings are u64 length + UTF-8.
import { BoxedError } from '../../protocol/errors';
import type { ByteSink } from '../safetensors-write';
import { ggmlTypeByName, typeBytes, type GgmlTypeName } from './blocks';
import { quantize } from './quantize';

export const GGUF_ALIGNMENT = 32;

/** GGUF metadata value types. */
export const GGUF_VALUE = { u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12 } as const;

export type GgufScalarKind = 'u32' | 'i32' | 'f32' | 'bool' | 'string' | 'u64';
export type GgufValue =
  | { kind: GgufScalarKind; value: number | boolean | string | bigint }
  | { kind: 'array'; of: 'string' | 'i32' | 'u32' | 'f32'; value: ReadonlyArray<string | number> };

export interface GgufTensorToWrite {
  name: string;
  type: GgmlTypeName;
  /** dims in GGUF order: ne[0] (columns) first */
  dims: number[];
  /** values in row-major order, as f32 chunks of whole blocks that add up to the element count */
  data: () => Iterable<Float32Array> | AsyncIterable<Float32Array>;
}

class Bytes {
  private parts: Uint8Array[] = [];
  length = 0;
  private push(b: Uint8Array) {
    this.parts.push(b);
    this.length += b.length;
  }
  private num(size: number, set: (v: DataView) => void) {
    const b = new Uint8Array(size);
    set(new DataView(b.buffer));
    this.push(b);
  }
  u32 = (v: number) => this.num(4, (d) => d.setUint32(0, v, true));
  i32 = (v: number) => this.num(4, (d) => d.setInt32(0, v, true));
  f32 = (v: number) => this.num(4, (d) => d.setFloat32(0, v, true));
  u64 = (v: number | bigint) => this.num(8, (d) => d.setBigUint64(0, BigInt(v), true));
  u8 = (v: number) => this.push(Uint8Array.of(v));
  str = (s: string) => {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    this.push(b);
  };
  pad(to: number) {
    const n = (to - (this.length % to)) % to;
    if (n) this.push(new Uint8Array(n));
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

function scalar(b: Bytes, kind: GgufScalarKind | 'string', v: unknown): void {
  switch (kind) {
    case 'u32':
      return b.u32(Number(v));
    case 'i32':
      return b.i32(Number(v));
    case 'f32':
      return b.f32(Number(v));
    case 'bool':
      return b.u8(v ? 1 : 0);
    case 'string':
      return b.str(String(v));
    case 'u64':
      return b.u64(v as number | bigint);
  }
}

const elements = (dims: number[]) => dims.reduce((a, c) => a * c, 1);

/** Header, metadata and tensor infos, padded to the alignment; and the data section's size. */
export function ggufHeader(metadata: Record<string, GgufValue>, tensors: GgufTensorToWrite[]): { header: Uint8Array; offsets: number[]; dataBytes: number } {
  const b = new Bytes();
  for (const c of [0x47, 0x47, 0x55, 0x46]) b.u8(c);
  b.u32(3);
  b.u64(tensors.length);
  b.u64(Object.keys(metadata).length);
  for (const [key, v] of Object.entries(metadata)) {
    b.str(key);
    if (v.kind === 'array') {
      b.u32(GGUF_VALUE.array);
      b.u32(GGUF_VALUE[v.of]);
      b.u64(v.value.length);
      for (const x of v.value) scalar(b, v.of, x);
    } else {
      b.u32(GGUF_VALUE[v.kind]);
      scalar(b, v.kind, v.value);
    }
  }
  const offsets: number[] = [];
  let offset = 0;
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new BoxedError('InvalidRequest', `duplicate tensor name ${t.name}`);
    names.add(t.name);
    b.str(t.name);
    b.u32(t.dims.length);
    for (const d of t.dims) b.u64(d);
    const type = ggmlTypeByName(t.type);
    if (t.dims[0] % type.block !== 0) throw new BoxedError('InvalidRequest', `${t.name}: rows of ${t.dims[0]} are not whole ${t.type} blocks`);
    b.u32(type.id);
    b.u64(offset);
    offsets.push(offset);
    offset += typeBytes(type, elements(t.dims));
    offset += (GGUF_ALIGNMENT - (offset % GGUF_ALIGNMENT)) % GGUF_ALIGNMENT;
  }
  b.pad(GGUF_ALIGNMENT);
  return { header: b.bytes(), offsets, dataBytes: offset };
}

/** Writes a GGUF file to the sink. */
export async function writeGguf(sink: ByteSink, metadata: Record<string, GgufValue>, tensors: GgufTensorToWrite[]): Promise<void> {
  const { header, offsets, dataBytes } = ggufHeader(metadata, tensors);
  await sink.write(header);
  let written = 0;
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i];
    const type = ggmlTypeByName(t.type);
    if (written < offsets[i]) {
      await sink.write(new Uint8Array(offsets[i] - written));
      written = offsets[i];
    }
    let values = 0;
    for await (const chunk of t.data()) {
      const bytes = quantize(type, chunk);
      await sink.write(bytes);
      written += bytes.length;
      values += chunk.length;
    }
    if (values !== elements(t.dims)) throw new BoxedError('InvalidRequest', `${t.name}: data gave ${values} values, dims need ${elements(t.dims)}`);
  }
  if (written < dataBytes) await sink.write(new Uint8Array(dataBytes - written));
}

/**
 * The block type a tensor is written in when `wanted` is asked for: vectors (norms, biases) stay F32, as
 * llama.cpp keeps them; a matrix whose rows are not whole blocks of `wanted` falls back to Q8_0 (rows of
 * whole 32s) or else F16.
 */
export function tensorTypeFor(wanted: GgmlTypeName, dims: number[]): GgmlTypeName {
  if (dims.length < 2) return 'F32';
  if (dims[0] % ggmlTypeByName(wanted).block === 0) return wanted;
  if (wanted !== 'F16' && wanted !== 'F32' && dims[0] % 32 === 0) return 'Q8_0';
  return 'F16';
}
