// The model cache against the real local hub server, in a real folder store: first download, offline reopen,
// parallel ranges, resume after a cut, a corrupted byte, quota, a moved branch, typed hub errors, retry state.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startHubServer, type HubServer, type HubServerOptions } from '../../scripts/hub-server';
import { FolderStore } from '../cli/folder-store';
import { randomUniform } from '../cpu/random';
import type { CacheStore } from './cache-store';
import { deleteCachedModel, listCachedModels, openCachedModel, type CachedModelOptions } from './model-cache';
import type { TransferProgress } from './transfer';
import { boxedError } from './test-errors';
import { BoxedError } from '../protocol/errors';
import { GGUF_FILE } from './gguf/checkpoint';
import { listFiles, nextPageUrl } from './hub-api';

const REPO = 'org/cache-model';
const NESTED_REPO = 'org/nested-gguf';
const SIZE = 3_000_017;
const GGUF_SIZE = 1_000_003;
let ggufBytes: Uint8Array;
let root: string;
let weights: Uint8Array;
const servers: HubServer[] = [];
const stores: string[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'boxed-cache-hub-'));
  weights = new Uint8Array(randomUniform(SIZE / 4 + 1, 5, -1e3, 1e3).buffer).slice(0, SIZE);
  const dir = join(root, REPO);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.safetensors'), weights);
  await writeFile(join(dir, 'config.json'), '{"hidden_size": 16}');
  await writeFile(join(dir, 'tokenizer.json'), '{"model": {}}');
  await writeFile(join(dir, 'README.md'), 'not a model file');
  ggufBytes = new Uint8Array(randomUniform(GGUF_SIZE / 4 + 1, 6, -1, 1).buffer).slice(0, GGUF_SIZE);
  await writeFile(join(dir, 'model-Q4_K.gguf'), ggufBytes);
  // a repository with its .gguf files in folders, as some community repositories keep each quantization
  const nested = join(root, NESTED_REPO);
  await mkdir(join(nested, 'Q4_K_M', 'parts'), { recursive: true });
  await writeFile(join(nested, 'README.md'), 'quantizations in folders');
  await writeFile(join(nested, 'top-Q8_0.gguf'), ggufBytes.subarray(0, 1000));
  await writeFile(join(nested, 'Q4_K_M', 'model-Q4_K_M.gguf'), ggufBytes);
  await writeFile(join(nested, 'Q4_K_M', 'parts', 'deep-Q6_K.gguf'), ggufBytes.subarray(0, 777));
});
afterEach(async () => {
  while (servers.length) await servers.pop()!.close();
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  for (const s of stores) await rm(s, { recursive: true, force: true });
});

async function server(opts: Omit<HubServerOptions, 'root'> = {}): Promise<HubServer> {
  const s = await startHubServer({ root, ...opts });
  servers.push(s);
  return s;
}

async function folder(limitBytes?: number): Promise<FolderStore> {
  const dir = await mkdtemp(join(tmpdir(), 'boxed-cache-'));
  stores.push(dir);
  return new FolderStore(dir, { limitBytes });
}

const quick = { retries: 2, retryDelayMs: 1, progressIntervalMs: 0 };

function open(store: CacheStore, s: HubServer | string, extra: Partial<CachedModelOptions> = {}) {
  return openCachedModel({ store, endpoint: typeof s === 'string' ? s : s.url, repo: REPO, revision: 'main', transfer: quick, ...extra });
}

async function weightsVia(p: Awaited<ReturnType<typeof open>>): Promise<Uint8Array> {
  const src = await p.provider.open('model.safetensors');
  if (!src) throw new Error('no model.safetensors');
  return src.read(0, src.size);
}

const fileGets = (s: HubServer) => s.requests.filter((r) => r.method === 'GET' && r.path.includes('/resolve/'));

