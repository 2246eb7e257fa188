import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubServer, type HubServer } from './hub-server';

let root: string;
let server: HubServer;
const data = new Uint8Array(1000).map((_, i) => (i * 37 + 11) & 0xff);
const weights = new Uint8Array(3000).map((_, i) => (i * 13 + 5) & 0xff);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'boxed-hubsrv-'));
  await mkdir(join(root, 'org/model'), { recursive: true });
  await writeFile(join(root, 'org/model/f.bin'), data);
  await writeFile(join(root, 'org/model/w.safetensors'), weights);
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
  it('serves a file with length, ranges and CORS, at main and at any commit', async () => {
    for (const rev of ['main', 'ab'.repeat(20)]) {
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
    const missing = await fetch(url('main', 'missing.bin'));
    expect([missing.status, missing.headers.get('x-error-code')]).toEqual([404, 'EntryNotFound']);
    const noRepo = await fetch(`${server.url}/org/nope/resolve/main/f.bin`);
    expect([noRepo.status, noRepo.headers.get('x-error-code')]).toEqual([404, 'RepoNotFound']);
    const noRev = await fetch(url('no-such-branch', 'f.bin'));
    expect([noRev.status, noRev.headers.get('x-error-code')]).toEqual([404, 'RevisionNotFound']);
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

  it('publishes the commit and hashes: X-Repo-Commit, ETag / X-Linked-Etag, the revision and tree APIs', async () => {
    const sha256 = createHash('sha256').update(data).digest('hex');
    const gitSha1 = createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
    const commit = await server.commitOf('org/model');
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
    const small = await fetch(url('main', 'f.bin'), { method: 'HEAD' });
    expect(small.headers.get('x-repo-commit')).toBe(commit);
    expect(small.headers.get('etag')).toBe(`"${gitSha1}"`);
    expect(small.headers.get('x-linked-etag')).toBeNull();
    const big = await fetch(url('main', 'w.safetensors'), { method: 'HEAD' });
    expect(big.headers.get('etag')).toBe(`"${createHash('sha256').update(weights).digest('hex')}"`);
    expect(big.headers.get('x-linked-etag')).toBe(big.headers.get('etag'));
    expect(big.headers.get('access-control-expose-headers')).toMatch(/X-Repo-Commit/);

    const rev = await (await fetch(`${server.url}/api/models/org/model/revision/main`)).json();
    expect(rev).toEqual({ id: 'org/model', sha: commit, siblings: [{ rfilename: 'f.bin' }, { rfilename: 'w.safetensors' }] });
    const tree = await (await fetch(`${server.url}/api/models/org/model/tree/${commit}`)).json();
    expect(tree).toEqual([
      { type: 'file', path: 'f.bin', size: 1000, oid: gitSha1 },
      { type: 'file', path: 'w.safetensors', size: weights.length, oid: expect.stringMatching(/^[0-9a-f]{40}$/), lfs: { oid: createHash('sha256').update(weights).digest('hex'), size: weights.length, pointerSize: 134 } },
    ]);
    expect(sha256).not.toBe(gitSha1);
    const none = await fetch(`${server.url}/api/models/org/none/revision/main`);
    expect([none.status, none.headers.get('x-error-code')]).toEqual([404, 'RepoNotFound']);
    const badRev = await fetch(`${server.url}/api/models/org/model/revision/v9`);
    expect([badRev.status, badRev.headers.get('x-error-code')]).toEqual([404, 'RevisionNotFound']);
  });

  it('moves a branch, guards gated and private repositories with a token', async () => {
    const s = await startHubServer({ root, refs: { 'v1.0': '1'.repeat(40) }, auth: { 'org/model': { token: 'hf_ok', kind: 'gated' } } });
    try {
      const api = (rev: string, token?: string) => fetch(`${s.url}/api/models/org/model/revision/${rev}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
      const denied = await api('main');
      expect([denied.status, denied.headers.get('x-error-code')]).toEqual([401, 'GatedRepo']);
      expect((await api('main', 'hf_wrong')).status).toBe(401);
      expect(((await (await api('v1.0', 'hf_ok')).json()) as { sha: string }).sha).toBe('1'.repeat(40));
      s.moveRef('main', '2'.repeat(40));
      expect(((await (await api('main', 'hf_ok')).json()) as { sha: string }).sha).toBe('2'.repeat(40));
      const file = await fetch(`${s.url}/org/model/resolve/main/f.bin`, { headers: { Authorization: 'Bearer hf_ok' } });
      expect(file.headers.get('x-repo-commit')).toBe('2'.repeat(40));
      expect(s.requests.at(-1)?.authorization).toBe('Bearer hf_ok');
    } finally {
      await s.close();
    }
    const p = await startHubServer({ root, auth: { 'org/model': { token: 't', kind: 'private' } } });
    try {
      const r = await fetch(`${p.url}/org/model/resolve/main/f.bin`);
      expect([r.status, r.headers.get('x-error-code')]).toEqual([401, 'RepoNotFound']);
    } finally {
      await p.close();
    }
  });

  it('corrupts one byte, cuts halfway, fails API calls, only for the named file', async () => {
    const s = await startHubServer({ root, faults: { corruptByte: true, only: 'f.bin' } });
    try {
      const got = new Uint8Array(await (await fetch(`${s.url}/org/model/resolve/main/f.bin`)).arrayBuffer());
      const diff = [...got].flatMap((b, i) => (b !== data[i] ? [i] : []));
      expect(diff).toEqual([500]);
      const tail = new Uint8Array(await (await fetch(`${s.url}/org/model/resolve/main/f.bin`, { headers: { Range: 'bytes=400-' } })).arrayBuffer());
      expect(tail[100]).toBe(data[500] ^ 0xff);
      expect(new Uint8Array(await (await fetch(`${s.url}/org/model/resolve/main/w.safetensors`)).arrayBuffer())).toEqual(weights);
      Object.assign(s.faults, { corruptByte: false, cutAtFraction: 0.5, times: 10 });
      const cut = await fetch(`${s.url}/org/model/resolve/main/f.bin`, { headers: { Range: 'bytes=100-' } });
      await expect(cut.arrayBuffer()).rejects.toThrow();
      expect(s.requests.at(-1)).toMatchObject({ dropped: true, status: 206 });
      s.faults.apiFailStatus = 500;
      expect((await fetch(`${s.url}/api/models/org/model/tree/main`)).status).toBe(500);
    } finally {
      await s.close();
    }
  });
});
