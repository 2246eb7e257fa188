// Synthetic Qwen2 checkpoints in Hugging Face layout, for tests and benchmarks: config.json,
// generation_config.json, tokenizer.json, tokenizer_config.json and model.safetensors (BF16), with seeded
// random weights. Tensors are generated and written in chunks, so even the 3 GB `full` preset never sits in memory.
// Weights (per tensor its own seeded stream, so a tensor does not depend on the others):
//   embedding, untied LM head  N(0, 1)  (rows have norm ~sqrt(dim): tied logits are peaked but not one-hot)
//   q/k/v, gate/up             N(0, 1/in)             -> unit-scale activations from a normed input
//   o_proj, down_proj          N(0, 1/(in*nLayers))   -> the residual stream grows ~sqrt(2) over the whole depth
//   biases                     0.05 * N(0, 1)
//   norm gains                 1 + 0.1 * N(0, 1)
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelConfig } from '../src/model/config';
import { expectedTensors, type TensorSpec } from '../src/model/weights';
import { writeSafetensors, type TensorToWrite } from '../src/loader/safetensors-write';
import { BoxedError } from '../src/protocol/errors';
import { Rng } from '../src/sampler/rng';
import { qwen25TokenizerFiles } from './qwen25-tokenizer';
import { writeGgufModel, type GgufMix, type GgufWriteType } from './synthetic-gguf';

export type Preset = 'tiny' | 'odd' | 'full' | 'k256' | '7b2';
export const PRESETS: readonly Preset[] = ['tiny', 'odd', 'full', 'k256', '7b2'];

export interface SyntheticModelOptions {
  out: string;
  preset: Preset;
  untied?: boolean;
  seed?: number;
  /** also write the model as GGUF, one model-TYPE.gguf per type: the same values in that block type */
  gguf?: readonly (GgufWriteType | GgufMix)[];
  /**
   * Rows of the embedding (and head) instead of the preset's: tests use it to keep a big preset's layer shapes
   * with a small vocabulary. Token ids in the config that do not fit it (bos, eos) are left out.
   */
  vocab?: number;
}

interface Shape {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  vocab_size: number;
}

const SHAPES: Record<Preset, Shape> = {
  tiny: { hidden_size: 64, intermediate_size: 176, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 151936 },
  odd: { hidden_size: 72, intermediate_size: 131, num_hidden_layers: 3, num_attention_heads: 3, num_key_value_heads: 3, vocab_size: 151673 },
  // every row a whole number of 256-value K-quant blocks
  k256: { hidden_size: 256, intermediate_size: 512, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 151936 },
  full: { hidden_size: 1536, intermediate_size: 8960, num_hidden_layers: 28, num_attention_heads: 12, num_key_value_heads: 2, vocab_size: 151936 },
  // the 7B's layer shapes (src/model/sizes.ts) with 2 of its 28 layers: 28/4 heads (GQA group 7), head_dim 128,
  // intermediate 18944, vocab 152064 with an untied head (always), written in 4 shards like the real repository
  '7b2': { hidden_size: 3584, intermediate_size: 18944, num_hidden_layers: 2, num_attention_heads: 28, num_key_value_heads: 4, vocab_size: 152064 },
};

/** Presets that are always untied and written as shards + model.safetensors.index.json (shard count). */
const SHARDED: Partial<Record<Preset, { shards: number; untied: true }>> = { '7b2': { shards: 4, untied: true } };

/** config.json for a preset, with every field a Qwen2.5 config.json has. */
export function syntheticConfigJson(preset: Preset, untied = false, vocab?: number): Record<string, unknown> {
  const s = { ...SHAPES[preset], ...(vocab === undefined ? {} : { vocab_size: vocab }) };
  const ids = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).filter(([, id]) => id < s.vocab_size));
  return {
    architectures: ['Qwen2ForCausalLM'],
    attention_dropout: 0.0,
    ...ids({ bos_token_id: 151643, eos_token_id: 151645 }),
    hidden_act: 'silu',
    ...s,
    initializer_range: 0.02,
    max_position_embeddings: 32768,
    max_window_layers: s.num_hidden_layers,
    model_type: 'qwen2',
    rms_norm_eps: 1e-6,
    rope_scaling: null,
    rope_theta: 1000000.0,
    sliding_window: 32768,
    tie_word_embeddings: !untied,
    torch_dtype: 'bfloat16',
    transformers_version: '4.51.0',
    use_cache: true,
    use_sliding_window: false,
  };
}