describe('model cache', () => {
  it('downloads once, verified; reopens with no file requests; opens offline with the server gone', async () => {
    const s = await server();
    const store = await folder();
    const first = await open(store, s);
    expect(first.manifest.complete).toBe(true);
    expect(first.manifest.files.map((f) => [f.name, f.verified, f.sha256 !== undefined]).sort()).toEqual([
      ['config.json', true, false],
      ['model.safetensors', true, true],
      ['tokenizer.json', true, false],
    ]);
    expect(first.downloadedBytes).toBe(SIZE + 19 + 13);
    expect(Buffer.compare(Buffer.from(await weightsVia(first)), Buffer.from(weights))).toBe(0);
    expect(await first.provider.open('README.md')).toBeNull();
    const gets = fileGets(s).length;
    expect(fileGets(s).every((r) => r.path.includes(`/resolve/${first.manifest.commit}/`))).toBe(true);

    const again = await open(store, s);
    expect(again).toMatchObject({ downloadedBytes: 0, offline: false });
    expect(fileGets(s).length).toBe(gets);

    const url = s.url;
    await s.close();
    servers.length = 0;
    const offline = await open(store, url);
    expect(offline.offline).toBe(true);
    expect(offline.manifest.commit).toBe(first.manifest.commit);
    expect((await weightsVia(offline)).length).toBe(SIZE);
    // no partial files or state left behind
    const files = await readdir(store.root, { recursive: true });
    expect(files.filter((f) => String(f).includes('.partial'))).toEqual([]);
    const [entry] = await listCachedModels(store);
    expect(entry).toMatchObject({ repo: REPO, commit: first.manifest.commit, refs: ['main'], complete: true, verified: true, bytes: SIZE + 32, totalBytes: SIZE + 32 });
  });

  it('fetches a large file in parallel Range requests, one combined progress', async () => {
    const s = await server();
    const store = await folder();
    const events: TransferProgress[] = [];
    const m = await open(store, s, { transfer: { ...quick, parallel: 3, partMinBytes: 1_000_000 }, onProgress: (e) => events.push(e) });
    expect(Buffer.compare(Buffer.from(await weightsVia(m)), Buffer.from(weights))).toBe(0);
    const ranges = fileGets(s)
      .filter((r) => r.path.endsWith('model.safetensors'))
      .map((r) => [r.range, r.status]);
    expect(ranges).toEqual([
      ['bytes=0-1000005', 206],
      ['bytes=1000006-2000011', 206],
      ['bytes=2000012-3000016', 206],
    ]);
    const w = events.filter((e) => e.file === 'model.safetensors');
    for (let i = 1; i < w.length; i++) expect(w[i].loaded).toBeGreaterThanOrEqual(w[i - 1].loaded);
    expect(w.at(-1)).toMatchObject({ state: 'done', loaded: SIZE, total: SIZE });
  });

  it('resumes from the bytes on disk after a cut, with a Range request, not from zero', async () => {
    const cut = await server({ faults: { cutAtFraction: 0.5, times: 100, only: 'model.safetensors' } });
    const store = await folder();
    const e = await boxedError(open(store, cut, { transfer: { ...quick, retries: 0 } }));
    expect(e.name).toBe('Network');
    expect((await listCachedModels(store))[0]).toMatchObject({ complete: false, verified: false });
    const onDisk = (await listCachedModels(store))[0].bytes;
    expect(onDisk).toBeGreaterThan(SIZE / 2 - 100_000);

    // the same endpoint (the cache is keyed by it), now without the fault
    const port = Number(new URL(cut.url).port);
    await servers.pop()!.close();
    const s = await server({ port });
    const m = await open(store, s);
    expect(m.downloadedBytes).toBe(SIZE - (onDisk - 32));
    // trying again fetches nothing that was finished: only the rest of the cut file
    expect(fileGets(s).map((r) => r.path.split('/').pop())).toEqual(['model.safetensors']);
    const [get] = fileGets(s).filter((r) => r.path.endsWith('model.safetensors'));
    expect(get.range).toBe(`bytes=${onDisk - 32}-${SIZE - 1}`);
    expect(Buffer.compare(Buffer.from(await weightsVia(m)), Buffer.from(weights))).toBe(0);
  });

  it('a corrupted byte is rejected and the file deleted; nothing counts as cached', async () => {
    const s = await server({ faults: { corruptByte: true, only: 'model.safetensors' } });
    const store = await folder();
    const e = await boxedError(open(store, s));
    expect(e.name).toBe('Integrity');
    expect(e.message).toMatch(/model.safetensors: .*SHA-256.*deleted/);
    const left = (await readdir(store.root, { recursive: true })).map(String);
    expect(left.filter((f) => f.includes('model.safetensors'))).toEqual([]);
    expect((await listCachedModels(store))[0]).toMatchObject({ complete: false });
    s.faults.corruptByte = false;
    expect((await weightsVia(await open(store, s))).length).toBe(SIZE);
  });

  it('quota: refused before any download, naming the numbers; a full disk mid-way leaves nothing', async () => {
    const s = await server();
    const small = await folder(1_000_000);
    const e = await boxedError(open(small, s));
    expect(e.name).toBe('Quota');
    expect(e.detail).toMatchObject({ neededBytes: SIZE + 32, availableBytes: 1_000_000, quotaBytes: 1_000_000 });
    expect(e.message).toMatch(/needs 3000049 more bytes.*only 1000000 of the 1000000/);
    expect(fileGets(s)).toEqual([]);
    expect(await readdir(small.root)).toEqual([]);

    // a store that cannot estimate: the write that overflows fails, and the partial commit is removed
    const blind = await folder(1_000_000);
    const noEstimate: CacheStore = Object.assign(Object.create(blind) as FolderStore, { estimate: async () => null });
    const full = await boxedError(open(noEstimate, s));
    expect(full.name).toBe('Quota');
    expect((await readdir(blind.root, { recursive: true })).map(String).filter((f) => /files|manifest/.test(f))).toEqual([]);
  });

  it('a moved branch: the cached commit is used and the newer one offered; update fetches it and keeps the old copy', async () => {
    const s = await server();
    const store = await folder();
    const a = await open(store, s);
    const moved = 'b'.repeat(40);
    s.moveRef('main', moved);
    const stale = await open(store, s);
    expect(stale).toMatchObject({ newerCommit: moved, downloadedBytes: 0 });
    expect(stale.manifest.commit).toBe(a.manifest.commit);
    const before = fileGets(s).length;
    const updated = await open(store, s, { update: true });
    expect(updated.manifest.commit).toBe(moved);
    expect(fileGets(s).slice(before).every((r) => r.path.includes(`/resolve/${moved}/`))).toBe(true);
    const list = await listCachedModels(store);
    expect(Object.fromEntries(list.map((x) => [x.commit, x.refs]))).toEqual({ [a.manifest.commit]: [], [moved]: ['main'] });
    await deleteCachedModel(store, s.url, REPO, a.manifest.commit);
    expect((await listCachedModels(store)).map((x) => x.commit)).toEqual([moved]);
    await deleteCachedModel(store, s.url, REPO, moved);
    expect(await readdir(store.root)).toEqual([]);
  });

  it('typed hub errors: no repository, no revision, gated with and without a token', async () => {
    const s = await server({ auth: { [REPO]: { token: 'hf_secret', kind: 'gated' } } });
    const store = await folder();
    const noRepo = await boxedError(open(store, s, { repo: 'org/none' }));
    expect([noRepo.name, noRepo.message]).toEqual(['NotFound', 'repository org/none does not exist on this hub']);
    const noRev = await boxedError(open(store, s, { revision: 'v9', token: 'hf_secret' }));
    expect([noRev.name, noRev.message]).toEqual(['NotFound', `revision "v9" does not exist in ${REPO}`]);
    const gated = await boxedError(open(store, s));
    expect(gated.name).toBe('AccessDenied');
    expect(gated.detail?.gated).toBe(true);
    const ok = await open(store, s, { token: 'hf_secret' });
    expect(ok.manifest.complete).toBe(true);
    expect(s.requests.filter((r) => r.path.includes(REPO) && r.status === 200 || r.status === 206).every((r) => r.authorization === 'Bearer hf_secret')).toBe(true);
  });

  it('retry state is reported while a file is retried; the bar never reaches the end before it is done', async () => {
    const s = await server({ faults: { failStatus: 503, only: 'model.safetensors' } });
    const store = await folder();
    const events: TransferProgress[] = [];
    const m = await open(store, s, {
      transfer: { retries: 6, retryDelayMs: 1500, progressIntervalMs: 0 },
      onProgress: (e) => {
        events.push(e);
        if (e.state === 'retrying' && e.retry!.attempt === 2) s.faults.failStatus = undefined;
      },
    });
    expect(m.manifest.complete).toBe(true);
    const retrying = events.filter((e) => e.state === 'retrying');
    expect(retrying[0]).toMatchObject({ file: 'model.safetensors', loaded: 0, retry: { attempt: 1, of: 6, inMs: 1500 } });
    expect(retrying.some((e) => e.retry!.attempt === 2 && e.retry!.inMs === 3000)).toBe(true);
    expect(retrying.some((e) => e.retry!.attempt === 2 && e.retry!.inMs === 1000)).toBe(true);
    expect(retrying.every((e) => e.loaded < e.total)).toBe(true);
  });

  it('a server that ignores Range: one plain stream instead of parts', async () => {
    const s = await server({ faults: { ignoreRange: true } });
    const store = await folder();
    const m = await open(store, s, { transfer: { ...quick, parallel: 3, partMinBytes: 1_000_000 } });
    expect(Buffer.compare(Buffer.from(await weightsVia(m)), Buffer.from(weights))).toBe(0);
    const gets = fileGets(s).filter((r) => r.path.endsWith('model.safetensors'));
    expect(gets.at(-1)).toMatchObject({ range: null, status: 200 });
  });
});

