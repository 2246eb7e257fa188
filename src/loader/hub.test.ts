import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubServer, type HubFaults, type HubServer } from '../../scripts/hub-server';
import { randomUniform } from '../cpu/random';
import type { BoxedError } from '../protocol/errors';
import { openCheckpoint } from './checkpoint';
import { download, MemorySink, type DownloadProgress } from './download';
import { hubFileProvider, hubFileUrl } from './hub';
import { safetensorsBytes, tensorOf } from './safetensors-write';
import { expectedTensors } from '../model/weights';
import { parseConfig } from '../model/config';
import { boxedError } from './test-errors';

const REPO = 'test-org/Tiny-Model';
const SIZE = 1_234_567; // not a multiple of any chunk size
let root: string;
let payload: Uint8Array;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'boxed-hub-'));
  payload = new Uint8Array(randomUniform(SIZE / 4 + 1, 11, -1e6, 1e6).buffer).slice(0, SIZE);
  await mkdir(join(root, REPO), { recursive: true });
  await writeFile(join(root, REPO, 'blob.bin'), payload);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function withServer<T>(faults: HubFaults | undefined, fn: (s: HubServer) => Promise<T>): Promise<T> {
  const server = await startHubServer({ root, faults });
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

async function bytesOf(p: Promise<{ read(o: number, n: number): Promise<Uint8Array>; size: number } | null>): Promise<Uint8Array> {
  const src = await p;
  if (!src) throw new Error('not found');
  return src.read(0, src.size);
}

function expectEqualBytes(a: Uint8Array, b: Uint8Array): void {
  expect(a.length).toBe(b.length);
  expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0);
}

