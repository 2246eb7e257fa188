// The CLI's cache as a user meets it: `generate --model hub:owner/name@rev --endpoint URL --cache DIR` downloads
// once from a real local hub server, then runs again with the server gone; typed one-line errors; bench-load.
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubServer, type HubServer } from '../../scripts/hub-server';
import { makeSyntheticModel } from '../../scripts/synthetic-model';
import { cli, errorLines } from './test-cli';

let root: string;
let cache: string;
let hub: HubServer;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'boxed-cli-hub-'));
  cache = await mkdtemp(join(tmpdir(), 'boxed-cli-cache-'));
  await mkdir(join(root, 'boxed'), { recursive: true });
  await makeSyntheticModel({ out: join(root, 'boxed', 'tiny'), preset: 'tiny', untied: true, seed: 4 });
  hub = await startHubServer({ root });
});
afterAll(async () => {
  await hub.close().catch(() => {});
  await rm(root, { recursive: true, force: true });
  await rm(cache, { recursive: true, force: true });
});

describe('the CLI cache', () => {
  it('downloads once, then generates with the hub gone; unknown repositories and revisions are one-line errors', async () => {
    const args = ['generate', '--model', 'hub:boxed/tiny@main', '--endpoint', hub.url, '--cache', cache, '--prompt', 'Hello', '--max-tokens', '6', '--temperature', '0', '--context', '64', '--json'];
    const first = await cli(...args);
    expect(first.code, first.stderr).toBe(0);
    const ids = (JSON.parse(first.stdout) as { ids: number[] }).ids;
    expect(ids.length).toBeGreaterThan(0);
    const files = hub.requests.filter((r) => r.path.includes('/resolve/')).map((r) => r.path.split('/').pop()).sort();
    expect(files).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);

    const missing = await cli('generate', '--model', 'hub:boxed/nope', '--endpoint', hub.url, '--cache', cache, '--prompt', 'x');
    expect(missing.code).toBe(1);
    expect(errorLines(missing)).toEqual(['error: NotFound: repository boxed/nope does not exist on this hub']);
    const badRev = await cli('generate', '--model', 'hub:boxed/tiny@v2', '--endpoint', hub.url, '--cache', cache, '--prompt', 'x');
    expect(errorLines(badRev)).toEqual(['error: NotFound: revision "v2" does not exist in boxed/tiny']);

    await hub.close();
    const offline = await cli(...args);
    expect(offline.code, offline.stderr).toBe(0);
    expect((JSON.parse(offline.stdout) as { ids: number[] }).ids).toEqual(ids);
    const left = (await readdir(cache, { recursive: true })).map(String);
    expect(left.filter((f) => f.includes('.partial'))).toEqual([]);
  });

  it('bench-load reports network and cache MB/s and the peak JS heap for a local folder', async () => {
    const r = await cli('bench-load', '--model', join(root, 'boxed', 'tiny'), '--context', '64', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.files).toBe(5);
    expect(out.network.bytes).toBe(out.bytes);
    expect(out.network.mb_per_s).toBeGreaterThan(0);
    expect(out.cache_read.bytes).toBe(out.bytes);
    expect(out.cache_read.mb_per_s).toBeGreaterThan(0);
    expect(out.gpu_load.peak_heap_used).toBeGreaterThan(out.gpu_load.heap_used_before);
    expect(Object.keys(out.gpu_load.phases_s)).toEqual(['download', 'convert', 'compile', 'warmup']);
  });
});
