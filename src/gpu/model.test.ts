// The whole forward pass on the GPU against the CPU oracle, on synthetic models with the real tensor
// names, the real tokenizer and awkward shapes. The oracle runs on "what the GPU stores": the same
// folded/packed/dequantized matrices, so each weight format is checked within a tight tolerance; a
// second check bounds each format's distance from the original f32 model.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSyntheticModel } from '../../scripts/synthetic-model';
import { openCheckpoint, type Checkpoint } from '../loader/checkpoint';
import { dirProvider } from '../cli/file-source';
import { nodeContext, PROFILES } from './test-device';
import type { GpuContext } from './context';
import { GpuModel } from './model';
import { storedWeights } from '../cpu/stored-weights';
import { CpuModel } from '../cpu/model';
import { mapWeights, type ModelWeights } from '../model/weights';
import type { ModelConfig } from '../model/config';
import type { KvFormat, WeightFormat } from '../protocol/engine';
import { generateSequence } from '../engine/generate';
import { argmax } from '../sampler/sample';
import { Tokenizer } from '../tokenizer/tokenizer';
import { relRms, maxAbs } from '../cpu/compare';

interface Fixture {
  ckpt: Checkpoint;
  cfg: ModelConfig;
  w: ModelWeights<Float32Array>;
  validVocab: number;
}

async function fixture(preset: 'tiny' | 'odd', untied: boolean): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), `boxed-${preset}-`));
  await makeSyntheticModel({ out: dir, preset, untied, seed: 11 });
  const ckpt = await openCheckpoint(dirProvider(dir));
  const names = mapWeights(ckpt.config, (n) => n);
  const read = async (n: string) => ckpt.read(n);
  const w: ModelWeights<Float32Array> = {
    embed: await read(names.embed),
    norm: await read(names.norm),
    lmHead: names.lmHead ? await read(names.lmHead) : null,
    layers: [],
  };
  for (const l of names.layers) {
    const entries = await Promise.all(Object.entries(l).map(async ([k, n]) => [k, await read(n)] as const));
    w.layers.push(Object.fromEntries(entries) as unknown as ModelWeights<Float32Array>['layers'][number]);
  }
  const tok = Tokenizer.fromFiles(ckpt.tokenizerJson, ckpt.tokenizerConfig);
  return { ckpt, cfg: ckpt.config, w, validVocab: tok.size };
}

const PROMPT = [151644, 8948, 198, 151645, 198, 151644, 872, 198, 9707, 1879, 0, 17, 220]; // 13 tokens, 4 chunks of 4

function cpuLogits(fx: Fixture, w: ModelWeights<Float32Array>, kv: KvFormat, tokens: number[]): Float32Array {
  const cpu = new CpuModel(fx.cfg, w, { context: 64, slots: 1, kv });
  return cpu.step(tokens.map((token, pos) => ({ token, pos, slot: 0 })), true).slice();
}

async function gpuModel(ctx: GpuContext, fx: Fixture, weights: WeightFormat, kv: KvFormat, chunk: number, context = 64): Promise<GpuModel> {
  return GpuModel.load(ctx, fx.cfg, fx.ckpt, { weights, kv, context, slots: 1, chunk }, fx.validVocab);
}

async function prefillLogits(m: GpuModel, tokens: number[]): Promise<Float32Array> {
  for (let s = 0; s < tokens.length; s += m.rowsPerStep) {
    const part = tokens.slice(s, s + m.rowsPerStep);
    m.submitStep(part.map((_, i) => ({ slot: 0, pos: s + i })), { tokens: part, lastRowOnly: true });
  }
  return m.readLogits(1);
}

