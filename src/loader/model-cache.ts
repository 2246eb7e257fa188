// The model cache: a hub repository's files downloaded once, verified, and kept in a CacheStore, keyed by
// endpoint + repository + resolved commit + file (layout: cache-store.ts).
//   1. The revision is resolved to a commit (the hub's revision API). A branch whose commit is cached loads with
//      no network at all when the hub does not answer; when the branch moved, the cached commit is still used and
//      the newer one is reported (`newerCommit`), unless `update` asks for it. The old copy is never deleted here.
//   2. A complete, verified copy of that commit is opened as it is.
//   3. Otherwise the tree API gives each file's size and hash; the bytes still missing are compared with the
//      store's free quota first (Quota error naming the numbers, nothing written); then each file is
//      downloaded (transfer.ts) into <file>.partial and renamed to <file> only once size and hash match.
//      A hash mismatch or a full disk deletes the partial file; other failures keep it for a resume.
// The token (gated or private repositories) goes only to the endpoint: fetch drops the Authorization header when
// the hub redirects a download to another origin (its CDN).
import { BoxedError } from '../protocol/errors';
import { cacheSegment, fromCacheSegment, type CacheStore } from './cache-store';
import { checkRepo, checkRevision, hubFileUrl, normalizeEndpoint } from './hub';
import { COMMIT_RE, listFiles, resolveRevision, type HubAuth } from './hub-api';
import { INDEX_FILE } from './sharded';
import { GGUF_FILE } from './gguf/checkpoint';
import type { ByteSource, FileProvider } from './source';
import { transferToCache, type TransferOptions, type TransferProgress } from './transfer';

const SIDE_FILES = new Set(['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', INDEX_FILE]);

/** The files of a repository the loader reads: the JSON side files and the top-level safetensors. */
export function isModelFile(path: string): boolean {
  return !path.includes('/') && (SIDE_FILES.has(path) || path.endsWith('.safetensors'));
}

export interface CachedFile {
  name: string;
  size: number;
  sha256?: string;
  gitSha1?: string;
  /** true once the file is complete and its size and hash matched */
  verified: boolean;
}

export interface CacheManifest {
  version: 1;
  endpoint: string;
  repo: string;
  commit: string;
  /** the revision it was first loaded by (a branch, tag or the commit) */
  revision: string;
  files: CachedFile[];
  complete: boolean;
  createdAt: number;
  completedAt?: number;
}

export interface CachedModelOptions {
  store: CacheStore;
  endpoint: string;
  repo: string;
  revision: string;
  token?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** follow a moved branch to its newest commit even when an older copy is cached */
  update?: boolean;
  /**
   * One .gguf file of the repository (a whole model): only it is downloaded, into the same commit's cache next to
   * whatever else of that commit is there, and the provider offers it as the loader's GGUF_FILE.
   */
  file?: string;
  /**
   * Called once before `file` is downloaded (not when it is cached): its URL on the endpoint and its size. A
   * rejection ends the load before a byte of it is fetched (the engine's trial allocation from its header).
   */
  beforeDownload?: (f: { name: string; url: string; size: number }) => Promise<void>;
  transfer?: Pick<TransferOptions, 'retries' | 'retryDelayMs' | 'parallel' | 'partMinBytes' | 'progressIntervalMs'>;
  onProgress?: (p: TransferProgress) => void;
  now?: () => number;
}

export interface CachedModel {
  provider: FileProvider;
  manifest: CacheManifest;
  /** true when the hub did not answer and the cached commit of the branch was used */
  offline: boolean;
  /** the branch's newer commit on the hub, when an older cached one was used */
  newerCommit?: string;
  /** bytes fetched by this call */
  downloadedBytes: number;
}

export function modelDir(endpoint: string, repo: string): string {
  const [owner, name] = repo.split('/');
  return [normalizeEndpoint(endpoint), owner, name].map(cacheSegment).join('/');
}

const commitDir = (endpoint: string, repo: string, commit: string) => `${modelDir(endpoint, repo)}/${commit}`;
const filePath = (dir: string, name: string) => `${dir}/files/${cacheSegment(name)}`;

async function readManifest(store: CacheStore, dir: string): Promise<CacheManifest | null> {
  const text = await store.readText(`${dir}/manifest.json`);
  if (text === null) return null;
  try {
    const m = JSON.parse(text) as CacheManifest;
    return m.version === 1 && Array.isArray(m.files) && COMMIT_RE.test(m.commit) ? m : null;
  } catch {
    return null;
  }
}

/** Whether the manifest's files that `pick` selects (at least one) are all here and verified. */
async function usable(store: CacheStore, dir: string, m: CacheManifest | null, pick: (name: string) => boolean): Promise<boolean> {
  const files = m?.files.filter((f) => pick(f.name)) ?? [];
  if (files.length === 0) return false;
  for (const f of files) if (!f.verified || (await store.sizeOf(filePath(dir, f.name))) !== f.size) return false;
  return true;
}

