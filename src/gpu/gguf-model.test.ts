// The whole forward pass of a GGUF model on the GPU with its blocks kept as stored (the synthetic k256 model
// of `make-model --gguf TYPE`): against the CPU oracle on the file's own dequantized weights (tight), against
// the safetensors model's f32 oracle (within each type's quantization error), and prefill = decode.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSyntheticModel } from '../../scripts/synthetic-model';
import { GGUF_MIXES, GGUF_WRITE_TYPES, type GgufMix, type GgufWriteType } from '../../scripts/synthetic-gguf';
import { openCheckpoint, type Checkpoint } from '../loader/checkpoint';
import { openGgufCheckpoint } from '../loader/gguf/checkpoint';
import { dirProvider, fileSource } from '../cli/file-source';
import { nodeContext, PROFILES } from './test-device';
import type { GpuContext } from './context';
import { GpuModel } from './model';
import { CpuModel } from '../cpu/model';
import { mapWeights } from '../model/weights';
import { argmax } from '../sampler/sample';
import { gpuFormatOfGgml } from './weights';
import { dequantize, packWeight } from '../loader/quant';
import { relRms } from '../cpu/compare';

const PROMPT = [151644, 8948, 198, 151645, 198, 151644, 872, 198, 9707, 1879, 0, 17, 220, 16, 10, 16, 28, 30, 151645]; // 19: > 16 rows

async function weightsOf(c: Checkpoint): Promise<Map<string, Float32Array>> {
  const w = new Map<string, Float32Array>();
  for (const n of c.tensorNames) w.set(n, await c.read(n));
  return w;
}

function cpuLogits(c: Checkpoint, w: Map<string, Float32Array>): Float32Array {
  const m = new CpuModel(c.config, mapWeights(c.config, (n) => w.get(n)!), { context: 32, slots: 1, kv: 'f32' });
  return m.step(
    PROMPT.map((token, pos) => ({ token, pos, slot: 0 })),
    true,
  ).slice();
}

async function gpuLogits(ctx: GpuContext, c: Checkpoint, chunk: number): Promise<{ logits: Float32Array; model: GpuModel }> {
  const m = await GpuModel.load(ctx, c.config, c, { weights: 'q8', kv: 'f32', context: 32, slots: 1, chunk }, c.config.vocab);
  for (let s = 0; s < PROMPT.length; s += m.rowsPerStep) {
    const part = PROMPT.slice(s, s + m.rowsPerStep);
    m.submitStep(
      part.map((_, i) => ({ slot: 0, pos: s + i })),
      { tokens: part, lastRowOnly: true },
    );
  }
  return { logits: await m.readLogits(1), model: m };
}

// Logit error relative to the safetensors model's f32 logits (src/loader/gguf/model.test.ts measures the same
// on the CPU: F16 8e-8, Q8_0 1.2%, Q6_K 4.0%, Q4_K 16%, Q4_0 17%).
// Q4_K_M: Q4_K with some Q6_K and Q5_K matrices (scripts/synthetic-gguf.ts).
const LOGIT_BOUND: Record<GgufWriteType | GgufMix, number> = { F16: 1e-4, Q8_0: 0.02, Q6_K: 0.06, Q4_K: 0.22, Q4_0: 0.24, Q4_K_M: 0.22 };
const TYPES = [...GGUF_WRITE_TYPES, ...GGUF_MIXES];