describe('model cache: one .gguf file of a repository', () => {
  it('downloads only that file, verified, offered as the GGUF model; reopens offline; the safetensors load keeps it', async () => {
    const s = await server();
    const store = await folder();
    const g = await open(store, s, { file: 'model-Q4_K.gguf' });
    expect(g.downloadedBytes).toBe(GGUF_SIZE);
    expect(g.manifest.files.map((f) => [f.name, f.verified, f.sha256 !== undefined])).toEqual([['model-Q4_K.gguf', true, true]]);
    expect(fileGets(s).every((r) => r.path.endsWith('/model-Q4_K.gguf'))).toBe(true);
    const src = await g.provider.open(GGUF_FILE);
    expect(Buffer.compare(Buffer.from(await src!.read(0, src!.size)), Buffer.from(ggufBytes))).toBe(0);
    expect(await g.provider.open('config.json')).toBeNull();
    // the same commit's safetensors next to it; then the GGUF again with the hub gone: nothing fetched
    const st = await open(store, s);
    expect(st.downloadedBytes).toBe(SIZE + 19 + 13);
    expect(await st.provider.open(GGUF_FILE)).toBeNull();
    expect(st.manifest.files.map((f) => f.name).sort()).toEqual(['config.json', 'model-Q4_K.gguf', 'model.safetensors', 'tokenizer.json']);
    const url = s.url;
    await servers.pop()!.close();
    const again = await open(store, url, { file: 'model-Q4_K.gguf' });
    expect(again.offline).toBe(true);
    expect(again.downloadedBytes).toBe(0);
    expect((await again.provider.open(GGUF_FILE))!.size).toBe(GGUF_SIZE);
    const [entry] = await listCachedModels(store);
    expect(entry).toMatchObject({ complete: true, verified: true, totalBytes: SIZE + 19 + 13 + GGUF_SIZE });
  });

  it('asks beforeDownload before fetching the file: a rejection fetches nothing; a cached file does not ask', async () => {
    const s = await server();
    const store = await folder();
    const asked: { name: string; url: string; size: number }[] = [];
    const refused = await boxedError(
      open(store, s, {
        file: 'model-Q4_K.gguf',
        beforeDownload: async (f) => {
          asked.push(f);
          throw new BoxedError('OutOfMemory', 'does not fit');
        },
      }),
    );
    expect(refused.name).toBe('OutOfMemory');
    // the file at the resolved commit on the endpoint, as the download would fetch it
    expect(asked).toMatchObject([{ name: 'model-Q4_K.gguf', size: GGUF_SIZE }]);
    expect(asked[0].url.startsWith(`${s.url}/${REPO}/resolve/`)).toBe(true);
    expect(asked[0].url).toMatch(/\/resolve\/[0-9a-f]{40}\/model-Q4_K\.gguf$/);
    expect(fileGets(s)).toHaveLength(0);
    const ok = await open(store, s, { file: 'model-Q4_K.gguf', beforeDownload: async (f) => void asked.push(f) });
    expect(ok.downloadedBytes).toBe(GGUF_SIZE);
    expect(asked).toHaveLength(2);
    const cached = await open(store, s, { file: 'model-Q4_K.gguf', beforeDownload: async (f) => void asked.push(f) });
    expect(cached.downloadedBytes).toBe(0);
    expect(asked).toHaveLength(2);
  });

  it('a missing .gguf is NotFound, a file that is not .gguf InvalidRequest, nothing written', async () => {
    const s = await server();
    const store = await folder();
    const missing = await boxedError(open(store, s, { file: 'model-Q8_0.gguf' }));
    expect(missing.name).toBe('NotFound');
    expect(missing.message).toContain('model-Q8_0.gguf');
    expect((await boxedError(open(store, s, { file: 'README.md' }))).name).toBe('InvalidRequest');
    expect(fileGets(s)).toHaveLength(0);
  });
});