function providerFor(store: CacheStore, dir: string, m: CacheManifest, file?: string): FileProvider {
  if (file !== undefined) return { open: async (name): Promise<ByteSource | null> => (name === GGUF_FILE ? store.openReader(filePath(dir, file), file) : null) };
  const names = new Set(m.files.filter((f) => isModelFile(f.name)).map((f) => f.name));
  return {
    open: async (name): Promise<ByteSource | null> => (names.has(name) ? store.openReader(filePath(dir, name), name) : null),
  };
}

export async function openCachedModel(o: CachedModelOptions): Promise<CachedModel> {
  const { store } = o;
  const endpoint = normalizeEndpoint(o.endpoint);
  checkRepo(o.repo);
  checkRevision(o.revision);
  const now = o.now ?? Date.now;
  const auth: HubAuth = { endpoint, repo: o.repo, token: o.token, fetch: o.fetch, signal: o.signal };
  const refPath = `${modelDir(endpoint, o.repo)}/refs/${cacheSegment(o.revision)}`;
  const isCommit = COMMIT_RE.test(o.revision);
  const cachedCommit = isCommit ? o.revision : ((await store.readText(refPath))?.trim() ?? null);
  const cachedDir = cachedCommit && COMMIT_RE.test(cachedCommit) ? commitDir(endpoint, o.repo, cachedCommit) : null;
  const cachedManifest = cachedDir ? await readManifest(store, cachedDir) : null;
  if (o.file !== undefined && !o.file.toLowerCase().endsWith('.gguf')) throw new BoxedError('InvalidRequest', `"${o.file}" is not a .gguf file`);
  const pick = (name: string) => (o.file !== undefined ? name === o.file : isModelFile(name));
  const cachedOk = cachedDir !== null && (await usable(store, cachedDir, cachedManifest, pick));

  let commit: string;
  let offline = false;
  let newerCommit: string | undefined;
  if (isCommit) commit = o.revision;
  else {
    let online: string | null = null;
    try {
      online = await resolveRevision(auth, o.revision);
    } catch (e) {
      // the hub is unreachable or failing: a cached copy of the branch is what the user has
      if (!(e instanceof BoxedError && e.name === 'Network' && cachedOk)) throw e;
    }
    if (online === null) {
      commit = cachedCommit!;
      offline = true;
    } else if (cachedOk && online !== cachedCommit && !o.update) {
      commit = cachedCommit!;
      newerCommit = online;
    } else commit = online;
  }
  const dir = commitDir(endpoint, o.repo, commit);
  const existing = commit === cachedCommit ? cachedManifest : await readManifest(store, dir);
  if ((commit === cachedCommit && cachedOk) || (await usable(store, dir, existing, pick))) {
    for (const f of existing!.files) if (pick(f.name)) o.onProgress?.({ file: f.name, loaded: f.size, total: f.size, bytesPerSecond: 0, state: 'done' });
    if (!isCommit && !offline && !newerCommit) await store.writeText(refPath, commit);
    return { provider: providerFor(store, dir, existing!, o.file), manifest: existing!, offline, newerCommit, downloadedBytes: 0 };
  }

  // a .gguf file in a folder of the repository is listed only by the recursive tree
  const listed = (await listFiles(auth, commit, { recursive: o.file?.includes('/') === true })).filter((f) => pick(f.path));
  if (o.file !== undefined && listed.length === 0) throw new BoxedError('NotFound', `${o.repo} has no file ${o.file} at ${o.revision}`);
  const files: CachedFile[] = listed.map((f) => ({ name: f.path, size: f.size, sha256: f.sha256, gitSha1: f.gitSha1, verified: false }));
  // what is already here: verified files, and the bytes of partial downloads
  let missing = 0;
  for (const f of files) {
    const done = existing?.files.find((g) => g.name === f.name && g.verified && g.size === f.size && g.sha256 === f.sha256);
    if (done && (await store.sizeOf(filePath(dir, f.name))) === f.size) {
      f.verified = true;
      continue;
    }
    const partial = (await store.sizeOf(`${filePath(dir, f.name)}.partial`)) ?? 0;
    missing += f.size - Math.min(partial, f.size);
  }
  const est = await store.estimate();
  if (est && est.quota - est.usage < missing) {
    const free = Math.max(0, est.quota - est.usage);
    throw new BoxedError('Quota', `${o.repo} needs ${missing} more bytes of storage, but only ${free} of the ${est.quota} allowed are free (${est.usage} in use)`, {
      detail: { neededBytes: missing, availableBytes: free, quotaBytes: est.quota, usageBytes: est.usage },
    });
  }

  const gguf = o.file !== undefined ? files.find((f) => f.name === o.file && !f.verified) : undefined;
  if (gguf && o.beforeDownload) await o.beforeDownload({ name: gguf.name, url: hubFileUrl(endpoint, o.repo, commit, gguf.name), size: gguf.size });

  // files of this commit cached by other loads (a GGUF next to the safetensors, or another GGUF) stay listed
  const others = existing?.files.filter((g) => !files.some((f) => f.name === g.name)) ?? [];
  const manifest: CacheManifest = { version: 1, endpoint, repo: o.repo, commit, revision: o.revision, files: [...others, ...files], complete: false, createdAt: existing?.createdAt ?? now() };
  await store.writeText(`${dir}/manifest.json`, JSON.stringify(manifest));
  let downloadedBytes = 0;
  // small files first: a wrong repository fails on config.json, not after gigabytes
  for (const f of [...files].sort((a, b) => a.size - b.size)) {
    const final = filePath(dir, f.name);
    if (f.verified) {
      o.onProgress?.({ file: f.name, loaded: f.size, total: f.size, bytesPerSecond: 0, state: 'done' });
      continue;
    }
    const partial = `${final}.partial`;
    try {
      const r = await transferToCache(store, partial, {
        ...o.transfer,
        file: f.name,
        url: hubFileUrl(endpoint, o.repo, commit, f.name),
        size: f.size,
        sha256: f.sha256,
        gitSha1: f.sha256 ? undefined : f.gitSha1,
        repo: o.repo,
        revision: o.revision,
        token: o.token,
        fetch: o.fetch,
        signal: o.signal,
        onProgress: o.onProgress,
      });
      downloadedBytes += f.size - r.resumedFrom;
    } catch (e) {
      if (e instanceof BoxedError && (e.name === 'Integrity' || e.name === 'Quota')) {
        await store.remove(partial);
        await store.remove(`${partial}.json`);
        if (e.name === 'Quota') await store.remove(dir); // an incomplete copy is of no use and the space is needed
      }
      throw e;
    }
    await store.remove(`${partial}.json`);
    await store.rename(partial, cacheSegment(f.name));
    f.verified = true;
    await store.writeText(`${dir}/manifest.json`, JSON.stringify(manifest));
  }
  manifest.complete = manifest.files.every((f) => f.verified);
  manifest.completedAt = now();
  await store.writeText(`${dir}/manifest.json`, JSON.stringify(manifest));
  if (!isCommit) await store.writeText(refPath, commit);
  return { provider: providerFor(store, dir, manifest, o.file), manifest, offline: false, downloadedBytes };
}

