// A GGUF file's header read from a real local HTTP server in the hub's URL layout by Range requests:
// the tensor infos arrive without the tensor data being downloaded; a server without Range support is refused.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubServer, type HubServer } from '../../../scripts/hub-server';
import { BoxedError } from '../../protocol/errors';
import { bytesSource } from '../source';
import { parseGguf } from './parse';
import { parseRemoteGguf } from './remote';
import { writeGguf } from './write';

const BIG = 4 << 20; // values in the big tensor: 16 MiB of F32
let root: string;
let file: Uint8Array;

beforeAll(async () => {
  const parts: Uint8Array[] = [];
  await writeGguf(
    { write: async (b) => void parts.push(b.slice()) },
    { 'general.architecture': { kind: 'string', value: 'qwen2' }, 'general.name': { kind: 'string', value: 'remote test' } },
    [
      { name: 'token_embd.weight', type: 'F32', dims: [1024, BIG / 1024], data: () => [new Float32Array(BIG).map((_, i) => i % 97)] },
      { name: 'output_norm.weight', type: 'F32', dims: [1024], data: () => [new Float32Array(1024).fill(1)] },
    ],
  );
  file = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    file.set(p, at);
    at += p.length;
  }
  root = await mkdtemp(join(tmpdir(), 'boxed-gguf-remote-'));
  await mkdir(join(root, 'org', 'm'), { recursive: true });
  await writeFile(join(root, 'org', 'm', 'model-F32.gguf'), file);
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('parseRemoteGguf', () => {
  let server: HubServer;
  afterAll(() => server?.close());

  it('reads the header by Range, not the tensor data', async () => {
    server = await startHubServer({ root });
    const url = `${server.url}/org/m/resolve/main/model-F32.gguf`;
    const g = await parseRemoteGguf(url, 'model-F32.gguf');
    const local = await parseGguf(bytesSource('model-F32.gguf', file));
    expect([...g.tensors.values()]).toEqual([...local.tensors.values()]);
    expect(g.metadata['general.name']).toBe('remote test');
    const served = server.requests.map((r) => {
      expect(r.status).toBe(206);
      const m = /^bytes=(\d+)-(\d+)$/.exec(r.range ?? '');
      return Math.min(Number(m![2]) + 1, file.length) - Number(m![1]);
    });
    expect(served.reduce((a, b) => a + b, 0)).toBeLessThan(file.length / 2);
  });

  it('refuses a server that ignores Range, in one line', async () => {
    const plain = await startHubServer({ root, faults: { ignoreRange: true } });
    try {
      const e = await parseRemoteGguf(`${plain.url}/org/m/resolve/main/model-F32.gguf`, 'model-F32.gguf').catch((x: unknown) => x);
      expect(e).toBeInstanceOf(BoxedError);
      expect((e as BoxedError).name).toBe('Network');
      expect((e as Error).message).toMatch(/^model-F32\.gguf: the server answered 200 to a Range request/);
    } finally {
      await plain.close();
    }
  });
});