describe('the tree listing, recursive and paged', () => {
  it('lists the top level, or with recursive the files in folders too, by their paths; paged answers are followed', async () => {
    for (const treePageSize of [undefined, 2]) {
      const s = await server({ treePageSize });
      const a = { endpoint: s.url, repo: NESTED_REPO };
      const top = await listFiles(a, 'main');
      expect(top.map((f) => f.path)).toEqual(['README.md', 'top-Q8_0.gguf']);
      const all = await listFiles(a, 'main', { recursive: true });
      expect(all.map((f) => [f.path, f.size])).toEqual([
        ['Q4_K_M/model-Q4_K_M.gguf', GGUF_SIZE],
        ['Q4_K_M/parts/deep-Q6_K.gguf', 777],
        ['README.md', 24],
        ['top-Q8_0.gguf', 1000],
      ]);
      expect(all.every((f) => f.gitSha1 !== undefined)).toBe(true);
      // 6 entries (2 folders) in pages of 2: three requests for the recursive listing
      const trees = s.requests.filter((r) => r.path.includes('/tree/'));
      expect(trees).toHaveLength(treePageSize ? 2 + 3 : 2);
      await servers.pop()!.close();
    }
  });

  it("follows only a next page on the hub's own endpoint", () => {
    const hub = 'https://hub.test/mirror';
    expect(nextPageUrl('<https://hub.test/mirror/api/models/a/b/tree/main?cursor=x>; rel="next"', hub)).toBe('https://hub.test/mirror/api/models/a/b/tree/main?cursor=x');
    expect(nextPageUrl('</mirror/api/models/a/b/tree/main?cursor=y>; rel=next', hub)).toBe('https://hub.test/mirror/api/models/a/b/tree/main?cursor=y');
    expect(nextPageUrl('<https://hub.test/mirror/x>; rel="prev"', hub)).toBeNull();
    expect(nextPageUrl('<https://evil.test/mirror/x>; rel="next"', hub)).toBeNull();
    expect(nextPageUrl('<https://hub.test/other/x>; rel="next"', hub)).toBeNull();
    expect(nextPageUrl('<http://hub.test/mirror/x>; rel="next"', hub)).toBeNull();
    expect(nextPageUrl(null, hub)).toBeNull();
  });

  it('a .gguf file in a folder downloads alone through the cache and reopens offline', async () => {
    const s = await server();
    const store = await folder();
    const file = 'Q4_K_M/model-Q4_K_M.gguf';
    const g = await open(store, s, { repo: NESTED_REPO, file });
    expect(g.downloadedBytes).toBe(GGUF_SIZE);
    expect(g.manifest.files.map((f) => [f.name, f.verified])).toEqual([[file, true]]);
    expect(fileGets(s).every((r) => r.path.endsWith(`/${file}`))).toBe(true);
    const src = await g.provider.open(GGUF_FILE);
    expect(Buffer.compare(Buffer.from(await src!.read(0, src!.size)), Buffer.from(ggufBytes))).toBe(0);
    const url = s.url;
    await servers.pop()!.close();
    const again = await open(store, url, { repo: NESTED_REPO, file });
    expect([again.offline, again.downloadedBytes]).toEqual([true, 0]);
    expect((await again.provider.open(GGUF_FILE))!.size).toBe(GGUF_SIZE);
  });
});