describe('hub download', () => {
  it('downloads a file with progress events', async () => {
    await withServer(undefined, async (server) => {
      const events: DownloadProgress[] = [];
      const hub = hubFileProvider({ endpoint: server.url, repo: REPO, onProgress: (e) => events.push(e) });
      expectEqualBytes(await bytesOf(hub.open('blob.bin')), payload);
      expect(events.length).toBeGreaterThan(0);
      const last = events.at(-1)!;
      expect(last).toMatchObject({ file: 'blob.bin', loaded: SIZE, total: SIZE });
      expect(last.bytesPerSecond).toBeGreaterThan(0);
      for (let i = 1; i < events.length; i++) expect(events[i].loaded).toBeGreaterThanOrEqual(events[i - 1].loaded);
      // opened once: a second open shares the download
      await hub.open('blob.bin');
      expect(server.requests.filter((r) => r.method === 'GET')).toHaveLength(1);
      expect(server.requests[0].path).toBe(`/${REPO}/resolve/main/blob.bin`);
    });
  });

  it('resumes a dropped connection with a Range request', async () => {
    await withServer({ dropAfterBytes: 300_001, times: 2 }, async (server) => {
      const sink = new MemorySink();
      const loaded: number[] = [];
      const r = await download(hubFileUrl(server.url, REPO, 'main', 'blob.bin'), sink, {
        file: 'blob.bin',
        retryDelayMs: 1,
        onProgress: (e) => loaded.push(e.loaded),
        progressIntervalMs: 0,
      });
      expect(r).toMatchObject({ status: 'ok', bytes: SIZE, resumes: 2, restarts: 0, requests: 3 });
      expectEqualBytes(new Uint8Array(await sink.toBlob().arrayBuffer()), payload);
      expect(server.requests.map((q) => [q.status, q.range, q.dropped])).toEqual([
        [200, null, true],
        [206, 'bytes=300001-', true],
        [206, 'bytes=600002-', false],
      ]);
      expect(loaded.at(-1)).toBe(SIZE);
      expect(Math.min(...loaded.filter((x) => x > 300_001))).toBeGreaterThan(300_001); // progress continued, not restarted
    });
  });

  it('starts over when the server ignores Range', async () => {
    await withServer({ dropAfterBytes: 500_000, times: 1, ignoreRange: true }, async (server) => {
      const sink = new MemorySink();
      const r = await download(hubFileUrl(server.url, REPO, 'main', 'blob.bin'), sink, { file: 'blob.bin', retryDelayMs: 1 });
      expect(r).toMatchObject({ status: 'ok', resumes: 0, restarts: 1, requests: 2 });
      expectEqualBytes(new Uint8Array(await sink.toBlob().arrayBuffer()), payload);
      expect(server.requests[1]).toMatchObject({ range: 'bytes=500000-', status: 200 });
    });
  });

  it('continues a sink that already holds part or all of the file', async () => {
    await withServer(undefined, async (server) => {
      const url = hubFileUrl(server.url, REPO, 'main', 'blob.bin');
      const part = new MemorySink();
      await part.write(payload.slice(0, 777));
      expect(await download(url, part, { file: 'blob.bin' })).toMatchObject({ status: 'ok', resumes: 1, restarts: 0, bytes: SIZE });
      expectEqualBytes(new Uint8Array(await part.toBlob().arrayBuffer()), payload);
      const whole = new MemorySink();
      await whole.write(payload);
      expect(await download(url, whole, { file: 'blob.bin' })).toMatchObject({ status: 'ok', resumes: 0, restarts: 0, bytes: SIZE });
      expect(server.requests.map((r) => [r.range, r.status])).toEqual([
        ['bytes=777-', 206],
        [`bytes=${SIZE}-`, 416],
      ]);
    });
  });

  it('gives up with Network after `retries` failures without progress', async () => {
    await withServer({ dropAfterBytes: 0, times: 100 }, async (server) => {
      const hub = hubFileProvider({ endpoint: server.url, repo: REPO, retries: 2, retryDelayMs: 1 });
      const e = await boxedError(hub.open('blob.bin'));
      expect(e.name).toBe('Network');
      expect(e.file).toBe('blob.bin');
      expect(server.requests).toHaveLength(3);
    });
  });

  it('404 of an optional file is null', async () => {
    await withServer(undefined, async (server) => {
      const hub = hubFileProvider({ endpoint: server.url, repo: REPO });
      expect(await hub.open('generation_config.json')).toBeNull();
      expect(server.requests[0].status).toBe(404);
    });
  });

  it('HTTP 500 is retried, then a Network error with the status and file', async () => {
    await withServer({ failStatus: 500 }, async (server) => {
      const hub = hubFileProvider({ endpoint: server.url, repo: REPO, retries: 1, retryDelayMs: 1 });
      const e = await boxedError(hub.open('blob.bin'));
      expect(e.name).toBe('Network');
      expect(e.message).toMatch(/blob.bin: HTTP 500/);
      expect(server.requests).toHaveLength(2);
    });
  });

  it('HTTP 403 is not retried', async () => {
    await withServer({ failStatus: 403 }, async (server) => {
      const hub = hubFileProvider({ endpoint: server.url, repo: REPO, retryDelayMs: 1 });
      const e = await boxedError(hub.open('blob.bin'));
      expect(e.name).toBe('Network');
      expect(e.detail?.status).toBe(403);
      expect(server.requests).toHaveLength(1);
    });
  });

  it('abort stops the download with Aborted', async () => {
    await withServer(undefined, async (server) => {
      const ctl = new AbortController();
      const hub = hubFileProvider({ endpoint: server.url, repo: REPO, signal: ctl.signal, onProgress: () => ctl.abort() });
      const e = await boxedError(hub.open('blob.bin'));
      expect(e.name).toBe('Aborted');
      const before = new AbortController();
      before.abort();
      const e2 = await boxedError(hubFileProvider({ endpoint: server.url, repo: REPO, signal: before.signal }).open('blob.bin'));
      expect(e2.name).toBe('Aborted');
    });
  });

  it('abort during a retry backoff', async () => {
    await withServer({ failStatus: 503 }, async (server) => {
      const ctl = new AbortController();
      const p = hubFileProvider({ endpoint: server.url, repo: REPO, signal: ctl.signal, retryDelayMs: 60_000 }).open('blob.bin');
      while (server.requests.length === 0 || server.requests[0].status === 0) await new Promise((r) => setImmediate(r));
      ctl.abort();
      expect((await boxedError(p)).name).toBe('Aborted');
    });
  });

  it('opens a checkpoint over the hub (optional generation_config absent)', async () => {
    const config = {
      architectures: ['Qwen2ForCausalLM'],
      hidden_size: 16,
      intermediate_size: 19,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      num_key_value_heads: 1,
      vocab_size: 31,
      rms_norm_eps: 1e-6,
      rope_theta: 1e6,
      max_position_embeddings: 64,
      tie_word_embeddings: true,
    };
    const dir = join(root, 'org/ck');
    await mkdir(dir, { recursive: true });
    const tensors = expectedTensors(parseConfig(config)).map((s, i) =>
      tensorOf(s.name, 'F32', s.shape, randomUniform(s.shape.reduce((a, b) => a * b, 1), i)),
    );
    await writeFile(join(dir, 'model.safetensors'), await safetensorsBytes(tensors));
    await writeFile(join(dir, 'config.json'), JSON.stringify(config));
    await writeFile(join(dir, 'tokenizer.json'), '{"model":{}}');
    await writeFile(join(dir, 'tokenizer_config.json'), '{}');
    const server = await startHubServer({ root, faults: { dropAfterBytes: 1000, times: 1 }, refs: { 'v1.0': '1'.repeat(40) } });
    try {
      const ck = await openCheckpoint(hubFileProvider({ endpoint: server.url + '/', repo: 'org/ck', revision: 'v1.0', retryDelayMs: 1 }));
      expect(ck.generation).toBeNull();
      expect(Array.from(await ck.read('model.norm.weight'))).toEqual(Array.from(randomUniform(16, tensors.length - 1)));
      expect(server.requests.some((r) => r.status === 206)).toBe(true);
    } finally {
      await server.close();
    }
  });
});

