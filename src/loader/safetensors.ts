// safetensors parsing: an 8-byte little-endian header length N, N bytes of JSON
//   { "<tensor name>": { "dtype": "BF16", "shape": [rows, cols], "data_offsets": [begin, end] }, "__metadata__": {...} }
// then the data section; offsets are relative to the data section's start (8 + N).
// Everything in the header is checked before any tensor is read: dtype, shape vs. byte span, bounds, overlap.
// Errors are BoxedError('ModelFormat') naming the file (and the tensor, when there is one).
import { BoxedError } from '../protocol/errors';
import { DTYPE_BYTES, decodeToF32, isDtype, type Dtype } from './dtype';
import type { ByteSource } from './source';

/** Headers above this are refused (real ones are tens of KB; the format's own limit is 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Known safetensors dtypes this loader does not load, so the error can say "unsupported" rather than "unknown". */
const OTHER_DTYPES = ['F64', 'I64', 'I32', 'I16', 'I8', 'U64', 'U32', 'U16', 'U8', 'BOOL', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2', 'C64'];

export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Absolute byte offset of the tensor's data in its file. */
  byteOffset: number;
  byteLength: number;
  /** The file it lives in. */
  source: ByteSource;
}

export interface SafetensorsFile {
  source: ByteSource;
  /** Absolute offset of the data section. */
  dataOffset: number;
  /** Tensors in file order (by data offset). */
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
}

function fail(file: string, message: string): never {
  throw new BoxedError('ModelFormat', message, { file });
}

/** Reads and validates the header of a safetensors file. Reads only the header bytes. */
export async function parseSafetensors(source: ByteSource): Promise<SafetensorsFile> {
  const file = source.name;
  if (source.size < 8) fail(file, `not a safetensors file: ${source.size} bytes is shorter than the 8-byte header length`);
  const lenBytes = await source.read(0, 8);
  const view = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const headerLen = hi * 2 ** 32 + lo;
  if (hi !== 0 || headerLen > MAX_HEADER_BYTES) fail(file, `header length ${headerLen} is absurd (limit ${MAX_HEADER_BYTES})`);
  if (8 + headerLen > source.size) fail(file, `header length ${headerLen} runs past the end of the file (${source.size} bytes)`);

  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await source.read(8, headerLen)));
  } catch (e) {
    if (e instanceof BoxedError) throw e;
    fail(file, `header is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(file, 'header is not a JSON object');

  const dataOffset = 8 + headerLen;
  const dataSize = source.size - dataOffset;
  const list: TensorInfo[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (entry && typeof entry === 'object' && !Array.isArray(entry)) metadata = entry as Record<string, string>;
      continue;
    }
    list.push(parseEntry(file, name, entry, source, dataOffset, dataSize));
  }

  list.sort((a, b) => a.byteOffset - b.byteOffset || a.byteLength - b.byteLength);
  for (let i = 1; i < list.length; i++) {
    const prev = list[i - 1];
    const cur = list[i];
    if (cur.byteOffset < prev.byteOffset + prev.byteLength) {
      fail(file, `tensors ${prev.name} and ${cur.name} overlap in the data section`);
    }
  }
  return { source, dataOffset, tensors: new Map(list.map((t) => [t.name, t])), metadata };
}

function parseEntry(file: string, name: string, entry: unknown, source: ByteSource, dataOffset: number, dataSize: number): TensorInfo {
  const where = `tensor ${name}`;
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail(file, `${where}: entry is not an object`);
  const e = entry as Record<string, unknown>;
  for (const key of ['dtype', 'shape', 'data_offsets']) {
    if (!(key in e)) fail(file, `${where}: missing ${key}`);
  }
  const dtype = e.dtype;
  if (typeof dtype !== 'string') fail(file, `${where}: dtype must be a string`);
  if (!isDtype(dtype)) {
    const known = OTHER_DTYPES.includes(dtype) ? 'unsupported' : 'unknown';
    fail(file, `${where}: ${known} dtype ${dtype} (supported: BF16, F16, F32)`);
  }
  const shape = e.shape;
  if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
    fail(file, `${where}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const offsets = e.data_offsets;
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    offsets.some((x) => typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) ||
    offsets[0] > offsets[1]
  ) {
    fail(file, `${where}: data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const elements = (shape as number[]).reduce((a, b) => a * b, 1);
  const bytes = elements * DTYPE_BYTES[dtype];
  if (bytes !== end - begin) {
    fail(file, `${where}: shape ${JSON.stringify(shape)} of ${dtype} is ${bytes} bytes but data_offsets span ${end - begin}`);
  }
  if (end > dataSize) fail(file, `${where}: data_offsets [${begin}, ${end}] out of range of the data section (${dataSize} bytes)`);
  return { name, dtype, shape: shape as number[], byteOffset: dataOffset + begin, byteLength: bytes, source };
}

/** The tensor's raw stored bytes (little-endian, its own dtype). */
export function readTensorBytes(info: TensorInfo): Promise<Uint8Array> {
  return info.source.read(info.byteOffset, info.byteLength);
}

/** The tensor as f32 (BF16 and F16 widened exactly). */
export async function readTensorF32(info: TensorInfo): Promise<Float32Array<ArrayBuffer>> {
  return decodeToF32(await readTensorBytes(info), info.dtype);
}

/** Rows [start, start+count) of the tensor's first dimension as f32: a big tensor read in pieces. */
export async function readTensorRowsF32(info: TensorInfo, start: number, count: number): Promise<Float32Array<ArrayBuffer>> {
  const rows = info.shape.length === 0 ? 1 : info.shape[0];
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > rows) {
    throw new BoxedError('InvalidRequest', `rows [${start}, ${start + count}) out of range of tensor ${info.name} (${rows} rows)`);
  }
  const rowBytes = rows === 0 ? 0 : info.byteLength / rows;
  return decodeToF32(await info.source.read(info.byteOffset + start * rowBytes, count * rowBytes), info.dtype);
}
