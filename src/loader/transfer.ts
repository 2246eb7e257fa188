// One model file downloaded into the cache: streamed to disk as it arrives (never whole in memory), in up to
// `parallel` Range requests for a large file, hashed while streaming, resumable across reloads.
//   <file>.partial       the bytes so far, each part written at its own offset
//   <file>.partial.json  { size, sha256, gitSha1, parts: [{ start, end, done }] }: what is on disk (saved after a flush)
// The hash is fed in file order: a chunk that continues the hashed prefix is hashed as it arrives; when a part
// ends, the bytes its successor already wrote are read back from disk. A resumed download re-hashes the bytes
// on disk first. The caller promotes the partial file only once this resolves (size and hash checked).
// Failures: 5xx/408/429/dropped connection -> retried with backoff (progress events carry the retry state),
// `retries` failures in a row without progress -> Network; a server that ignores Range -> one plain stream;
// 404 -> NotFound; 401/403 -> AccessDenied; a full disk -> Quota; a hash or size mismatch -> Integrity.
import { createSHA1, createSHA256, type IHasher } from 'hash-wasm';
import { BoxedError } from '../protocol/errors';
import type { CacheStore, CacheWriter } from './cache-store';
import { abortError, parseContentRange, RETRY_STATUS, sleep } from './download';
import { authHeaders, hubHttpError } from './hub-api';

export interface TransferProgress {
  file: string;
  loaded: number;
  total: number;
  bytesPerSecond: number;
  state: 'downloading' | 'retrying' | 'verifying' | 'done';
  /** while waiting to retry: failures in a row, the most allowed, ms until the next request */
  retry?: { attempt: number; of: number; inMs: number };
}

export interface TransferOptions {
  file: string;
  url: string;
  size: number;
  sha256?: string;
  gitSha1?: string;
  /** for error messages */
  repo: string;
  revision: string;
  token?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** failures in a row without progress before giving up; default 6 */
  retries?: number;
  /** first backoff, doubled per failure in a row, capped at 30 s; default 1000 ms */
  retryDelayMs?: number;
  /** Range requests at once for one large file; default 4 */
  parallel?: number;
  /** smallest part worth its own request; default 32 MiB */
  partMinBytes?: number;
  onProgress?: (p: TransferProgress) => void;
  progressIntervalMs?: number;
}

export interface TransferResult {
  requests: number;
  /** bytes already on disk when this call began */
  resumedFrom: number;
  /** parts the file was fetched in */
  parts: number;
  verified: 'sha256' | 'git-sha1' | 'size';
}

interface Part {
  start: number;
  end: number;
  done: number;
}

interface PartialState {
  size: number;
  sha256?: string;
  gitSha1?: string;
  parts: Part[];
}

class Transient extends Error {}
class RangeIgnored extends Error {}

const READ_BACK = 4 * 1024 * 1024;

function split(size: number, parallel: number, minBytes: number): Part[] {
  const n = Math.max(1, Math.min(parallel, Math.floor(size / minBytes)));
  const step = Math.ceil(size / n);
  const parts: Part[] = [];
  for (let s = 0; s < size || parts.length === 0; s += step) parts.push({ start: s, end: Math.min(size, s + step), done: 0 });
  return parts;
}

async function newHasher(o: TransferOptions): Promise<IHasher | null> {
  if (o.sha256) return (await createSHA256()).init();
  if (o.gitSha1) return (await createSHA1()).init().update(`blob ${o.size}\0`);
  return null;
}

