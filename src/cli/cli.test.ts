// The CLI as a user runs it: a real process, real files, exit codes and one-line errors.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, errorLines } from './test-cli';

describe('the CLI', () => {
  let dir: string;
  let model: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'boxed-cli-'));
    model = join(dir, 'tiny');
    const r = await cli('make-model', '--out', model, '--preset', 'tiny', '--seed', '3');
    expect(r.code, r.stderr).toBe(0);
  });

  it.each([
    [['frobnicate'], 2, /unknown command 'frobnicate'/],
    [['logits', '--model', '/nonexistent-dir', '--tokens', '1', '--out', '/tmp/x'], 2, /not a directory/],
    [['logits', '--tokens', '1', '--out', '/tmp/x'], 2, /--model is required/],
    [['generate', '--model', '.', '--prompt', 'x', '--temperature', 'hot'], 2, /--temperature must be a number/],
    [['bench', '--model', '.', '--weights', 'q3'], 2, /--weights must be one of q4\|q8\|f16\|f32/],
    [['make-model', '--out', '/tmp/x', '--preset', 'huge'], 2, /preset/],
    [['logits', '--model', '.', '--tokens', '1', '--out', '/tmp/x', '--kv', 'q4'], 2, /--kv must be one of f16\|f32\|q8/],
  ])('rejects %j with a one-line error and exit code %i', async (args, code, message) => {
    const r = await cli(...args);
    expect(r.code).toBe(code);
    const lines = errorLines(r);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });

  it('refuses a malformed model folder with a ModelFormat error naming the file', async () => {
    const bad = join(dir, 'bad');
    await cli('make-model', '--out', bad, '--preset', 'tiny');
    await writeFile(join(bad, 'model.safetensors'), new Uint8Array([1, 2, 3]));
    const r = await cli('logits', '--model', bad, '--tokens', '1,2', '--out', join(dir, 'never.bin'));
    expect(r.code).toBe(1);
    expect(errorLines(r)[0]).toMatch(/^error: ModelFormat: model\.safetensors: /);
  });

  it('writes the same logits through the prefill and the decode paths', async () => {
    const a = join(dir, 'prefill.bin');
    const b = join(dir, 'decode.bin');
    const tokens = '151644,872,198,9707,1879,0,17';
    const ra = await cli('logits', '--model', model, '--tokens', tokens, '--out', a, '--path', 'prefill', '--weights', 'f32');
    const rb = await cli('logits', '--model', model, '--tokens', tokens, '--out', b, '--path', 'decode', '--weights', 'f32');
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    const la = new Float32Array((await readFile(a)).buffer.slice(0));
    const lb = new Float32Array((await readFile(b)).buffer.slice(0));
    expect(la.length).toBe(151936);
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < la.length; i++) {
      worst = Math.max(worst, Math.abs(la[i] - lb[i]));
      scale = Math.max(scale, Math.abs(la[i]));
    }
    expect(scale).toBeGreaterThan(0);
    expect(worst / scale).toBeLessThan(1e-4);
  });

  it('generates with --json: text, ids, stop reason and stats; a seed reproduces the run', async () => {
    const args = ['generate', '--model', model, '--prompt', 'What is 2+2?', '--mode', 'math', '--max-tokens', '5', '--temperature', '1', '--seed', '42', '--json'];
    const r1 = await cli(...args);
    const r2 = await cli(...args);
    expect(r1.code, r1.stderr).toBe(0);
    const j1 = JSON.parse(r1.stdout.trim().split('\n').pop()!);
    const j2 = JSON.parse(r2.stdout.trim().split('\n').pop()!);
    expect(['eos', 'max-tokens']).toContain(j1.stop);
    expect(j1.ids.length).toBeGreaterThan(0);
    expect(j1.ids.length).toBeLessThanOrEqual(5);
    expect(typeof j1.text).toBe('string');
    expect(j1.stats.promptTokens).toBeGreaterThan(20); // the math prompt wrapped in the chat template
    expect(j2.ids).toEqual(j1.ids);
  });

  it('--kv q8 writes logits near those of the f16 KV cache', async () => {
    const tokens = '151644,872,198,9707,1879,0,17,220,16,10,16';
    const out = { f16: join(dir, 'kv-f16.bin'), q8: join(dir, 'kv-q8.bin') };
    for (const kv of ['f16', 'q8'] as const) {
      const r = await cli('logits', '--model', model, '--tokens', tokens, '--out', out[kv], '--kv', kv);
      expect(r.code, r.stderr).toBe(0);
    }
    const a = new Float32Array((await readFile(out.f16)).buffer.slice(0));
    const b = new Float32Array((await readFile(out.q8)).buffer.slice(0));
    let d2 = 0;
    let n2 = 0;
    for (let i = 0; i < a.length; i++) {
      d2 += (a[i] - b[i]) ** 2;
      n2 += a[i] ** 2;
    }
    const rel = Math.sqrt(d2 / n2);
    expect(rel).toBeGreaterThan(0); // the codes are not the f16 values
    expect(rel).toBeLessThan(0.05);
  });

  it('bench reports speed, dispatches and readbacks per token, and GPU bytes', async () => {
    const r = await cli('bench', '--model', model, '--prompt-tokens', '5', '--gen-tokens', '4', '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
    for (const k of ['prefill_tokens_per_s', 'decode_tokens_per_s', 'dispatches_per_token', 'readbacks_per_token', 'encode_ms_per_token']) {
      expect(j[k], k).toBeGreaterThan(0);
    }
    expect(j.readbacks_per_token).toBe(1);
    // embed + 6 per layer (2 layers; RoPE + KV append in the qkv epilogue) + LM head (final norm included) + sampler
    expect(j.dispatches_per_token).toBeLessThanOrEqual(1 + 6 * 2 + 2);
    expect(j.gpu_bytes.weights).toBeGreaterThan(0);
    expect(j.gpu_bytes.kv_cache).toBeGreaterThan(0);
    expect(typeof j.adapter.description).toBe('string');
  });

  it('bench --rows times decode steps per row count and reports the roofline of the step it ran', async () => {
    const r = await cli('bench', '--model', model, '--prompt-tokens', '5', '--gen-tokens', '4', '--rows', '1,3', '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(j.rows.map((x: { rows: number }) => x.rows)).toEqual([1, 3]);
    for (const x of j.rows) {
      expect(x.step_ms).toBeGreaterThan(0);
      expect(x.encode_ms).toBeGreaterThan(0);
      expect(x.js_heap_bytes_per_step).toBeGreaterThanOrEqual(0);
    }
    const d = j.roofline.decode;
    // the traced step is the step the decode loop records, counted as a discrete GPU runs it: the sampler's two
    // stages are one dispatch on a CPU adapter (lavapipe, SwiftShader)
    expect(d.by_kernel['sample-partial'].dispatches).toBe(1);
    expect(d.counts.dispatches).toBe(j.dispatches_per_token + (j.adapter.isFallback ? 1 : 0));
    expect(d.counts.readbacks).toBe(1);
    expect(d.counts.submits).toBe(1);
    expect(d.per_dispatch).toHaveLength(d.counts.dispatches);
    expect(d.bytes_read).toBeGreaterThan(j.gpu_bytes.weights * 0.9); // every weight is read (the tiny model's head dominates)
    for (const t of ['h200', 'rtx4090', 'm3max']) {
      expect(d.predicted_tokens_per_s[t]).toBeGreaterThan(0);
      expect(j.roofline.prefill.predicted_tokens_per_s[t]).toBeGreaterThan(0);
    }
    const bad = await cli('bench', '--model', model, '--rows', '1,x');
    expect(bad.code).toBe(2);
    expect(errorLines(bad)[0]).toMatch(/--rows must be a comma-separated list/);
  });
});
