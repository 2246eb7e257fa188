// A GGUF file on a web server (the hub) read by HTTP Range: the header, metadata and tensor infos come from
// the first few MB, so a multi-GB file's config, tokenizer and tensor types are known before any download.
import { BoxedError } from '../../protocol/errors';
import { parseContentRange } from '../download';
import type { ByteSource } from '../source';
import { checkRange } from '../source';
import { parseGguf, type GgufFile } from './parse';

export interface RemoteOptions {
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

async function rangeGet(url: string, name: string, start: number, end: number, opts: RemoteOptions): Promise<{ bytes: Uint8Array; total: number | null }> {
  let r: Response;
  try {
    r = await (opts.fetch ?? fetch)(url, { headers: { Range: `bytes=${start}-${end}` }, signal: opts.signal });
  } catch (e) {
    throw new BoxedError('Network', `cannot fetch bytes ${start}-${end}: ${(e as Error).message}`, { file: name, cause: e });
  }
  // a refused range may still be streaming the whole file: stop it
  if (r.status !== 206) await r.body?.cancel().catch(() => {});
  if (r.status === 404) throw new BoxedError('ModelFormat', 'file not found on the server', { file: name });
  if (r.status !== 206) throw new BoxedError('Network', `the server answered ${r.status} to a Range request (it must support ranges)`, { file: name, detail: { status: r.status } });
  const cr = parseContentRange(r.headers.get('content-range'));
  if (!cr || cr.start !== start) throw new BoxedError('Network', 'the server sent a range other than the one asked for', { file: name });
  return { bytes: new Uint8Array(await r.arrayBuffer()), total: cr.total };
}

/** A ByteSource over a URL, each read one Range request (the size comes from the first answer). */
export async function httpRangeSource(url: string, name: string, opts: RemoteOptions = {}): Promise<ByteSource> {
  const first = await rangeGet(url, name, 0, 0, opts);
  if (first.total === null) throw new BoxedError('Network', 'the server did not say the file size (Content-Range total)', { file: name });
  const size = first.total;
  return {
    name,
    size,
    async read(offset, length) {
      checkRange(name, size, offset, length);
      if (length === 0) return new Uint8Array(0);
      const { bytes } = await rangeGet(url, name, offset, offset + length - 1, opts);
      if (bytes.length !== length) throw new BoxedError('Network', `asked for ${length} bytes at ${offset}, got ${bytes.length}`, { file: name });
      return bytes;
    },
  };
}

/** The header, metadata and tensor infos of a GGUF file at a URL, without downloading its tensors. */
export async function parseRemoteGguf(url: string, name: string, opts: RemoteOptions = {}): Promise<GgufFile> {
  return parseGguf(await httpRangeSource(url, name, opts));
}
