// A hub .gguf file's trial allocation before its download, against the local hub server: the header is read by
// Range (with the token), a model that cannot fit is refused with OutOfMemory before a byte of tensor data is
// fetched (nothing cached), one that fits downloads and loads, then loads again from the cache with the hub gone;
// a server that ignores Range skips the early trial and still loads.
import { copyFile, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubServer, type HubServer } from '../../scripts/hub-server';
import { makeSyntheticModel } from '../../scripts/synthetic-model';
import { FolderStore } from '../cli/folder-store';
import { cacheSegment } from '../loader/cache-store';
import { nodeGpu, PROFILES } from '../gpu/test-device';
import { parseGguf } from '../loader/gguf/parse';
import { fileSource } from '../cli/file-source';
import { BoxedError } from '../protocol/errors';
import type { LoadRequest } from '../protocol/engine';
import { Engine } from './engine';

const REPO = 'org/tiny-gguf';
const FILE = 'tiny-Q8_0.gguf';
const TOKEN = 'hf_test_token';

let dir: string;
let root: string;
let fileSize: number;
/** where the tensor data starts: no request may reach it before the trial passed */
let dataStart: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'boxed-gguf-hub-trial-'));
  await makeSyntheticModel({ out: join(dir, 'model'), preset: 'tiny', untied: true, seed: 3, gguf: ['Q8_0'] });
  root = join(dir, 'hub');
  await mkdir(join(root, 'org', 'tiny-gguf'), { recursive: true });
  const path = join(root, 'org', 'tiny-gguf', FILE);
  await copyFile(join(dir, 'model', 'model-Q8_0.gguf'), path);
  fileSize = (await stat(path)).size;
  const g = await parseGguf(await fileSource(path));
  dataStart = Math.min(...[...g.tensors.values()].map((t) => t.offset));
}, 300_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The byte ranges the server was asked for on the file ([start, end] inclusive), and the requests without one. */
function fileRequests(hub: HubServer): { ranges: [number, number][]; whole: number } {
  const reqs = hub.requests.filter((r) => r.path.includes('/resolve/') && r.path.endsWith(`/${FILE}`));
  let whole = 0;
  const ranges: [number, number][] = [];
  for (const r of reqs) {
    const m = /^bytes=(\d+)-(\d+)$/.exec(r.range ?? '');
    if (!m) whole++;
    else ranges.push([Number(m[1]), Number(m[2])]);
  }
  return { ranges, whole };
}

const request = (hub: HubServer, context: number): LoadRequest => ({
  source: { kind: 'hub', endpoint: hub.url, repo: REPO, revision: 'main', token: TOKEN, file: FILE },
  weights: 'q4',
  context,
});

/** Counts the buffers a trial allocation creates (memory.ts labels them 'trial') while `run` runs, on every device. */
async function trialBuffers(run: () => Promise<unknown>): Promise<number> {
  nodeGpu(); // the WebGPU globals
  const proto = GPUDevice.prototype as GPUDevice;
  const create = proto.createBuffer;
  let n = 0;
  proto.createBuffer = function (this: GPUDevice, desc: GPUBufferDescriptor): GPUBuffer {
    if (desc.label === 'trial') n++;
    return create.call(this, desc);
  };
  try {
    await run();
  } finally {
    proto.createBuffer = create;
  }
  return n;
}

async function cacheFiles(cache: string): Promise<string[]> {
  try {
    return (await readdir(cache, { recursive: true })).map(String);
  } catch {
    return [];
  }
}

