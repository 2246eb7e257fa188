// A GGUF model through the CLI on the GPU (Dawn): `make-model --gguf`, then `logits` and `generate` with
// --model FILE.gguf give what the same model's safetensors folder gives; a broken .gguf is a one-line error.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, errorLines } from './test-cli';
import { startHubServer } from '../../scripts/hub-server';
import { copyFile, mkdir } from 'node:fs/promises';

async function floats(path: string): Promise<Float32Array> {
  const b = await readFile(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

describe('GGUF through the CLI', () => {
  let dir: string;
  let model: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'boxed-cli-gguf-'));
    model = join(dir, 'tiny');
    const r = await cli('make-model', '--out', model, '--preset', 'tiny', '--seed', '4', '--untied', '--gguf', 'F16');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('model-F16.gguf');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('logits of the F16 GGUF equal the safetensors model (both prefill and decode paths)', async () => {
    const tokens = '9707,11,1879,0,151644,872,198';
    for (const path of ['prefill', 'decode']) {
      const a = join(dir, `st-${path}.bin`);
      const b = join(dir, `gguf-${path}.bin`);
      const ra = await cli('logits', '--model', model, '--tokens', tokens, '--out', a, '--path', path, '--weights', 'f32');
      const rb = await cli('logits', '--model', join(model, 'model-F16.gguf'), '--tokens', tokens, '--out', b, '--path', path, '--weights', 'f32');
      expect(ra.code, ra.stderr).toBe(0);
      expect(rb.code, rb.stderr).toBe(0);
      const [x, y] = [await floats(a), await floats(b)];
      expect(y.length).toBe(x.length);
      let diff = 0, scale = 0;
      for (let i = 0; i < x.length; i++) {
        diff = Math.max(diff, Math.abs(x[i] - y[i]));
        scale = Math.max(scale, Math.abs(x[i]));
      }
      // F16 holds the model's BF16 values exactly, so only the GPU's summation order could differ
      expect(diff).toBeLessThan(1e-5 * scale);
      expect(scale).toBeGreaterThan(1);
    }
  });

  it('--model hub:owner/name/FILE.gguf downloads that file alone into the cache and gives the local file\'s logits', async () => {
    const root = join(dir, 'hub');
    await mkdir(join(root, 'org', 'tiny-gguf'), { recursive: true });
    await copyFile(join(model, 'model-F16.gguf'), join(root, 'org', 'tiny-gguf', 'tiny-F16.gguf'));
    const hub = await startHubServer({ root });
    try {
      const tokens = '9707,11,1879';
      const [a, b] = [join(dir, 'local.bin'), join(dir, 'hub.bin')];
      const cache = join(dir, 'cache');
      const ra = await cli('logits', '--model', join(model, 'model-F16.gguf'), '--tokens', tokens, '--out', a);
      const rb = await cli('logits', '--model', 'hub:org/tiny-gguf/tiny-F16.gguf@main', '--endpoint', hub.url, '--cache', cache, '--tokens', tokens, '--out', b);
      expect(ra.code, ra.stderr).toBe(0);
      expect(rb.code, rb.stderr).toBe(0);
      expect(Array.from(await floats(b))).toEqual(Array.from(await floats(a)));
      expect(hub.requests.filter((r) => r.path.includes('/resolve/')).every((r) => r.path.endsWith('/tiny-F16.gguf'))).toBe(true);
      const bad = await cli('logits', '--model', 'hub:org/tiny-gguf/README.md', '--endpoint', hub.url, '--cache', cache, '--tokens', tokens, '--out', b);
      expect(bad.code).not.toBe(0);
      expect(errorLines(bad)[0]).toMatch(/^error: InvalidRequest: .*FILE\.gguf/);
    } finally {
      await hub.close();
    }
  });

  it('generates the same greedy answer from the GGUF file alone', async () => {
    const args = ['--prompt', 'What is 2+2?', '--mode', 'math', '--max-tokens', '6', '--temperature', '0', '--json'];
    const ra = await cli('generate', '--model', model, ...args);
    const rb = await cli('generate', '--model', join(model, 'model-F16.gguf'), ...args);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    const [a, b] = [JSON.parse(ra.stdout.trim().split('\n').pop()!), JSON.parse(rb.stdout.trim().split('\n').pop()!)];
    expect(b.ids).toEqual(a.ids);
    expect(b.text).toBe(a.text);
    expect(a.ids.length).toBe(6);
    // the model info says what the file holds (the safetensors folder: the weight format only)
    expect(a.model).toEqual({ name: model, weights: 'q4' });
    expect(b.model.gguf.fileType).toBe('F16');
    const types = b.model.gguf.types as { type: string; tensors: number; bytes: number }[];
    expect(types.map((t) => t.type)).toEqual(['F16', 'F32']);
    // tiny, untied: embedding + head + 7 matrices a layer in F16; the final norm + 2 norms and 3 biases a layer in F32
    const layers = (JSON.parse(await readFile(join(model, 'config.json'), 'utf8')) as { num_hidden_layers: number }).num_hidden_layers;
    expect(types.map((t) => t.tensors)).toEqual([2 + 7 * layers, 1 + 5 * layers]);
    expect(types[0].bytes).toBeGreaterThan(types[1].bytes);
  });

  it('refuses a broken .gguf with a one-line ModelFormat error', async () => {
    const bad = join(dir, 'bad.gguf');
    const good = await readFile(join(model, 'model-F16.gguf'));
    await writeFile(bad, good.subarray(0, 4096));
    const r = await cli('logits', '--model', bad, '--tokens', '1', '--out', join(dir, 'never.bin'));
    expect(r.code).toBe(1);
    const lines = errorLines(r);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: ModelFormat: bad\.gguf: truncated/);
  });
});
