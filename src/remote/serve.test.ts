// The server engine against Boxed's own `serve` (src/cli/serve*.ts) on a local port with a synthetic model: the
// server's streamed answer equals the engine's own, heavy mode's n = 4 equals the batched engine's candidates
// (ids and texts) for greedy and for a seeded sample, the API key and CORS headers, Stop, and a `serve` process
// killed mid-answer (the text so far kept as a StreamCut).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSyntheticModel } from '../../scripts/synthetic-model';
import { openServe } from '../cli/serve';
import type { GenerateEvent } from '../protocol/engine';
import { BoxedError } from '../protocol/errors';
import { createServerEngine, type ServerEngine } from './engine';

const KEY = 'serve-key-7';
const ORIGIN = 'http://app.test';
type Serve = Awaited<ReturnType<typeof openServe>>;

let dir: string;
let s: Serve;
let remote: ServerEngine;
const prompt = { kind: 'chat' as const, messages: [{ role: 'user' as const, content: 'What is 2+2?' }] };

beforeAll(async () => {
  dir = join(await mkdtemp(join(tmpdir(), 'boxed-remote-serve-')), 'tiny-model');
  await makeSyntheticModel({ out: dir, preset: 'tiny', untied: true, seed: 4 });
  s = await openServe({ model: dir, port: '0', context: '512', batch: '4', weights: 'q8', 'api-key': KEY, 'cors-origin': ORIGIN });
  remote = createServerEngine({ tokenIds: true, maxNPerRequest: 4 });
  await remote.load({ source: { kind: 'server', endpoint: `${s.url}/v1`, model: 'tiny-model', apiKey: KEY }, weights: 'q4', context: 512 });
}, 300_000);
afterAll(async () => {
  await s?.close();
  await s?.unload();
});

describe('the server engine on serve', () => {
  it('knows the model and its context; a wrong key is AccessDenied; CORS allows the configured origin', async () => {
    const other = createServerEngine();
    const err = await other.load({ source: { kind: 'server', endpoint: s.url, model: 'tiny-model', apiKey: 'wrong-key' }, weights: 'q4', context: 512 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BoxedError);
    expect((err as BoxedError).name).toBe('AccessDenied');
    const info = await createServerEngine().load({ source: { kind: 'server', endpoint: s.url, model: 'tiny-model', apiKey: KEY }, weights: 'q4', context: 512 });
    expect(info.server).toMatchObject({ model: 'tiny-model', maxModelLen: 512 });
    const pre = await fetch(`${s.url}/v1/chat/completions`, { method: 'OPTIONS', headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization, content-type' } });
    expect(pre.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    const no = await fetch(`${s.url}/v1/models`, { headers: { Origin: 'http://elsewhere.test', authorization: `Bearer ${KEY}` } });
    expect(no.headers.get('access-control-allow-origin')).toBeNull();
  });

  it("streams the same answer as the engine itself (greedy and sampled), ids included", async () => {
    for (const sampling of [{ temperature: 0, topP: 1, topK: 0, seed: 0 }, { temperature: 0.9, topP: 0.95, topK: 40, seed: 13 }]) {
      const events: GenerateEvent[] = [];
      const r = await remote.generate({ prompt, maxTokens: 12, sampling }, (e) => events.push(e));
      const local = await s.engine.generate({ prompt, maxTokens: 12, sampling });
      expect(r.ids).toEqual(local.ids);
      expect(r.text).toBe(local.text);
      expect(r.stop).toBe(local.stop);
      expect(events.filter((e) => e.type === 'token').map((e) => (e.type === 'token' ? e.text : '')).join('')).toBe(local.text);
      expect(r.stats.generatedTokens).toBe(local.ids.length);
    }
  }, 300_000);

  it('heavy mode n = 4 equals the batched engine: the same ids, texts, answers and vote', async () => {
    for (const sampling of [{ temperature: 0, topP: 1, topK: 0, seed: 0 }, { temperature: 1, topP: 0.9, topK: 40, seed: 21 }]) {
      const req = { prompt, mode: 'chat' as const, problem: 'What is 2+2?', samples: 4, select: 'vote' as const, maxTokens: 10, sampling };
      const r = await remote.generateHeavy(req);
      const local = await s.engine.generateHeavy(req);
      expect(r.candidates.map((c) => c.ids)).toEqual(local.candidates.map((c) => c.ids));
      expect(r.candidates.map((c) => c.text)).toEqual(local.candidates.map((c) => c.text));
      expect(r.candidates.map((c) => c.answer)).toEqual(local.candidates.map((c) => c.answer));
      expect(r.vote).toEqual(local.vote);
    }
  }, 300_000);

  it('Stop aborts the request and keeps the text so far', async () => {
    let n = 0;
    let streamed = '';
    const r = await remote.generate({ prompt, maxTokens: 400, sampling: { temperature: 1, topP: 1, topK: 0, seed: 2 } }, (e) => {
      if (e.type !== 'token') return;
      streamed += e.text;
      if (++n === 3) void remote.stop();
    });
    expect(r.stop).toBe('aborted');
    expect(n).toBeGreaterThanOrEqual(3);
    expect(n).toBeLessThan(400);
    expect(r.text).toBe(streamed);
    // serve sends the ids on a choice's last chunk, which a stopped stream never gets
    expect(r.ids).toEqual([]);
  }, 300_000);
});

describe('a serve process killed mid-answer', () => {
  it('ends the answer as StreamCut with the text so far', async () => {
    const child = spawn(process.execPath, ['scripts/run-cli.mjs', 'serve', '--model', dir, '--port', '0', '--context', '512', '--batch', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    try {
      const base = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /serving \S+ at (http:\/\/\S+)\n/.exec(out);
          if (m) resolve(m[1]);
        });
        void exited.then(() => reject(new Error('serve exited before listening')));
      });
      const e = createServerEngine({ tokenIds: true });
      await e.load({ source: { kind: 'server', endpoint: base, model: 'tiny-model' }, weights: 'q4', context: 512 });
      let streamed = '';
      let n = 0;
      const r = await e.generate({ prompt, maxTokens: 450, sampling: { temperature: 1, topP: 1, topK: 0, seed: 3 } }, (ev) => {
        if (ev.type !== 'token') return;
        streamed += ev.text;
        if (++n === 3) child.kill('SIGKILL');
      });
      expect(r.stop).toBe('error');
      expect(r.error?.name).toBe('StreamCut');
      expect(r.text).toBe(streamed);
      expect(r.text.length).toBeGreaterThan(0);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  }, 300_000);
});