let dir: string;
let st: Checkpoint;
let want32: Float32Array;
let ctx: GpuContext;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'boxed-gguf-gpu-'));
  await makeSyntheticModel({ out: dir, preset: 'k256', seed: 5, gguf: TYPES });
  st = await openCheckpoint(dirProvider(dir));
  want32 = cpuLogits(st, await weightsOf(st));
  ctx = await nodeContext(PROFILES.full);
}, 600_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('GGUF models on the GPU, blocks as stored (k256 synthetic model, f32 KV)', () => {
  it.each(TYPES)('%s: prefill (19 rows) and decode equal the oracle on the file\'s weights; drift within the type\'s bound', async (type) => {
    const g = await openGgufCheckpoint(await fileSource(join(dir, `model-${type}.gguf`), `model-${type}.gguf`));
    const w = await weightsOf(g);
    if (type === 'Q4_K_M') {
      // gate and up of two types are decoded and packed in the `weights` format (q8 here): the oracle does the same
      for (const n of ['model.layers.1.mlp.gate_proj.weight', 'model.layers.1.mlp.up_proj.weight']) {
        w.set(n, dequantize(packWeight(w.get(n)!, g.config.ffnDim, g.config.dim, 'q8')));
      }
    }
    const oracle = cpuLogits(g, w);
    const pre = await gpuLogits(ctx, g, PROMPT.length);
    // the blocks were kept: the layers' weights are in the file's types, not the q8 of `weights`
    const qType = g.ggml.type('model.layers.0.self_attn.q_proj.weight');
    expect(pre.model.gpuBytes().weights).toBeGreaterThan(0);
    if (type === 'Q4_K_M') {
      // the mix: layer 0's v (and down) in Q6_K next to a Q4_K q; layer 1's gate Q4_K and up Q5_K
      expect([qType, g.ggml.type('model.layers.0.self_attn.v_proj.weight'), g.ggml.type('model.layers.1.mlp.up_proj.weight')]).toEqual(['Q4_K', 'Q6_K', 'Q5_K']);
    } else {
      expect(gpuFormatOfGgml(qType)).toBe(type === 'F16' ? 'f16' : type);
    }
    pre.model.destroy();
    const dec = await gpuLogits(ctx, g, 1);
    dec.model.destroy();
    const errPre = relRms(pre.logits, oracle);
    const errDec = relRms(dec.logits, oracle);
    const drift = relRms(pre.logits, want32);
    process.stdout.write(`GGUF ${type} on the GPU: vs its own oracle prefill ${errPre.toExponential(2)}, decode ${errDec.toExponential(2)}; vs f32 safetensors ${drift.toExponential(2)}\n`);
    expect(errPre).toBeLessThan(1e-4);
    expect(errDec).toBeLessThan(1e-4);
    expect(relRms(dec.logits, pre.logits)).toBeLessThan(1e-4);
    expect(argmax(pre.logits, pre.logits.length)).toBe(argmax(oracle, oracle.length));
    expect(drift).toBeLessThan(LOGIT_BOUND[type]);
    if (type !== 'F16') expect(drift).toBeGreaterThan(LOGIT_BOUND[type] / 30); // the blocks' error, not a repack's
  }, 600_000);

  // q, k and v of one block type are one stacked chunk (one qkv dispatch a layer), as the safetensors model's
  // qkv is; Q4_K_M's layer 0 has a Q6_K v next to Q4_K q and k: two parts there, one dispatch more. A GGUF
  // model keeps the embed dispatch (its table's block type), which the safetensors model folds into layer 0's qkv
  it('decode dispatches a token: Q4_K = the q4 safetensors model\'s + the embed dispatch; Q4_K_M one more (layer 0 qkv of two types)', async () => {
    const decodeDispatches = async (c: Checkpoint, weights: 'q4' | 'q8') => {
      const m = await GpuModel.load(ctx, c.config, c, { weights, kv: 'f32', context: 8, slots: 1, chunk: 1 }, c.config.vocab);
      try {
        m.submitStep([{ slot: 0, pos: 0 }], { tokens: [PROMPT[0]], lastRowOnly: true });
        await m.readLogits(1);
        const before = ctx.stats.dispatches;
        m.submitStep([{ slot: 0, pos: 1 }], { tokens: [PROMPT[1]], lastRowOnly: true });
        await m.readLogits(1);
        return ctx.stats.dispatches - before;
      } finally {
        m.destroy();
      }
    };
    const open = async (type: string) => openGgufCheckpoint(await fileSource(join(dir, `model-${type}.gguf`), `model-${type}.gguf`));
    const safetensors = await decodeDispatches(st, 'q4');
    expect(safetensors).toBeGreaterThan(0);
    expect(await decodeDispatches(await open('Q4_K'), 'q8')).toBe(safetensors + 1);
    expect(await decodeDispatches(await open('Q4_K_M'), 'q8')).toBe(safetensors + 2);
  }, 600_000);
});
