// The hub's metadata calls, as the model cache needs them:
//   GET ${endpoint}/api/models/${repo}/revision/${revision}  -> { sha }                  (a branch or tag -> its commit)
//   GET ${endpoint}/api/models/${repo}/tree/${commit}        -> [{ type, path, size, oid, lfs?: { oid } }]
//   GET ${endpoint}/api/models/${repo}/tree/${commit}?recursive=true   the same, with the files in folders too
//                                                                       (paths relative to the repository root)
// `oid` is the git blob SHA-1 of a file; `lfs.oid` the SHA-256 of an LFS file's content. The tree API pages a
// long answer: a `Link: <URL>; rel="next"` header names the next page, followed here (on the same endpoint
// only, since the token goes with it) up to MAX_TREE_PAGES.
// Failures are typed: 404 -> NotFound (the hub's X-Error-Code tells a missing repository from a missing
// revision), 401/403 -> AccessDenied (gated or private), no answer at all -> Network with detail.offline.
// A token, when given, goes in an Authorization header to the endpoint and nowhere else.
import { BoxedError } from '../protocol/errors';
import { checkFile, checkRepo, checkRevision, normalizeEndpoint } from './hub';

export const COMMIT_RE = /^[0-9a-f]{40}$/;

/** The longest .gguf path (folders included) a link or a setting may name. */
export const MAX_GGUF_PATH = 512;

/**
 * A .gguf file of a repository as a link or a form may name it: a relative path (folders allowed) ending in
 * .gguf, each part a plain name (no '..', '.', empty part, leading '/', backslash or escapes), at most
 * MAX_GGUF_PATH characters. Throws InvalidRequest otherwise.
 */
export function checkGgufFile(file: string): void {
  if (file.length > MAX_GGUF_PATH) throw new BoxedError('InvalidRequest', `the file name is longer than ${MAX_GGUF_PATH} characters`);
  if (!file.toLowerCase().endsWith('.gguf')) throw new BoxedError('InvalidRequest', `"${file.slice(0, 100)}" is not a .gguf file`);
  checkFile(file);
}

/** `file` when checkGgufFile accepts it, else null (for values read from links and saved settings). */
export function ggufFileOrNull(file: string | undefined): string | null {
  if (!file) return null;
  try {
    checkGgufFile(file);
    return file;
  } catch {
    return null;
  }
}

export interface HubFileEntry {
  path: string;
  size: number;
  /** git blob SHA-1 (hex) */
  gitSha1?: string;
  /** SHA-256 (hex) of an LFS file */
  sha256?: string;
}

export interface HubAuth {
  endpoint: string;
  repo: string;
  token?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export function authHeaders(token: string | undefined): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** The typed error for a hub answer that is not 2xx. */
export function hubHttpError(res: Response, what: string, repo: string, revision: string, file?: string): BoxedError {
  const code = res.headers.get('x-error-code') ?? '';
  const detail = { status: res.status, code };
  if (res.status === 404 && code === 'RevisionNotFound') return new BoxedError('NotFound', `revision "${revision}" does not exist in ${repo}`, { detail: { ...detail, revision } });
  if (res.status === 404 && code === 'EntryNotFound') return new BoxedError('NotFound', `${repo}@${revision} has no file ${file ?? what}`, { file, detail });
  if (res.status === 404) return new BoxedError('NotFound', `repository ${repo} does not exist on this hub`, { detail });
  if (res.status === 401 || res.status === 403) {
    const gated = code === 'GatedRepo';
    const msg = gated
      ? `${repo} is gated: accept its terms on the hub, then give an access token of an account that has access`
      : `${repo} is private or does not exist: an access token of an account that can read it is needed`;
    return new BoxedError('AccessDenied', msg, { file, detail: { ...detail, gated } });
  }
  return new BoxedError('Network', `${what}: HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}`, { file, detail });
}

/** Pages of a tree listing followed at most (a repository of this many thousand files is not a model). */
export const MAX_TREE_PAGES = 50;

/** The `rel="next"` URL of a Link header, when it is on the endpoint itself; else null. */
export function nextPageUrl(link: string | null, endpoint: string): string | null {
  if (!link) return null;
  for (const part of link.split(',')) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (!m || !/(^|;)\s*rel\s*=\s*"?next"?\s*(;|$)/i.test(m[2])) continue;
    try {
      const url = new URL(m[1], endpoint + '/');
      const base = new URL(endpoint + '/');
      return url.origin === base.origin && url.pathname.startsWith(base.pathname) ? url.href : null;
    } catch {
      return null;
    }
  }
  return null;
}