export interface CachedEntry {
  endpoint: string;
  repo: string;
  commit: string;
  /** branches and tags that resolve to this commit here */
  refs: string[];
  /** bytes on disk, partial downloads included */
  bytes: number;
  /** bytes of the complete model */
  totalBytes: number;
  complete: boolean;
  verified: boolean;
  createdAt: number;
  completedAt?: number;
}

/** Every model in the store, newest first. */
export async function listCachedModels(store: CacheStore): Promise<CachedEntry[]> {
  const out: CachedEntry[] = [];
  for (const ep of await store.list('')) {
    for (const owner of await store.list(ep)) {
      for (const name of await store.list(`${ep}/${owner}`)) {
        const base = `${ep}/${owner}/${name}`;
        const refs = new Map<string, string[]>();
        for (const r of await store.list(`${base}/refs`)) {
          const c = (await store.readText(`${base}/refs/${r}`))?.trim() ?? '';
          refs.set(c, [...(refs.get(c) ?? []), fromCacheSegment(r)]);
        }
        for (const commit of await store.list(base)) {
          if (!COMMIT_RE.test(commit)) continue;
          const m = await readManifest(store, `${base}/${commit}`);
          if (!m) continue;
          let bytes = 0;
          for (const f of m.files) {
            const p = filePath(`${base}/${commit}`, f.name);
            bytes += (await store.sizeOf(p)) ?? (await store.sizeOf(`${p}.partial`)) ?? 0;
          }
          out.push({
            endpoint: m.endpoint,
            repo: m.repo,
            commit,
            refs: refs.get(commit) ?? [],
            bytes,
            totalBytes: m.files.reduce((a, f) => a + f.size, 0),
            complete: m.complete,
            verified: m.complete && m.files.every((f) => f.verified),
            createdAt: m.createdAt,
            completedAt: m.completedAt,
          });
        }
      }
    }
  }
  return out.sort((a, b) => b.createdAt - a.createdAt);
}

/** Deletes one cached commit (and the refs that point at it). */
export async function deleteCachedModel(store: CacheStore, endpoint: string, repo: string, commit: string): Promise<void> {
  if (!COMMIT_RE.test(commit)) throw new BoxedError('InvalidRequest', `"${commit}" is not a commit`);
  const base = modelDir(endpoint, repo);
  for (const r of await store.list(`${base}/refs`)) {
    if ((await store.readText(`${base}/refs/${r}`))?.trim() === commit) await store.remove(`${base}/refs/${r}`);
  }
  await store.remove(`${base}/${commit}`);
  if ((await store.list(base)).every((n) => n === 'refs')) await store.remove(base);
  const [ep, owner] = base.split('/');
  if ((await store.list(`${ep}/${owner}`)).length === 0) await store.remove(`${ep}/${owner}`);
  if ((await store.list(ep)).length === 0) await store.remove(ep);
}
