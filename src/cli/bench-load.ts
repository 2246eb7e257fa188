// `bench-load`: how fast a model arrives, and how much JavaScript memory loading it takes.
//   network     the model's files downloaded from a hub-layout server into an empty cache (MB/s, MB = 1e6 bytes)
//   cache_read  every cached file read back from disk in 16 MiB pieces (MB/s)
//   gpu_load    the engine loading from the cache onto the GPU (convert, compile, warm-up), with the peak JS heap
//               (and ArrayBuffer bytes, RSS) sampled every 20 ms while it runs
// `--model DIR` serves that folder from a local hub server (scripts/hub-server.ts) on 127.0.0.1;
// `--model hub:owner/name[@rev] --endpoint URL` downloads from that endpoint. The cache is a fresh temporary
// folder (deleted afterwards) unless `--cache DIR` names one.
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { startHubServer, type HubServer } from '../../scripts/hub-server';
import { cacheSegment } from '../loader/cache-store';
import { DEFAULT_ENDPOINT } from '../loader/hub';
import { openCachedModel } from '../loader/model-cache';
import type { LoadEvent } from '../protocol/engine';
import { BoxedError } from '../protocol/errors';
import { numberFlag, parseFlags, requireString } from './args';
import { FolderStore } from './folder-store';
import { MODEL_FLAGS, openNodeEngine, parseHubModel } from './node-engine';

const PIECE = 16 * 1024 * 1024;
const mbps = (bytes: number, ms: number) => (ms > 0 ? bytes / 1e6 / (ms / 1000) : 0);

/** Peak of process.memoryUsage() fields while `fn` runs. */
async function peakMemory<T>(fn: () => Promise<T>): Promise<{ result: T; heapUsed: number; arrayBuffers: number; rss: number }> {
  const peak = { heapUsed: 0, arrayBuffers: 0, rss: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
    peak.rss = Math.max(peak.rss, m.rss);
  };
  const timer = setInterval(sample, 20);
  try {
    sample();
    const result = await fn();
    sample();
    return { result, ...peak };
  } finally {
    clearInterval(timer);
  }
}

export async function benchLoadCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, [...MODEL_FLAGS, 'parallel'], ['json']);
  const model = requireString(f, 'model');
  const parallel = numberFlag(f, 'parallel', 4, { min: 1, max: 16, integer: true });
  const temp: string[] = [];
  let server: HubServer | null = null;
  try {
    let hub = parseHubModel(model);
    let endpoint = typeof f.endpoint === 'string' && f.endpoint !== '' ? f.endpoint : DEFAULT_ENDPOINT;
    if (!hub) {
      // a local folder, served in the hub's layout as local/<folder name>
      const root = await mkdtemp(join(tmpdir(), 'boxed-bench-hub-'));
      temp.push(root);
      const name = cacheSegment(basename(resolve(model))).replace(/_/g, '-') || 'model';
      await mkdir(join(root, 'local'), { recursive: true });
      await symlink(resolve(model), join(root, 'local', name), 'dir');
      server = await startHubServer({ root });
      endpoint = server.url;
      hub = { repo: `local/${name}`, revision: 'main' };
    }
    let cacheDir = typeof f.cache === 'string' && f.cache !== '' ? f.cache : null;
    if (!cacheDir) {
      cacheDir = await mkdtemp(join(tmpdir(), 'boxed-bench-cache-'));
      temp.push(cacheDir);
    }
    const store = new FolderStore(cacheDir);
    const opts = { store, endpoint, repo: hub.repo, revision: hub.revision, token: process.env.HF_TOKEN || undefined, transfer: { parallel } };

    const t0 = performance.now();
    const net = await peakMemory(() => openCachedModel(opts));
    const netMs = performance.now() - t0;
    const files = net.result.manifest.files;
    const bytes = files.reduce((a, x) => a + x.size, 0);

    // each stage's result on stderr as it ends: a multi-GB run takes minutes
    const note = (msg: string) => process.stderr.write(`bench-load: ${msg}\n`);
    note(`network: ${net.result.downloadedBytes} bytes in ${(netMs / 1000).toFixed(1)} s`);
    const t1 = performance.now();
    const cached = await openCachedModel(opts);
    if (cached.downloadedBytes !== 0) throw new BoxedError('Internal', 'the second open downloaded again');
    let read = 0;
    for (const file of files) {
      const src = await cached.provider.open(file.name);
      if (!src) throw new BoxedError('Internal', `${file.name} is not in the cache`);
      for (let at = 0; at < src.size; at += PIECE) read += (await src.read(at, Math.min(PIECE, src.size - at))).length;
    }
    const readMs = performance.now() - t1;

    note(`cache read: ${read} bytes in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
    const phases: Record<string, number> = {};
    let phase = '';
    let phaseStart = performance.now();
    const onEvent = (e: LoadEvent) => {
      if (e.type !== 'phase' || e.phase === phase) return;
      const now = performance.now();
      if (phase) phases[phase] = (now - phaseStart) / 1000;
      phase = e.phase;
      phaseStart = now;
    };
    const heapBefore = process.memoryUsage().heapUsed;
    const t2 = performance.now();
    const gpu = await peakMemory(() => openNodeEngine({ ...f, model: `hub:${hub.repo}@${hub.revision}`, endpoint, cache: cacheDir }, { onEvent }));
    const loadMs = performance.now() - t2;
    if (phase) phases[phase] = (performance.now() - phaseStart) / 1000;
    await gpu.result.engine.unload();

    const out = {
      model: hub.repo,
      revision: hub.revision,
      commit: net.result.manifest.commit,
      files: files.length,
      bytes,
      weights: gpu.result.info.weights,
      network: { endpoint, bytes: net.result.downloadedBytes, seconds: netMs / 1000, mb_per_s: mbps(net.result.downloadedBytes, netMs), parallel, peak_heap_used: net.heapUsed },
      cache_read: { bytes: read, seconds: readMs / 1000, mb_per_s: mbps(read, readMs) },
      gpu_load: {
        seconds: loadMs / 1000,
        mb_per_s: mbps(bytes, loadMs),
        phases_s: phases,
        heap_used_before: heapBefore,
        peak_heap_used: gpu.heapUsed,
        peak_array_buffers: gpu.arrayBuffers,
        peak_rss: gpu.rss,
      },
    };
    process.stdout.write((f.json === true ? JSON.stringify(out) : JSON.stringify(out, null, 2)) + '\n');
  } finally {
    await server?.close();
    for (const d of temp) await rm(d, { recursive: true, force: true });
  }
}