export async function transferToCache(store: CacheStore, partialPath: string, o: TransferOptions): Promise<TransferResult> {
  const statePath = `${partialPath}.json`;
  const retries = o.retries ?? 6;
  const baseDelay = o.retryDelayMs ?? 1000;
  const doFetch = o.fetch ?? globalThis.fetch.bind(globalThis);
  const interval = o.progressIntervalMs ?? 100;
  const writer = await store.openWriter(partialPath);
  const result: TransferResult = { requests: 0, resumedFrom: 0, parts: 1, verified: o.sha256 ? 'sha256' : o.gitSha1 ? 'git-sha1' : 'size' };
  try {
    let parts = await resumeParts(store, statePath, writer, o);
    if (!parts) {
      await writer.truncate(0);
      parts = split(o.size, o.parallel ?? 4, o.partMinBytes ?? 32 * 1024 * 1024);
    }
    result.resumedFrom = parts.reduce((a, p) => a + p.done, 0);
    result.parts = parts.length;
    const started = Date.now();
    let lastEvent = 0;
    let retrying: TransferProgress['retry'];
    const loaded = () => parts!.reduce((a, p) => a + p.done, 0);
    const progress = (force: boolean, state: TransferProgress['state'] = retrying ? 'retrying' : 'downloading') => {
      const now = Date.now();
      if (!o.onProgress || (!force && now - lastEvent < interval)) return;
      lastEvent = now;
      const secs = Math.max((now - started) / 1000, 1e-3);
      o.onProgress({ file: o.file, loaded: loaded(), total: o.size, bytesPerSecond: (loaded() - result.resumedFrom) / secs, state, retry: retrying });
    };

    // hashing in file order, and every disk operation, through one queue
    let hasher = await newHasher(o);
    let hashed = 0;
    let queue: Promise<void> = Promise.resolve();
    const serial = (op: () => Promise<void>): Promise<void> => {
      const next = queue.then(op);
      queue = next.catch(() => {}); // a failed step fails its caller, not every later step
      return next;
    };
    const catchUp = async () => {
      for (;;) {
        const p = parts!.find((q) => hashed >= q.start && hashed < q.end);
        const frontier = p ? p.start + p.done : hashed;
        if (!p || frontier <= hashed) return;
        const bytes = await writer.read(hashed, Math.min(READ_BACK, frontier - hashed));
        if (bytes.length === 0) throw new BoxedError('Internal', `cache file shorter than its recorded parts at ${hashed}`, { file: o.file });
        hasher?.update(bytes);
        hashed += bytes.length;
      }
    };
    let lastSave = Date.now();
    const saveState = async () => {
      await writer.flush();
      const st: PartialState = { size: o.size, sha256: o.sha256, gitSha1: o.gitSha1, parts: parts! };
      await store.writeText(statePath, JSON.stringify(st));
      lastSave = Date.now();
    };
    const restartFromZero = async () => {
      await writer.truncate(0);
      parts = [{ start: 0, end: o.size, done: 0 }];
      result.parts = 1;
      hasher = await newHasher(o);
      hashed = 0;
    };
    const put = (p: Part, chunk: Uint8Array) =>
      serial(async () => {
        const at = p.start + p.done;
        if (at + chunk.length > p.end) throw new BoxedError('Integrity', `the server sent more than the ${o.size} bytes the hub lists`, { file: o.file });
        try {
          await writer.write(chunk, at);
        } catch (e) {
          if (e instanceof Error && e.name === 'QuotaExceededError') throw new BoxedError('Quota', `the ${store.kind} storage is full after ${loaded()} of ${o.size} bytes`, { file: o.file, cause: e });
          throw e;
        }
        p.done += chunk.length;
        if (at === hashed) {
          hasher?.update(chunk);
          hashed += chunk.length;
        }
        await catchUp();
        if (Date.now() - lastSave > 1000) await saveState();
      });

    await serial(catchUp);
    // one controller for the running parts: the user's stop, or the first failure, ends them all
    let partCtl = new AbortController();
    const onAbort = () => partCtl.abort();
    o.signal?.addEventListener('abort', onAbort, { once: true });

    const runPart = async (p: Part) => {
      const ctl = partCtl;
      let failures = 0;
      while (p.done < p.end - p.start) {
        if (o.signal?.aborted) throw abortError(o.file);
        if (ctl.signal.aborted) return;
        const from = p.start + p.done;
        const ranged = from > 0 || p.end < o.size;
        const before = p.done;
        try {
          let res: Response;
          try {
            result.requests++;
            res = await doFetch(o.url, { headers: { ...authHeaders(o.token), ...(ranged ? { Range: `bytes=${from}-${p.end - 1}` } : {}) }, signal: ctl.signal });
          } catch (e) {
            if (o.signal?.aborted) throw abortError(o.file, e);
            if (ctl.signal.aborted) return;
            throw new Transient(`request failed: ${e instanceof Error ? e.message : String(e)}`);
          }
          if (res.status === 200 && ranged) {
            if (parts!.length > 1) {
              await res.body?.cancel().catch(() => {});
              throw new RangeIgnored();
            }
            await serial(restartFromZero); // one stream, and the server sent the whole file again
            p = parts![0];
          } else if (res.status === 206) {
            const cr = parseContentRange(res.headers.get('content-range'));
            if (!cr || cr.start !== from) {
              await res.body?.cancel().catch(() => {});
              throw new Transient(`server answered range ${res.headers.get('content-range')} for bytes=${from}-`);
            }
            if (cr.total !== null && cr.total !== o.size) throw new BoxedError('Integrity', `the server's file has ${cr.total} bytes, the hub lists ${o.size}`, { file: o.file });
          } else if (res.status !== 200) {
            await res.body?.cancel().catch(() => {});
            if (RETRY_STATUS.has(res.status) || res.status === 416) throw new Transient(`HTTP ${res.status}`);
            throw hubHttpError(res, 'download', o.repo, o.revision, o.file);
          }
          if (!res.body) throw new Transient('response has no body');
          retrying = undefined;
          const reader = res.body.getReader();
          try {
            for (;;) {
              const { done, value } = await reader.read();
              if (done) break;
              await put(p, value);
              progress(false);
            }
          } catch (e) {
            reader.cancel().catch(() => {});
            if (o.signal?.aborted) throw abortError(o.file, e);
            if (e instanceof BoxedError) throw e;
            if (ctl.signal.aborted) return;
            throw new Transient(`connection dropped at byte ${p.start + p.done}: ${e instanceof Error ? e.message : String(e)}`);
          }
          if (p.done < p.end - p.start) throw new Transient(`body ended at byte ${p.start + p.done} of ${p.end}`);
        } catch (e) {
          if (!(e instanceof Transient)) throw e;
          failures = p.done > before ? 1 : failures + 1;
          if (failures > retries) throw new BoxedError('Network', `${e.message} (gave up after ${retries} retries)`, { file: o.file, detail: { url: o.url } });
          await serial(saveState);
          const wait = Math.min(baseDelay * 2 ** (failures - 1), 30_000);
          for (let left = wait; left > 0; left -= 1000) {
            retrying = { attempt: failures, of: retries, inMs: left };
            progress(true, 'retrying');
            await sleep(Math.min(1000, left), o.signal, o.file);
          }
        }
      }
    };

    /** Runs the unfinished parts; the first failure stops the others. Returns that failure, if any. */
    const runAll = async (): Promise<unknown> => {
      partCtl = new AbortController();
      if (o.signal?.aborted) partCtl.abort();
      let first: unknown = null;
      await Promise.all(
        parts!
          .filter((p) => p.done < p.end - p.start)
          .map((p) =>
            runPart(p).catch((e: unknown) => {
              first ??= e;
              partCtl.abort();
            }),
          ),
      );
      await queue;
      return first;
    };

    try {
      let failure = await runAll();
      if (failure instanceof RangeIgnored) {
        // the server does not do ranges: one plain stream from byte 0
        await serial(restartFromZero);
        failure = await runAll();
      }
      if (failure) {
        await queue.catch(() => {});
        await serial(saveState).catch(() => {});
        throw failure;
      }
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
    }
    return await finish();

    async function finish(): Promise<TransferResult> {
      await queue;
      await serial(catchUp);
      await queue;
      progress(true, 'verifying');
      const size = await writer.size();
      if (size !== o.size || hashed !== o.size) throw new BoxedError('Integrity', `received ${size} bytes, the hub lists ${o.size}`, { file: o.file });
      if (hasher) {
        const got = hasher.digest('hex');
        const want = o.sha256 ?? o.gitSha1;
        if (got !== want) {
          throw new BoxedError('Integrity', `the downloaded bytes do not match the hub's ${o.sha256 ? 'SHA-256' : 'git SHA-1'} (expected ${want}, got ${got}); the file was deleted`, {
            file: o.file,
            detail: { expected: want ?? '', got },
          });
        }
      }
      await writer.flush();
      progress(true, 'done');
      return result;
    }
  } catch (e) {
    await writer.close().catch(() => {});
    throw e;
  } finally {
    await writer.close().catch(() => {});
  }
}

/** The parts recorded for a partial file that matches this download, or null to start afresh. */
async function resumeParts(store: CacheStore, statePath: string, writer: CacheWriter, o: TransferOptions): Promise<Part[] | null> {
  const onDisk = await writer.size();
  if (onDisk === 0) return null;
  const text = await store.readText(statePath);
  if (text === null) return null;
  try {
    const st = JSON.parse(text) as PartialState;
    if (st.size !== o.size || st.sha256 !== o.sha256 || st.gitSha1 !== o.gitSha1 || !Array.isArray(st.parts)) return null;
    const ok = st.parts.every((p) => Number.isSafeInteger(p.start) && Number.isSafeInteger(p.end) && Number.isSafeInteger(p.done) && p.done >= 0 && p.start + p.done <= Math.min(p.end, onDisk));
    return ok && st.parts.length > 0 ? st.parts : null;
  } catch {
    return null;
  }
}
