// Random-access byte sources: what the parsers read model files through. A source never has to hold its whole
// file in memory (a Blob may be disk-backed; the Node file source in src/cli reads with positioned reads).
import { BoxedError } from '../protocol/errors';

export interface ByteSource {
  /** File name, for error messages (e.g. 'model.safetensors'). */
  name: string;
  /** Size in bytes. */
  size: number;
  /** Exactly `length` bytes starting at `offset`; rejects with ModelFormat if the range is past the end. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** Where a ByteSource comes from, by file name. null means the file does not exist. */
export interface FileProvider {
  open(name: string): Promise<ByteSource | null>;
}

/** Throws unless [offset, offset+length) lies inside a source of `size` bytes. */
export function checkRange(name: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new BoxedError('Internal', `bad read range offset=${offset} length=${length}`, { file: name });
  }
  if (offset + length > size) {
    throw new BoxedError('ModelFormat', `read of ${length} bytes at ${offset} is past the end of the file (${size} bytes)`, { file: name });
  }
}

/** A ByteSource over a Blob or File (browser and Node). */
export function blobSource(name: string, blob: Blob): ByteSource {
  return {
    name,
    size: blob.size,
    async read(offset, length) {
      checkRange(name, blob.size, offset, length);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
}

/** A ByteSource over bytes in memory. read() returns views, not copies. */
export function bytesSource(name: string, bytes: Uint8Array): ByteSource {
  return {
    name,
    size: bytes.length,
    async read(offset, length) {
      checkRange(name, bytes.length, offset, length);
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** A FileProvider over in-memory files (tests, drag-and-drop of a folder). */
export function memoryProvider(files: Record<string, Uint8Array | Blob>): FileProvider {
  return {
    async open(name) {
      const f = Object.prototype.hasOwnProperty.call(files, name) ? files[name] : undefined;
      if (f === undefined) return null;
      return f instanceof Uint8Array ? bytesSource(name, f) : blobSource(name, f);
    },
  };
}