describe('hub names', () => {
  it('builds resolve URLs', () => {
    expect(hubFileUrl('https://huggingface.co', 'nvidia/OpenReasoning-Nemotron-1.5B', 'main', 'model.safetensors')).toBe(
      'https://huggingface.co/nvidia/OpenReasoning-Nemotron-1.5B/resolve/main/model.safetensors',
    );
    expect(hubFileUrl('http://127.0.0.1:8080/mirror/', 'a/b', 'refs/pr/1', 'onnx/model.onnx')).toBe(
      'http://127.0.0.1:8080/mirror/a/b/resolve/refs%2Fpr%2F1/onnx/model.onnx',
    );
  });

  it.each([
    ['repo', () => hubFileUrl('https://h.co', '../etc', 'main', 'x')],
    ['repo', () => hubFileUrl('https://h.co', 'a/b/c', 'main', 'x')],
    ['repo', () => hubFileUrl('https://h.co', 'a/..', 'main', 'x')],
    ['revision', () => hubFileUrl('https://h.co', 'a/b', '..', 'x')],
    ['revision', () => hubFileUrl('https://h.co', 'a/b', 'main?x=1', 'x')],
    ['file', () => hubFileUrl('https://h.co', 'a/b', 'main', '../../secret')],
    ['file', () => hubFileUrl('https://h.co', 'a/b', 'main', '/abs')],
    ['file', () => hubFileUrl('https://h.co', 'a/b', 'main', 'x%2F..')],
    ['endpoint', () => hubFileUrl('file:///etc', 'a/b', 'main', 'x')],
    ['endpoint', () => hubFileUrl('not a url', 'a/b', 'main', 'x')],
  ])('rejects a bad %s', (what, f) => {
    expect(f).toThrow(new RegExp(what));
    try {
      f();
    } catch (e) {
      expect((e as BoxedError).name).toBe('InvalidRequest');
    }
  });
});