export const GENERATION_CONFIG_JSON = {
  bos_token_id: 151643,
  do_sample: true,
  eos_token_id: [151645, 151643],
  pad_token_id: 151643,
  temperature: 0.6,
  top_p: 0.95,
  transformers_version: '4.51.0',
};

/** Elements generated per chunk. */
const CHUNK = 1 << 20;

/** How one tensor's values are drawn. */
function initOf(name: string, cfg: ModelConfig): { mean: number; std: number } {
  if (name.endsWith('norm.weight')) return { mean: 1, std: 0.1 };
  if (name.endsWith('.bias')) return { mean: 0, std: 0.05 };
  if (name === 'model.embed_tokens.weight' || name === 'lm_head.weight') return { mean: 0, std: 1 };
  const fanIn = name.includes('o_proj') ? cfg.nHeads * cfg.headDim : name.includes('down_proj') ? cfg.ffnDim : cfg.dim;
  const residualOut = name.includes('o_proj') || name.includes('down_proj');
  return { mean: 0, std: 1 / Math.sqrt(fanIn * (residualOut ? cfg.nLayers : 1)) };
}

/** Seed of the index-th tensor's stream. */
function tensorSeed(seed: number, index: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
}

/** mean + std * N(0, 1), both Box-Muller outputs used (twice as fast as one Rng.normal() per value). */
function fillNormal(out: Float32Array, rng: Rng, mean: number, std: number): void {
  for (let i = 0; i < out.length; i += 2) {
    const r = std * Math.sqrt(-2 * Math.log(1 - rng.next()));
    const a = 2 * Math.PI * rng.next();
    out[i] = mean + r * Math.cos(a);
    if (i + 1 < out.length) out[i + 1] = mean + r * Math.sin(a);
  }
}

/** One tensor's values, chunk by chunk (row-major, deterministic for seed and index). */
export function* syntheticValues(spec: TensorSpec, cfg: ModelConfig, seed: number, index: number): Generator<Float32Array> {
  const { mean, std } = initOf(spec.name, cfg);
  const rng = new Rng(tensorSeed(seed, index));
  let left = spec.shape.reduce((a, b) => a * b, 1);
  while (left > 0) {
    const chunk = new Float32Array(Math.min(left, CHUNK));
    fillNormal(chunk, rng, mean, std);
    left -= chunk.length;
    yield chunk;
  }
}

/** The ModelConfig a preset describes (what parseConfig gives for its config.json). */
function presetModelConfig(preset: Preset, untied: boolean, vocab?: number): ModelConfig {
  const s = { ...SHAPES[preset], ...(vocab === undefined ? {} : { vocab_size: vocab }) };
  const headDim = s.hidden_size / s.num_attention_heads;
  return {
    architecture: 'Qwen2ForCausalLM',
    dim: s.hidden_size,
    ffnDim: s.intermediate_size,
    nLayers: s.num_hidden_layers,
    nHeads: s.num_attention_heads,
    nKvHeads: s.num_key_value_heads,
    headDim,
    kvDim: s.num_key_value_heads * headDim,
    vocab: s.vocab_size,
    normEps: 1e-6,
    ropeTheta: 1e6,
    maxPositions: 32768,
    tiedEmbeddings: !untied,
    torchDtype: 'bfloat16',
    bosTokenId: 151643 < s.vocab_size ? 151643 : null,
    eosTokenIds: 151645 < s.vocab_size ? [151645] : [],
  };
}

