// safetensors writer: header first (computed from names, dtypes and shapes alone), then each tensor's data,
// streamed in f32 chunks that are converted and written one at a time, so a multi-GB model never sits in memory.
// Layout: tensors in the order given, packed; header JSON padded with spaces to a multiple of 8 bytes.
import { BoxedError } from '../protocol/errors';
import { DTYPE_BYTES, encodeFromF32, type Dtype } from './dtype';

export interface TensorToWrite {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** The values in row-major order, as f32 chunks of any sizes that add up to the shape's element count. */
  data: () => Iterable<Float32Array> | AsyncIterable<Float32Array>;
}

/** Where written bytes go (a file handle in Node, memory in tests). */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<void>;
}

const elementsOf = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** The 8-byte length plus the padded header JSON, and the data section's size. */
export function safetensorsHeader(tensors: TensorToWrite[], metadata?: Record<string, string>): { header: Uint8Array; dataBytes: number } {
  const json: Record<string, unknown> = {};
  if (metadata) json.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || t.name in json) throw new BoxedError('InvalidRequest', `duplicate or reserved tensor name ${t.name}`);
    const bytes = elementsOf(t.shape) * DTYPE_BYTES[t.dtype];
    json[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const text = new TextEncoder().encode(JSON.stringify(json));
  const padded = Math.ceil(text.length / 8) * 8;
  const header = new Uint8Array(8 + padded).fill(0x20, 8);
  header.set(text, 8);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  return { header, dataBytes: offset };
}

/** Writes a whole safetensors file to `sink`; returns the bytes written. */
export async function writeSafetensors(sink: ByteSink, tensors: TensorToWrite[], metadata?: Record<string, string>): Promise<number> {
  const { header, dataBytes } = safetensorsHeader(tensors, metadata);
  await sink.write(header);
  for (const t of tensors) {
    const want = elementsOf(t.shape);
    let got = 0;
    for await (const chunk of t.data()) {
      got += chunk.length;
      if (got > want) break;
      await sink.write(encodeFromF32(chunk, t.dtype));
    }
    if (got !== want) throw new BoxedError('Internal', `tensor ${t.name}: data gave ${got} values for shape [${t.shape.join(', ')}] (${want})`);
  }
  return header.length + dataBytes;
}

/** The file in memory (tests, small fixtures). */
export async function safetensorsBytes(tensors: TensorToWrite[], metadata?: Record<string, string>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const total = await writeSafetensors({ write: async (b) => void parts.push(b) }, tensors, metadata);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A TensorToWrite from values already in memory. */
export function tensorOf(name: string, dtype: Dtype, shape: number[], values: Float32Array): TensorToWrite {
  return { name, dtype, shape, data: () => [values] };
}