async function getJson(url: string, a: HubAuth, what: string, revision: string, onHeaders?: (h: Headers) => void): Promise<unknown> {
  const doFetch = a.fetch ?? globalThis.fetch.bind(globalThis);
  let res: Response;
  try {
    res = await doFetch(url, { headers: authHeaders(a.token), signal: a.signal });
  } catch (e) {
    if (a.signal?.aborted) throw new BoxedError('Aborted', 'stopped', { cause: e });
    throw new BoxedError('Network', `the hub at ${a.endpoint} did not answer (${e instanceof Error ? e.message : String(e)})`, { detail: { offline: true }, cause: e });
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    throw hubHttpError(res, what, a.repo, revision);
  }
  onHeaders?.(res.headers);
  try {
    return await res.json();
  } catch (e) {
    throw new BoxedError('Network', `${what}: the hub's answer is not JSON`, { cause: e });
  }
}

/** The commit a branch, tag or commit names. */
export async function resolveRevision(a: HubAuth, revision: string): Promise<string> {
  checkRepo(a.repo);
  checkRevision(revision);
  const url = `${normalizeEndpoint(a.endpoint)}/api/models/${a.repo}/revision/${encodeURIComponent(revision)}`;
  const json = (await getJson(url, a, 'revision lookup', revision)) as { sha?: unknown };
  if (typeof json?.sha !== 'string' || !COMMIT_RE.test(json.sha)) throw new BoxedError('Network', `the hub's revision answer for ${a.repo}@${revision} has no commit`);
  return json.sha;
}

/**
 * The files of a commit with sizes and hashes: those at its top level, or with `recursive` those in its
 * folders too (each path relative to the repository root, e.g. 'Q4_K_M/model-Q4_K_M.gguf'). A path that is
 * not a plain relative file name (checkFile) is left out.
 */
export async function listFiles(a: HubAuth, commit: string, opts: { recursive?: boolean } = {}): Promise<HubFileEntry[]> {
  checkRepo(a.repo);
  const endpoint = normalizeEndpoint(a.endpoint);
  let url: string | null = `${endpoint}/api/models/${a.repo}/tree/${encodeURIComponent(commit)}${opts.recursive ? '?recursive=true' : ''}`;
  const out: HubFileEntry[] = [];
  const seen = new Set<string>();
  for (let page = 0; url !== null; page++) {
    if (page >= MAX_TREE_PAGES) throw new BoxedError('Network', `the hub's file listing for ${a.repo}@${commit} is longer than ${MAX_TREE_PAGES} pages`);
    if (seen.has(url)) break; // a page that names itself as the next one
    seen.add(url);
    let next: string | null = null;
    const json = await getJson(url, a, 'file listing', commit, (h) => (next = nextPageUrl(h.get('link'), endpoint)));
    if (!Array.isArray(json)) throw new BoxedError('Network', `the hub's file listing for ${a.repo}@${commit} is not a list`);
    for (const e of json as Array<Record<string, unknown>>) {
      if (e?.type !== 'file' || typeof e.path !== 'string' || typeof e.size !== 'number' || !Number.isSafeInteger(e.size) || e.size < 0) continue;
      if (!plainPath(e.path)) continue;
      const lfs = e.lfs as { oid?: unknown } | undefined;
      const hex = (v: unknown, len: number) => (typeof v === 'string' && new RegExp(`^[0-9a-f]{${len}}$`).test(v) ? v : undefined);
      out.push({ path: e.path, size: e.size, gitSha1: hex(e.oid, 40), sha256: hex(lfs?.oid, 64) });
    }
    url = next;
  }
  return out;
}

function plainPath(path: string): boolean {
  try {
    checkFile(path);
    return true;
  } catch {
    return false;
  }
}
