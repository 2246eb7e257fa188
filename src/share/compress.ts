// Raw DEFLATE (RFC 1951) for share links: the browser's CompressionStream('deflate-raw') where it has
// one, else fflate (loaded only then). Inflating is capped: the input is fed in small pieces and the
// output counted as it comes, so a decompression bomb is stopped after at most `max` bytes (plus one
// piece's worth), not after it has filled memory.
import { BoxedError } from '../protocol/errors';

export interface Deflater {
  readonly name: 'native' | 'fflate';
  deflate(bytes: Uint8Array): Promise<Uint8Array>;
  /** Inflates, refusing output longer than `max` bytes. */
  inflate(bytes: Uint8Array, max: number): Promise<Uint8Array>;
}

/** Input fed to the inflater at a time; DEFLATE expands at most ~1032x, so one piece yields ≲ 264 KiB. */
const PIECE = 256;

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** `unpacked`: the bytes unpacked when it stopped (the detail says how early that was). */
const tooBig = (max: number, unpacked: number) =>
  new BoxedError('InvalidRequest', `the link's data unpacks to more than ${Math.round(max / 1024).toLocaleString('en-US')} KiB; it is not a Boxed link`, {
    detail: { share: 'too-large', unpacked },
  });
const damaged = (cause: unknown) => new BoxedError('InvalidRequest', 'the link is damaged: its data does not unpack', { detail: { share: 'deflate' }, cause });

async function readAll(readable: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array> {
  const reader = readable.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel().catch(() => undefined);
      throw tooBig(max, total);
    }
    parts.push(value);
  }
  return concat(parts, total);
}

async function feed(writable: WritableStream<BufferSource>, bytes: Uint8Array): Promise<void> {
  const writer = writable.getWriter();
  for (let i = 0; i < bytes.length; i += PIECE) await writer.write(bytes.slice(i, i + PIECE));
  await writer.close();
}

function nativeSupported(): boolean {
  try {
    if (typeof CompressionStream === 'undefined' || typeof DecompressionStream === 'undefined') return false;
    new CompressionStream('deflate-raw');
    new DecompressionStream('deflate-raw');
    return true;
  } catch {
    return false;
  }
}

export const nativeDeflater: Deflater = {
  name: 'native',
  async deflate(bytes) {
    const cs = new CompressionStream('deflate-raw');
    const [, out] = await Promise.all([feed(cs.writable, bytes), readAll(cs.readable, Number.MAX_SAFE_INTEGER)]);
    return out;
  },
  async inflate(bytes, max) {
    const ds = new DecompressionStream('deflate-raw');
    const fed = feed(ds.writable, bytes);
    fed.catch(() => undefined); // a failure shows on the readable side too
    try {
      const out = await readAll(ds.readable, max);
      await fed;
      return out;
    } catch (e) {
      throw e instanceof BoxedError ? e : damaged(e);
    }
  },
};

export async function fflateDeflater(): Promise<Deflater> {
  const { Inflate, deflateSync } = await import('fflate');
  return {
    name: 'fflate',
    deflate: async (bytes) => deflateSync(bytes, { level: 9 }),
    async inflate(bytes, max) {
      const parts: Uint8Array[] = [];
      let total = 0;
      const inflater = new Inflate((chunk) => {
        total += chunk.length;
        if (total <= max) parts.push(chunk);
      });
      try {
        for (let i = 0; i < bytes.length || i === 0; i += PIECE) {
          inflater.push(bytes.subarray(i, i + PIECE), i + PIECE >= bytes.length);
          if (total > max) throw tooBig(max, total);
        }
      } catch (e) {
        throw e instanceof BoxedError ? e : damaged(e);
      }
      return concat(parts, total);
    },
  };
}

let chosen: Promise<Deflater> | null = null;

/** The browser's own codec when it has deflate-raw, else fflate. */
export function defaultDeflater(): Promise<Deflater> {
  return (chosen ??= nativeSupported() ? Promise.resolve(nativeDeflater) : fflateDeflater());
}
