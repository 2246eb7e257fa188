import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticValues } from '../../scripts/synthetic-model';
import { openCheckpoint, type Checkpoint } from '../loader/checkpoint';
import { decodeToF32, encodeFromF32 } from '../loader/dtype';
import { expectedTensors } from '../model/weights';
import { BoxedError } from '../protocol/errors';
import { dirProvider } from './file-source';
import { makeModelCommand } from './make-model';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'boxed-mm-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function stats(x: Float32Array): { mean: number; std: number } {
  let s = 0;
  let s2 = 0;
  for (const v of x) {
    s += v;
    s2 += v * v;
  }
  const mean = s / x.length;
  return { mean, std: Math.sqrt(s2 / x.length - mean * mean) };
}

async function checkShapes(ck: Checkpoint): Promise<void> {
  const specs = expectedTensors(ck.config);
  expect(ck.tensorNames).toEqual(specs.map((s) => s.name));
  for (const s of specs) expect(ck.info(s.name)).toMatchObject({ dtype: 'BF16', shape: s.shape });
}

describe('make-model', () => {
  it('tiny: a tied 2-layer model that openCheckpoint reads back', async () => {
    const out = join(dir, 'tiny');
    await makeModelCommand(['--out', out, '--preset', 'tiny', '--seed', '7']);
    const ck = await openCheckpoint(dirProvider(out));
    expect(ck.config).toMatchObject({ dim: 64, nHeads: 4, nKvHeads: 2, headDim: 16, ffnDim: 176, nLayers: 2, vocab: 151936, tiedEmbeddings: true });
    expect(ck.config).toMatchObject({ ropeTheta: 1e6, normEps: 1e-6, maxPositions: 32768, torchDtype: 'bfloat16' });
    expect(ck.config.eosTokenIds).toEqual([151645, 151643]);
    expect(ck.generation).toEqual({ eosTokenIds: [151645, 151643], temperature: 0.6, topP: 0.95 });
    expect((ck.tokenizerConfig as { eos_token: string }).eos_token).toBe('<|im_end|>');
    expect(Object.keys((ck.tokenizerJson as { model: { vocab: object } }).model.vocab).length).toBe(151643);
    await checkShapes(ck);
    expect(ck.bytes).toBe(2 * (151936 * 64 + 2 * (2 * 64 + 64 * 64 + 64 + 2 * (32 * 64 + 32) + 64 * 64 + 3 * 176 * 64) + 64));

    // weights: non-degenerate, with the documented scales
    const embed = stats(await ck.read('model.embed_tokens.weight'));
    expect(Math.abs(embed.mean)).toBeLessThan(0.01);
    expect(embed.std).toBeGreaterThan(0.98);
    expect(embed.std).toBeLessThan(1.02);
    const gain = stats(await ck.read('model.layers.1.input_layernorm.weight'));
    expect(Math.abs(gain.mean - 1)).toBeLessThan(0.05);
    expect(gain.std).toBeGreaterThan(0.05);
    const wq = stats(await ck.read('model.layers.0.self_attn.q_proj.weight'));
    expect(wq.std * Math.sqrt(64)).toBeGreaterThan(0.9);
    expect(wq.std * Math.sqrt(64)).toBeLessThan(1.1);
    const bias = stats(await ck.read('model.layers.0.self_attn.k_proj.bias'));
    expect(bias.std).toBeGreaterThan(0.02);
    expect(bias.std).toBeLessThan(0.1);

    // deterministic: the file holds exactly the seeded stream, rounded to BF16
    const specs = expectedTensors(ck.config);
    const i = specs.findIndex((s) => s.name === 'model.layers.1.mlp.down_proj.weight');
    const want = decodeToF32(encodeFromF32([...syntheticValues(specs[i], ck.config, 7, i)][0], 'BF16'), 'BF16');
    expect(Array.from(await ck.read(specs[i].name))).toEqual(Array.from(want));

    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', rope_scaling: null, use_sliding_window: false });
  });

  it('odd --untied: awkward shapes and an LM head', async () => {
    const out = join(dir, 'odd');
    await makeModelCommand(['--out', out, '--preset', 'odd', '--untied']);
    const ck = await openCheckpoint(dirProvider(out));
    expect(ck.config).toMatchObject({ dim: 72, nHeads: 3, nKvHeads: 3, headDim: 24, ffnDim: 131, nLayers: 3, vocab: 151673, tiedEmbeddings: false });
    await checkShapes(ck);
    expect(ck.tensorNames.at(-1)).toBe('lm_head.weight');
    const head = await ck.read('lm_head.weight');
    const embed = await ck.read('model.embed_tokens.weight');
    expect(head.length).toBe(151673 * 72);
    expect(head.subarray(0, 100)).not.toEqual(embed.subarray(0, 100));
  });

  it.each([
    [[], /--out/],
    [['--out', 'x'], /--preset/],
    [['--out', 'x', '--preset', 'huge'], /--preset/],
    [['--out', 'x', '--preset', 'tiny', '--seed', '-1'], /--seed/],
    [['--out', 'x', '--preset', 'tiny', '--seed', '1.5'], /--seed/],
    [['--out', 'x', '--preset', 'tiny', '--bogus'], /bogus/],
  ])('rejects %j with InvalidRequest', async (argv, msg) => {
    try {
      await makeModelCommand(argv);
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(BoxedError);
      expect((e as BoxedError).name).toBe('InvalidRequest');
      expect((e as BoxedError).message).toMatch(msg);
    }
  });
});