/**
 * Tensors in order, cut into shards the way Hugging Face shards a checkpoint: a shard takes tensors while they
 * stay within max_shard_size (here total / n), and a tensor bigger than that fills a shard alone.
 */
function splitIntoShards(tensors: TensorToWrite[], n: number): TensorToWrite[][] {
  const size = (t: TensorToWrite) => t.shape.reduce((a, b) => a * b, 1);
  const maxShard = Math.ceil(tensors.reduce((s, t) => s + size(t), 0) / n);
  const out: TensorToWrite[][] = [[]];
  let inShard = 0;
  for (const t of tensors) {
    if (inShard > 0 && inShard + size(t) > maxShard) {
      out.push([]);
      inShard = 0;
    }
    out[out.length - 1].push(t);
    inShard += size(t);
  }
  return out;
}

async function writeSafetensorsFile(path: string, tensors: TensorToWrite[]): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await writeSafetensors(
      {
        async write(bytes) {
          let at = 0;
          while (at < bytes.length) at += (await fh.write(bytes, at, bytes.length - at)).bytesWritten;
        },
      },
      tensors,
      { format: 'pt' },
    );
  } finally {
    await fh.close();
  }
}

/** Writes a synthetic model folder. */
export async function makeSyntheticModel(opts: SyntheticModelOptions): Promise<void> {
  if (!PRESETS.includes(opts.preset)) throw new BoxedError('InvalidRequest', `unknown preset '${String(opts.preset)}'`);
  const seed = opts.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw new BoxedError('InvalidRequest', `seed must be an integer, got ${seed}`);
  const sharded = SHARDED[opts.preset];
  const untied = sharded?.untied ?? opts.untied ?? false;
  const vocab = opts.vocab;
  if (vocab !== undefined && !(Number.isSafeInteger(vocab) && vocab >= 1)) throw new BoxedError('InvalidRequest', `vocab must be a positive integer, got ${vocab}`);
  const cfg = presetModelConfig(opts.preset, untied, vocab);
  await mkdir(opts.out, { recursive: true });

  const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';
  const { tokenizerJson, tokenizerConfig } = await qwen25TokenizerFiles();
  await writeFile(join(opts.out, 'config.json'), json(syntheticConfigJson(opts.preset, untied, vocab)));
  const gen = vocab === undefined ? GENERATION_CONFIG_JSON : { ...GENERATION_CONFIG_JSON, eos_token_id: GENERATION_CONFIG_JSON.eos_token_id.filter((id) => id < vocab), pad_token_id: undefined, bos_token_id: undefined };
  await writeFile(join(opts.out, 'generation_config.json'), json(gen));
  await writeFile(join(opts.out, 'tokenizer.json'), JSON.stringify(tokenizerJson));
  await writeFile(join(opts.out, 'tokenizer_config.json'), json(tokenizerConfig));

  const tensors: TensorToWrite[] = expectedTensors(cfg).map((spec, index) => ({
    name: spec.name,
    dtype: 'BF16',
    shape: spec.shape,
    data: () => syntheticValues(spec, cfg, seed, index),
  }));
  if (sharded) {
    const shards = splitIntoShards(tensors, sharded.shards);
    const names = shards.map((_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`);
    const weightMap: Record<string, string> = {};
    shards.forEach((group, i) => group.forEach((t) => (weightMap[t.name] = names[i])));
    const totalSize = tensors.reduce((s, t) => s + 2 * t.shape.reduce((a, b) => a * b, 1), 0);
    await writeFile(join(opts.out, 'model.safetensors.index.json'), json({ metadata: { total_size: totalSize }, weight_map: weightMap }));
    for (let i = 0; i < shards.length; i++) await writeSafetensorsFile(join(opts.out, names[i]), shards[i]);
  } else {
    await writeSafetensorsFile(join(opts.out, 'model.safetensors'), tensors);
  }
  for (const type of opts.gguf ?? []) await writeGgufModel(join(opts.out, `model-${type}.gguf`), type, cfg, tensors, tokenizerJson, tokenizerConfig);
}