describe("a hub GGUF's trial before its download", () => {
  it('refuses a model that cannot fit with OutOfMemory, having fetched only the header', async () => {
    const hub = await startHubServer({ root, auth: { [REPO]: { token: TOKEN, kind: 'gated' } } });
    const cache = join(dir, 'cache-oom');
    try {
      // the weak profile's 128 MiB bindings: the tiny model's KV layer (64 bytes a position) breaks them at 4M positions
      const engine = new Engine(nodeGpu(), { device: PROFILES.weak, cache: async () => new FolderStore(cache) });
      const e = await engine.load(request(hub, 1 << 22)).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(BoxedError);
      expect((e as BoxedError).name).toBe('OutOfMemory');
      const { ranges, whole } = fileRequests(hub);
      expect(whole).toBe(0);
      expect(ranges.length).toBeGreaterThan(0);
      // only the header was read: the parser reads ahead in pieces of 2 MB, so its reads may run a piece or two
      // into the tensor data, but no further, and each piece is asked for once
      for (const [start, end] of ranges) {
        expect(start).toBeLessThan(dataStart + 2_000_000);
        expect(end - start + 1).toBeLessThanOrEqual(2_000_000);
      }
      const asked = ranges.reduce((a, [s, t]) => a + t - s + 1, 0);
      expect(asked).toBeLessThan(fileSize - dataStart);
      expect(asked).toBeLessThan(fileSize / 2);
      // the token went with the header reads, as with a download
      for (const r of hub.requests.filter((x) => x.path.includes('/resolve/'))) expect(r.authorization).toBe(`Bearer ${TOKEN}`);
      expect((await cacheFiles(cache)).filter((f) => f.includes(cacheSegment(FILE)))).toEqual([]);
    } finally {
      await hub.close();
    }
  }, 300_000);

  it('downloads and loads one that fits, then loads it from the cache with the hub gone', async () => {
    const hub = await startHubServer({ root, auth: { [REPO]: { token: TOKEN, kind: 'gated' } } });
    const cache = join(dir, 'cache-fit');
    const engine = new Engine(nodeGpu(), { cache: async () => new FolderStore(cache) });
    let trialOnDownload: number;
    try {
      let info: Awaited<ReturnType<Engine['load']>> | undefined;
      trialOnDownload = await trialBuffers(async () => (info = await engine.load(request(hub, 64))));
      expect(info!.gguf?.fileType).toBe('Q8_0');
      expect(info!.hub?.file).toBe(FILE);
      const { ranges } = fileRequests(hub);
      // the header reads came first, then the download covered the whole file
      expect(ranges.some(([, end]) => end < dataStart)).toBe(true);
      expect((await cacheFiles(cache)).some((f) => f.endsWith(`/files/${cacheSegment(FILE)}`))).toBe(true);
      await engine.unload();
    } finally {
      await hub.close();
    }
    // offline: the cached file, no network, its trial from the file's header as it is read
    const events: string[] = [];
    let again: Awaited<ReturnType<Engine['load']>> | undefined;
    const trialFromCache = await trialBuffers(async () => (again = await engine.load(request(hub, 64), (e) => void (e.type === 'revision' && events.push(`${e.cached}/${e.offline}`)))));
    expect(again!.gguf?.fileType).toBe('Q8_0');
    expect(events).toEqual(['true/true']);
    // one trial a load: before the download (not again once the file is here), or from the cached file's header
    expect(trialFromCache).toBeGreaterThan(0);
    expect(trialOnDownload).toBe(trialFromCache);
    await engine.unload();
  }, 300_000);

  it('without a cache (files held in memory) refuses before the download and tries a fitting file once, with the token', async () => {
    const hub = await startHubServer({ root, auth: { [REPO]: { token: TOKEN, kind: 'gated' } } });
    try {
      const small = new Engine(nodeGpu(), { device: PROFILES.weak });
      const e = await small.load(request(hub, 1 << 22)).catch((x: unknown) => x);
      expect((e as BoxedError).name).toBe('OutOfMemory');
      expect(fileRequests(hub).whole).toBe(0);
      const asked = fileRequests(hub).ranges.reduce((a, [s, t]) => a + t - s + 1, 0);
      expect(asked).toBeLessThan(fileSize / 2);
      hub.requests.length = 0;
      const engine = new Engine(nodeGpu());
      let info: Awaited<ReturnType<Engine['load']>> | undefined;
      const trials = await trialBuffers(async () => (info = await engine.load(request(hub, 64))));
      expect(info!.gguf?.fileType).toBe('Q8_0');
      // the header's ranges, then the whole file; every request with the token (the repository is gated)
      expect(fileRequests(hub).ranges.some(([, end]) => end < dataStart)).toBe(true);
      expect(hub.requests.filter((r) => r.path.includes('/resolve/') && r.status === 200).length).toBeGreaterThan(0);
      for (const r of hub.requests.filter((x) => x.path.includes('/resolve/'))) expect(r.authorization).toBe(`Bearer ${TOKEN}`);
      // one trial: the same count as a load whose trial ran after its download (a source already in memory)
      await engine.unload();
      const reload = await trialBuffers(() => engine.load(request(hub, 64)));
      expect(trials).toBeGreaterThan(0);
      expect(trials).toBe(reload);
      await engine.unload();
    } finally {
      await hub.close();
    }
  }, 300_000);

  it('still loads from a server that ignores Range (the trial runs once the file is here)', async () => {
    const hub = await startHubServer({ root, faults: { ignoreRange: true } });
    const cache = join(dir, 'cache-norange');
    try {
      const engine = new Engine(nodeGpu(), { cache: async () => new FolderStore(cache) });
      const info = await engine.load({ ...request(hub, 64), source: { kind: 'hub', endpoint: hub.url, repo: REPO, revision: 'main', file: FILE } });
      expect(info.gguf?.fileType).toBe('Q8_0');
      expect(hub.requests.filter((r) => r.path.includes('/resolve/') && r.status === 200).length).toBeGreaterThan(0);
      await engine.unload();
      // and a model that cannot fit is still refused, after the download, before a tensor is uploaded
      const big = new Engine(nodeGpu(), { device: PROFILES.weak, cache: async () => new FolderStore(join(dir, 'cache-norange-oom')) });
      const e = await big.load({ ...request(hub, 1 << 22), source: { kind: 'hub', endpoint: hub.url, repo: REPO, revision: 'main', file: FILE } }).catch((x: unknown) => x);
      expect((e as BoxedError).name).toBe('OutOfMemory');
    } finally {
      await hub.close();
    }
  }, 300_000);
});