/** Every |gpu - cpu| within tol * max|cpu|; returns the worst ratio for the message. */
function expectLogitsClose(gpu: Float32Array, cpu: Float32Array, tol: number, what: string): void {
  expect(gpu.length).toBe(cpu.length);
  const scale = maxAbs(cpu);
  let worst = 0;
  let at = 0;
  for (let i = 0; i < gpu.length; i++) {
    const d = Math.abs(gpu[i] - cpu[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  expect(worst / scale, `${what}: worst |gpu-cpu| ${worst} at ${at} (gpu ${gpu[at]}, cpu ${cpu[at]}), scale ${scale}`).toBeLessThan(tol);
  expect(argmax(gpu, gpu.length)).toBe(argmax(cpu, cpu.length));
}

// Distance from the original f32 model (f32 KV) that each stored format may add, as the relative RMS of
// the logits (f16 KV alone accounts for ~1e-4). Measured: f32 1.2e-4, f16 ~2e-3, q8 ~1e-2, q4 0.18-0.22:
// random Gaussian weights are the worst case for 4-bit groups (no outliers to spend the range on).
const FORMAT_DRIFT: Record<WeightFormat, number> = { f32: 1e-3, f16: 5e-3, q8: 2e-2, q4: 0.3 };

describe.each([
  ['tiny', false],
  ['odd', false],
  ['odd', true],
] as const)('forward pass on the %s model (untied: %s)', (preset, untied) => {
  let fx: Fixture;
  let ctx: GpuContext;
  let ref32: Float32Array;
  beforeAll(async () => {
    fx = await fixture(preset, untied);
    ctx = await nodeContext(PROFILES.full);
    ref32 = cpuLogits(fx, fx.w, 'f32', PROMPT);
  });

  it.each(['f32', 'f16', 'q8', 'q4'] as const)('%s weights: GPU prefill (chunks of 4) matches the CPU oracle', async (format) => {
    const m = await gpuModel(ctx, fx, format, 'f16', 4);
    const got = await prefillLogits(m, PROMPT);
    const want = cpuLogits(fx, storedWeights(fx.cfg, fx.w, format), 'f16', PROMPT);
    expectLogitsClose(got, want, 2e-4, `${format} vs oracle`);
    const drift = relRms(got, ref32);
    expect(drift, `${format} drift from the f32 model`).toBeLessThan(FORMAT_DRIFT[format]);
    m.destroy();
  });

  it('prefill path equals the decode path (q4 weights, f16 KV)', async () => {
    const a = await gpuModel(ctx, fx, 'q4', 'f16', PROMPT.length);
    const viaPrefill = await prefillLogits(a, PROMPT);
    a.destroy();
    const b = await gpuModel(ctx, fx, 'q4', 'f16', 1);
    const viaDecode = await prefillLogits(b, PROMPT);
    b.destroy();
    expectLogitsClose(viaDecode, viaPrefill, 1e-4, 'decode vs prefill');
  });

  it('a 26-row prefill chunk (the tiled matmul path: RoPE + KV append and the final norm in its epilogues) matches the CPU oracle', async () => {
    const prompt = [...PROMPT, ...PROMPT.map((t) => t + 1)];
    const m = await gpuModel(ctx, fx, 'q8', 'f16', prompt.length);
    const got = await prefillLogits(m, prompt);
    m.destroy();
    expectLogitsClose(got, cpuLogits(fx, storedWeights(fx.cfg, fx.w, 'q8'), 'f16', prompt), 2e-4, 'q8 26-row prefill vs oracle');
  });

  it('RoPE in the qkv epilogue: the same logits as the separate rope-kv dispatch, one dispatch fewer per layer', async () => {
    const fused = await gpuModel(ctx, fx, 'q4', 'f16', 4);
    const separate = await GpuModel.load(ctx, fx.cfg, fx.ckpt, { weights: 'q4', kv: 'f16', context: 64, slots: 1, chunk: 4, fuseRope: false }, fx.validVocab);
    const a = await prefillLogits(fused, PROMPT);
    const b = await prefillLogits(separate, PROMPT);
    expectLogitsClose(a, b, 1e-5, 'fused vs separate RoPE');
    // one decode step with sampling: per layer qkv, attention (one split under 64 positions), o, gate/up, down
    // (+ rope-kv when separate), then the LM head (final norm included) and the sampler; the embedding is
    // gathered by layer 0's qkv
    const step = async (m: GpuModel) => {
      const before = ctx.stats.dispatches;
      const h = m.submitStep([{ slot: 0, pos: PROMPT.length }], { tokens: [17], lastRowOnly: false, sampling: [{ temperature: 0, topP: 1, topK: 0, coin: 0 }] });
      const n = ctx.stats.dispatches - before;
      await m.readTokens(h);
      return n;
    };
    const L = fx.cfg.nLayers;
    expect(await step(fused)).toBe(5 * L + 2);
    expect(await step(separate)).toBe(6 * L + 2);
    // the roofline counts a discrete GPU's dispatches: the sampler's two stages, on any adapter
    const r = fused.traceStep([{ slot: 0, pos: PROMPT.length }], { lastRowOnly: false, sampling: [{ temperature: 0.6, topP: 0.95, topK: 0, coin: 0.5 }] });
    expect(r.counts.dispatches).toBe(5 * L + 3);
    expect(r.per_dispatch).toHaveLength(5 * L + 3);
    expect(r.by_kernel['sample-partial'].dispatches).toBe(1);
    expect(r.by_kernel.sample.dispatches).toBe(1);
    fused.destroy();
    separate.destroy();
  });

  it('the embedding in layer 0\'s qkv (decode steps): the logits and ids of the embed dispatch, one dispatch fewer', async () => {
    // 9 storage buffers: the q4 qkv with RoPE and the embedding needs 10, so this device keeps the embed dispatch
    const narrow = await nodeContext({ capLimits: { maxStorageBuffersPerShaderStage: 9 } });
    const load = (c: GpuContext) => GpuModel.load(c, fx.cfg, fx.ckpt, { weights: 'q4', kv: 'f16', context: 64, slots: 3, chunk: 4 }, fx.validVocab);
    const models = [await load(ctx), await load(narrow)];
    const fusedLogits = await prefillLogits(models[0], PROMPT);
    const embedLogits = await prefillLogits(models[1], PROMPT);
    expectLogitsClose(fusedLogits, embedLogits, 1e-5, 'fused vs embed dispatch');
    expectLogitsClose(fusedLogits, cpuLogits(fx, storedWeights(fx.cfg, fx.w, 'q4'), 'f16', PROMPT), 2e-4, 'fused vs oracle');
    // a batched decode step of 3 rows continuing from the sampled ids: the same ids, one dispatch fewer
    const sampling = [0, 1, 2].map((i) => ({ temperature: 0.8, topP: 0.9, topK: 0, coin: 0.1 + 0.3 * i }));
    const counts: number[] = [];
    const got: number[][] = [];
    for (const [i, m] of models.entries()) {
      const c = i === 0 ? ctx : narrow;
      for (const slot of [1, 2]) m.copySlot(0, slot, PROMPT.length);
      const rows = [0, 1, 2].map((slot) => ({ slot, pos: PROMPT.length }));
      await m.readTokens(m.submitStep(rows, { tokens: [17, 9707, 0], lastRowOnly: false, sampling }));
      const before = c.stats.dispatches;
      const h = m.submitStep(rows.map((r) => ({ ...r, pos: r.pos + 1 })), { lastRowOnly: false, sampling });
      counts.push(c.stats.dispatches - before);
      got.push(Array.from(await m.readTokens(h)));
      m.destroy();
    }
    expect(counts[0]).toBe(counts[1] - 1);
    expect(got[0]).toEqual(got[1]);
  });
});

describe('greedy generation', () => {
  it('32 greedy tokens are identical on the GPU and the CPU (f32 weights, f32 KV)', async () => {
    // untied: with a tied random embedding the likeliest next token is the current one, forever
    const fx = await fixture('odd', true);
    const ctx = await nodeContext(PROFILES.full);
    const m = await gpuModel(ctx, fx, 'f32', 'f32', 8, 128);
    const r = await generateSequence(m, { promptIds: PROMPT, maxTokens: 32, sampling: { temperature: 0, topP: 1, topK: 0, seed: 1 }, eosIds: new Set() });
    m.destroy();
    const cpu = new CpuModel(fx.cfg, fx.w, { context: 128, slots: 1, kv: 'f32' });
    let logits = cpu.step(PROMPT.map((token, pos) => ({ token, pos, slot: 0 })), true);
    const want: number[] = [];
    for (let i = 0; i < 32; i++) {
      const id = argmax(logits, fx.validVocab);
      want.push(id);
      logits = cpu.step([{ token: id, pos: PROMPT.length + i, slot: 0 }], true);
    }
    expect(r.ids).toEqual(want);
    expect(r.stop).toBe('max-tokens');
    expect(new Set(want).size).toBeGreaterThan(1); // a real sequence, not one repeated id
  });
});

describe('weak adapter (no f16, no subgroups, 256 invocations, 10 storage buffers)', () => {
  it.each(['q4', 'f16'] as const)('%s weights on the odd model match the CPU oracle', async (format) => {
    const fx = await fixture('odd', true);
    const ctx = await nodeContext(PROFILES.weak);
    const m = await gpuModel(ctx, fx, format, 'f16', 5);
    const got = await prefillLogits(m, PROMPT);
    m.destroy();
    expectLogitsClose(got, cpuLogits(fx, storedWeights(fx.cfg, fx.w, format), 'f16', PROMPT), 2e-4, `${format} weak`);
  }, 300_000); // the first test on this profile compiles every pipeline of the model on lavapipe
});

describe.each([
  ['tiny', PROFILES.full],
  ['odd', PROFILES.full],
  ['tiny', PROFILES.weak],
] as const)('q8 KV cache on the %s model', (preset, profile) => {
  let fx: Fixture;
  let ctx: GpuContext;
  beforeAll(async () => {
    fx = await fixture(preset, true);
    ctx = await nodeContext(profile);
  }, 300_000);

  it('prefill (chunks of 4) and decode (one row a step) match the oracle with q8 KV; one rope-kv dispatch a layer', async () => {
    const want = cpuLogits(fx, storedWeights(fx.cfg, fx.w, 'q8'), 'q8', PROMPT);
    const a = await gpuModel(ctx, fx, 'q8', 'q8', 4);
    const viaPrefill = await prefillLogits(a, PROMPT);
    expectLogitsClose(viaPrefill, want, 2e-4, 'q8 KV prefill vs oracle');
    const before = ctx.stats.dispatches;
    const h = a.submitStep([{ slot: 0, pos: PROMPT.length }], { tokens: [17], lastRowOnly: false, sampling: [{ temperature: 0, topP: 1, topK: 0, coin: 0 }] });
    // per layer qkv, rope-kv (q8: its amax needs the whole head vector), attention, o, gate/up, down; then the LM
    // head and the sampler (the embedding gathered by layer 0's qkv): the separate-RoPE count, one more a layer
    expect(ctx.stats.dispatches - before).toBe(6 * fx.cfg.nLayers + 2);
    await a.readTokens(h);
    a.destroy();
    const b = await gpuModel(ctx, fx, 'q8', 'q8', 1);
    const viaDecode = await prefillLogits(b, PROMPT);
    b.destroy();
    expectLogitsClose(viaDecode, viaPrefill, 1e-4, 'q8 KV decode vs prefill');
    // q8 KV against f16 KV on the oracle: the quantization's own effect, small but not nothing
    const f16 = cpuLogits(fx, storedWeights(fx.cfg, fx.w, 'q8'), 'f16', PROMPT);
    const d = relRms(want, f16);
    expect(d).toBeGreaterThan(0);
    expect(d).toBeLessThan(0.05);
  }, 300_000);

  it('two rows of two slots in one step equal each row alone; a copied slot (codes and scales) continues alike', async () => {
    const other = PROMPT.map((t) => t + 3);
    const m = await GpuModel.load(ctx, fx.cfg, fx.ckpt, { weights: 'q8', kv: 'q8', context: 64, slots: 3, chunk: 4 }, fx.validVocab);
    for (const [slot, toks] of [[0, PROMPT], [1, other]] as const) {
      for (let s = 0; s < toks.length; s += 4) {
        const part = toks.slice(s, s + 4);
        m.submitStep(part.map((_, i) => ({ slot, pos: s + i })), { tokens: part, lastRowOnly: true });
      }
    }
    m.copySlot(1, 2, PROMPT.length);
    m.submitStep([0, 1, 2].map((slot) => ({ slot, pos: PROMPT.length })), { tokens: [17, 18, 18], lastRowOnly: false });
    const rows = await m.readLogits(3);
    m.destroy();
    const vocab = fx.cfg.vocab;
    const both = rows.subarray(0, 2 * vocab);
    expectLogitsClose(rows.subarray(2 * vocab), rows.subarray(vocab, 2 * vocab), 1e-6, 'copied slot 2 vs slot 1');
    for (const [r, toks, next] of [[0, PROMPT, 17], [1, other, 18]] as const) {
      const single = await gpuModel(ctx, fx, 'q8', 'q8', 4);
      const alone = await prefillLogits(single, [...toks, next]);
      single.destroy();
      expectLogitsClose(both.subarray(r * vocab, (r + 1) * vocab), alone, 1e-4, `row ${r} batched vs alone`);
    }
  }, 300_000);
});

describe('q8 KV cache', () => {
  it('k256 model, 300 positions: GPU logits with q8 KV stay near f16 KV (prefill attention path, 128-row chunks)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'boxed-k256-'));
    await makeSyntheticModel({ out: dir, preset: 'k256', untied: true, seed: 5 });
    const ckpt = await openCheckpoint(dirProvider(dir));
    const tok = Tokenizer.fromFiles(ckpt.tokenizerJson, ckpt.tokenizerConfig);
    const ctx = await nodeContext(PROFILES.full);
    const tokens = Array.from({ length: 300 }, (_, i) => (i * 7919 + 13) % tok.size);
    const logits = async (kv: KvFormat) => {
      const m = await GpuModel.load(ctx, ckpt.config, ckpt, { weights: 'f16', kv, context: 320, slots: 1, chunk: 128 }, tok.size);
      const got = await prefillLogits(m, tokens);
      m.destroy();
      return got;
    };
    const f16 = await logits('f16');
    const q8 = await logits('q8');
    const d = relRms(q8, f16);
    let worst = 0;
    for (let i = 0; i < q8.length; i++) worst = Math.max(worst, Math.abs(q8[i] - f16[i]));
    process.stdout.write(`k256, 300 positions: q8 vs f16 KV logits relRms ${d.toExponential(2)}, max |diff| ${worst.toExponential(2)} (max |logit| ${maxAbs(f16).toFixed(2)})\n`);
    expect(d).toBeGreaterThan(0);
    expect(d).toBeLessThan(0.05);
    expect(argmax(q8, q8.length)).toBe(argmax(f16, f16.length));
  }, 600_000);
});
