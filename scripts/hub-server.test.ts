import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubServer, type HubServer } from './hub-server';

let root: string;
let server: HubServer;
const data = new Uint8Array(1000).map((_, i) => (i * 37 + 11) & 0xff);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'boxed-hubsrv-'));
  await mkdir(join(root, 'org/model'), { recursive: true });
  await writeFile(join(root, 'org/model/f.bin'), data);
  await writeFile(join(root, 'secret.txt'), 'secret');
  server = await startHubServer({ root });
});
afterAll(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

const url = (rev: string, file: string) => `${server.url}/org/model/resolve/${rev}/${file}`;

/** A raw GET with an unnormalized path (fetch would collapse '..'). */
function rawGet(path: string): Promise<number> {
  return new Promise((ok, fail) => {
    const u = new URL(server.url);
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      res.resume();
      ok(res.statusCode ?? 0);
    });
    req.on('error', fail);
    req.end();
  });
}

describe('hub server', () => {
  it('serves a file with length, ranges and CORS, at any revision', async () => {
    for (const rev of ['main', 'abc123']) {
      const res = await fetch(url(rev, 'f.bin'));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-length')).toBe('1000');
      expect(res.headers.get('accept-ranges')).toBe('bytes');
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-expose-headers')).toMatch(/Content-Range/);
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(data);
    }
    const part = await fetch(url('main', 'f.bin'), { headers: { Range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 10-19/1000');
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(data.subarray(10, 20));
    const open = await fetch(url('main', 'f.bin'), { headers: { Range: 'bytes=990-' } });
    expect(new Uint8Array(await open.arrayBuffer())).toEqual(data.subarray(990));
    const suffix = await fetch(url('main', 'f.bin'), { headers: { Range: 'bytes=-7' } });
    expect(suffix.headers.get('content-range')).toBe('bytes 993-999/1000');
    const bad = await fetch(url('main', 'f.bin'), { headers: { Range: 'bytes=1000-' } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get('content-range')).toBe('bytes */1000');
  });

  it('HEAD, OPTIONS, 404 and no escape from the root', async () => {
    const head = await fetch(url('main', 'f.bin'), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('1000');
    const pre = await fetch(url('main', 'f.bin'), { method: 'OPTIONS' });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/Range/);
    expect((await fetch(url('main', 'missing.bin'))).status).toBe(404);
    expect((await fetch(`${server.url}/org/model/blob/main/f.bin`)).status).toBe(404);
    expect(await rawGet('/org/model/resolve/main/../../secret.txt')).toBe(404);
    expect(await rawGet('/org/model/resolve/main/..%2F..%2Fsecret.txt')).toBe(404);
    expect(await rawGet('/org/%2E%2E/resolve/main/secret.txt')).toBe(404);
  });

  it('cuts the first `times` GETs of each file after dropAfterBytes', async () => {
    const s = await startHubServer({ root, faults: { dropAfterBytes: 100, times: 1 } });
    try {
      const first = await fetch(`${s.url}/org/model/resolve/main/f.bin`);
      await expect(first.arrayBuffer()).rejects.toThrow();
      const second = await fetch(`${s.url}/org/model/resolve/main/f.bin`);
      expect(new Uint8Array(await second.arrayBuffer())).toEqual(data);
      expect(s.requests.map((r) => r.dropped)).toEqual([true, false]);
    } finally {
      await s.close();
    }
  });
});
