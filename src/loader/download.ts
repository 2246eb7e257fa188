// One HTTP download into a sink, with progress, resume and retries. Where the bytes go is the sink's business
// (memory, for the hub provider without a cache), so this file only speaks HTTP:
//   GET url                      -> 200, body streamed into the sink
//   connection drops mid-body    -> GET url with `Range: bytes=<received>-`
//        206 + matching Content-Range -> append the rest
//        200 (server ignored Range)   -> sink.reset(), take the whole body again
//        416 with the size = bytes held -> already complete (a sink that kept a finished file)
//   404 on the first request     -> { status: 'not-found' } (the caller decides if the file was optional)
//   5xx, 408, 429, network error -> retry after a backoff; `retries` failures in a row without progress -> Network
//   other HTTP status            -> Network error naming the status and file
//   signal aborted               -> Aborted
import { BoxedError } from '../protocol/errors';

export interface DownloadSink {
  /** Bytes held so far: where a resumed request starts. */
  readonly size: number;
  write(chunk: Uint8Array): Promise<void>;
  /** Forget everything written (the server sent the whole file again). */
  reset(): Promise<void>;
}

export interface DownloadProgress {
  file: string;
  /** bytes received so far, resumed ranges included */
  loaded: number;
  /** the file's size; 0 while unknown */
  total: number;
  /** average rate of this download so far */
  bytesPerSecond: number;
}

export interface DownloadOptions {
  /** name for progress events and errors */
  file: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** failures in a row (without any byte of progress) before giving up; default 5 */
  retries?: number;
  /** first backoff delay, doubled per failure in a row, capped at 30 s; default 500 ms */
  retryDelayMs?: number;
  onProgress?: (e: DownloadProgress) => void;
  /** minimum ms between progress events (the last one is always sent); default 50 */
  progressIntervalMs?: number;
}

export interface DownloadResult {
  status: 'ok' | 'not-found';
  bytes: number;
  /** requests answered 206 that continued a partial body */
  resumes: number;
  /** times the body had to start over from byte 0 */
  restarts: number;
  /** HTTP requests made */
  requests: number;
}

/** A failure worth retrying. */
class Transient extends Error {}

/** HTTP statuses worth retrying (the server is busy or failed for now). */
export const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);

export function abortError(file: string, cause?: unknown): BoxedError {
  return new BoxedError('Aborted', 'download stopped', { file, cause });
}

export function sleep(ms: number, signal: AbortSignal | undefined, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(file));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(file));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** "bytes 100-199/1000" -> { start: 100, total: 1000 } (total null for "*"). */
export function parseContentRange(h: string | null): { start: number; end: number; total: number | null } | null {
  const m = h ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(h.trim()) : null;
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

/** Size of the whole file from a 200 response, when the body is not re-encoded. */
function lengthOf(res: Response): number | null {
  const enc = res.headers.get('content-encoding');
  if (enc && enc !== 'identity') return null;
  const len = res.headers.get('content-length');
  return len !== null && /^\d+$/.test(len) ? Number(len) : null;
}

export async function download(url: string, sink: DownloadSink, opts: DownloadOptions): Promise<DownloadResult> {
  const { file, signal } = opts;
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const retries = opts.retries ?? 5;
  const baseDelay = opts.retryDelayMs ?? 500;
  const interval = opts.progressIntervalMs ?? 50;
  const started = Date.now();
  const receivedAtStart = sink.size;
  const result: DownloadResult = { status: 'ok', bytes: 0, resumes: 0, restarts: 0, requests: 0 };
  let total: number | null = null;
  let failures = 0;
  let lastEvent = 0;

  const progress = (force: boolean) => {
    const now = Date.now();
    if (!opts.onProgress || (!force && now - lastEvent < interval)) return;
    lastEvent = now;
    const secs = Math.max((now - started) / 1000, 1e-3);
    opts.onProgress({ file, loaded: sink.size, total: total ?? 0, bytesPerSecond: (sink.size - receivedAtStart) / secs });
  };

  for (;;) {
    if (signal?.aborted) throw abortError(file);
    const offset = sink.size;
    const before = offset;
    try {
      const headers: Record<string, string> = offset > 0 ? { Range: `bytes=${offset}-` } : {};
      let res: Response;
      try {
        result.requests++;
        res = await doFetch(url, { headers, signal });
      } catch (e) {
        if (signal?.aborted) throw abortError(file, e);
        throw new Transient(`request failed: ${e instanceof Error ? e.message : String(e)}`);
      }

      if (res.status === 404 && offset === 0) {
        await res.body?.cancel().catch(() => {});
        return { ...result, status: 'not-found' };
      }
      if (offset > 0 && res.status === 416) {
        // nothing left past `offset`: complete if the file is exactly that long, else start over
        await res.body?.cancel().catch(() => {});
        const cr = /^bytes \*\/(\d+)$/.exec(res.headers.get('content-range')?.trim() ?? '');
        if (cr && Number(cr[1]) === offset) {
          total = offset;
          result.bytes = offset;
          progress(true);
          return result;
        }
        await sink.reset();
        result.restarts++;
        throw new Transient(`server refused range bytes=${offset}-`);
      }
      if (offset > 0 && res.status === 206) {
        const cr = parseContentRange(res.headers.get('content-range'));
        if (!cr || cr.start !== offset) {
          // a range we did not ask for: start over
          await res.body?.cancel().catch(() => {});
          await sink.reset();
          result.restarts++;
          throw new Transient(`server answered range ${res.headers.get('content-range')} for bytes=${offset}-`);
        }
        total = cr.total;
        result.resumes++;
      } else if (res.status === 200) {
        if (offset > 0) {
          await sink.reset(); // the server ignored Range and sends the whole file
          result.restarts++;
        }
        total = lengthOf(res);
      } else {
        await res.body?.cancel().catch(() => {});
        const msg = `HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}`;
        if (RETRY_STATUS.has(res.status)) throw new Transient(msg);
        throw new BoxedError('Network', msg, { file, detail: { status: res.status, url } });
      }
      if (!res.body) throw new Transient('response has no body');

      const reader = res.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          await sink.write(value);
          if (total !== null && sink.size > total) throw new BoxedError('Network', `received more than the announced ${total} bytes`, { file });
          progress(false);
        }
      } catch (e) {
        reader.cancel().catch(() => {});
        if (signal?.aborted) throw abortError(file, e);
        if (e instanceof BoxedError) throw e;
        throw new Transient(`connection dropped at byte ${sink.size}: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (total !== null && sink.size < total) throw new Transient(`body ended at byte ${sink.size} of ${total}`);
      result.bytes = sink.size;
      progress(true);
      return result;
    } catch (e) {
      if (!(e instanceof Transient)) throw e;
      failures = sink.size > before ? 1 : failures + 1;
      if (failures > retries) {
        throw new BoxedError('Network', `${e.message} (gave up after ${result.requests} requests)`, { file, detail: { url }, cause: e });
      }
      await sleep(Math.min(baseDelay * 2 ** (failures - 1), 30_000), signal, file);
    }
  }
}

/** A sink in memory; toBlob() gives the finished file. */
export class MemorySink implements DownloadSink {
  private parts: Uint8Array[] = [];
  size = 0;

  async write(chunk: Uint8Array): Promise<void> {
    this.parts.push(chunk);
    this.size += chunk.length;
  }

  async reset(): Promise<void> {
    this.parts = [];
    this.size = 0;
  }

  toBlob(): Blob {
    return new Blob(this.parts as BlobPart[]);
  }
}
