// Files of a Hugging Face hub repository, as a FileProvider:
//   ${endpoint}/${repo}/resolve/${revision}/${file}
// Repo, revision and file names are validated (no path injection: no '..', no odd characters), then
// URL-encoded. Each file is downloaded once (progress, resume, retries: download.ts) and kept in memory as a
// Blob: this provider serves where no model cache exists (the on-disk cache is model-cache.ts).
import { BoxedError } from '../protocol/errors';
import { download, MemorySink, type DownloadProgress } from './download';
import { blobSource, type ByteSource, type FileProvider } from './source';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';
export const DEFAULT_REVISION = 'main';

export interface HubOptions {
  endpoint?: string;
  /** 'owner/name', e.g. 'nvidia/OpenReasoning-Nemotron-1.5B' */
  repo: string;
  /** branch, tag or commit; default 'main' */
  revision?: string;
  fetch?: typeof fetch;
  onProgress?: (e: DownloadProgress) => void;
  signal?: AbortSignal;
  retries?: number;
  retryDelayMs?: number;
}

const REPO_PART = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
const NAME_PART = /^[A-Za-z0-9._-]{1,255}$/;

function invalid(message: string): never {
  throw new BoxedError('InvalidRequest', message);
}

function checkParts(what: string, value: string, parts: string[], re: RegExp): void {
  if (parts.some((p) => !re.test(p) || p === '.' || p === '..')) invalid(`${what} "${value}" is not a valid name`);
}

/** Validated endpoint without a trailing slash. */
export function normalizeEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    invalid(`endpoint "${endpoint}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') invalid(`endpoint "${endpoint}" must be http(s)`);
  if (url.search || url.hash || url.username || url.password) invalid(`endpoint "${endpoint}" must not have a query, fragment or credentials`);
  return url.href.replace(/\/+$/, '');
}

export function checkRepo(repo: string): void {
  const parts = repo.split('/');
  if (parts.length !== 2) invalid(`repo "${repo}" must look like owner/name`);
  checkParts('repo', repo, parts, REPO_PART);
}

/** Revisions may contain '/' (refs/pr/1); each part is checked and the whole is encoded as one URL segment. */
export function checkRevision(revision: string): void {
  checkParts('revision', revision, revision.split('/'), NAME_PART);
}

/** Files may sit in folders (onnx/model.onnx); each part is checked. */
export function checkFile(file: string): void {
  checkParts('file', file, file.split('/'), NAME_PART);
}

export function hubFileUrl(endpoint: string, repo: string, revision: string, file: string): string {
  checkRepo(repo);
  checkRevision(revision);
  checkFile(file);
  const path = file.split('/').map(encodeURIComponent).join('/');
  return `${normalizeEndpoint(endpoint)}/${repo}/resolve/${encodeURIComponent(revision)}/${path}`;
}

/** A FileProvider over a hub repo. open() downloads the file (once; later calls share it); 404 -> null. */
export function hubFileProvider(opts: HubOptions): FileProvider {
  const endpoint = normalizeEndpoint(opts.endpoint ?? DEFAULT_ENDPOINT);
  const revision = opts.revision ?? DEFAULT_REVISION;
  checkRepo(opts.repo);
  checkRevision(revision);
  const opened = new Map<string, Promise<ByteSource | null>>();

  const fetchFile = async (file: string): Promise<ByteSource | null> => {
    const url = hubFileUrl(endpoint, opts.repo, revision, file);
    const sink = new MemorySink();
    const r = await download(url, sink, {
      file,
      fetch: opts.fetch,
      signal: opts.signal,
      retries: opts.retries,
      retryDelayMs: opts.retryDelayMs,
      onProgress: opts.onProgress,
    });
    return r.status === 'not-found' ? null : blobSource(file, sink.toBlob());
  };

  return {
    async open(file) {
      checkFile(file);
      let p = opened.get(file);
      if (!p) {
        p = fetchFile(file);
        opened.set(file, p);
        p.catch(() => opened.delete(file)); // a failed download may be tried again
      }
      return p;
    },
  };
}
