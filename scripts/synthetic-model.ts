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

export type Preset = 'tiny' | 'odd' | 'full' | 'k256';
export const PRESETS: readonly Preset[] = ['tiny', 'odd', 'full', 'k256'];

export interface SyntheticModelOptions {
  out: string;
  preset: Preset;
  untied?: boolean;
  seed?: number;
  /** also write the model as GGUF, one model-TYPE.gguf per type: the same values in that block type */
  gguf?: readonly (GgufWriteType | GgufMix)[];
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
};

/** config.json for a preset, with every field a Qwen2.5 config.json has. */
export function syntheticConfigJson(preset: Preset, untied = false): Record<string, unknown> {
  const s = SHAPES[preset];
  return {
    architectures: ['Qwen2ForCausalLM'],
    attention_dropout: 0.0,
    bos_token_id: 151643,
    eos_token_id: 151645,
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
function presetModelConfig(preset: Preset, untied: boolean): ModelConfig {
  const s = SHAPES[preset];
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
    bosTokenId: 151643,
    eosTokenIds: [151645],
  };
}

/** Writes a synthetic model folder. */
export async function makeSyntheticModel(opts: SyntheticModelOptions): Promise<void> {
  if (!PRESETS.includes(opts.preset)) throw new BoxedError('InvalidRequest', `unknown preset '${String(opts.preset)}'`);
  const seed = opts.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw new BoxedError('InvalidRequest', `seed must be an integer, got ${seed}`);
  const untied = opts.untied ?? false;
  const cfg = presetModelConfig(opts.preset, untied);
  await mkdir(opts.out, { recursive: true });

  const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';
  const { tokenizerJson, tokenizerConfig } = await qwen25TokenizerFiles();
  await writeFile(join(opts.out, 'config.json'), json(syntheticConfigJson(opts.preset, untied)));
  await writeFile(join(opts.out, 'generation_config.json'), json(GENERATION_CONFIG_JSON));
  await writeFile(join(opts.out, 'tokenizer.json'), JSON.stringify(tokenizerJson));
  await writeFile(join(opts.out, 'tokenizer_config.json'), json(tokenizerConfig));

  const tensors: TensorToWrite[] = expectedTensors(cfg).map((spec, index) => ({
    name: spec.name,
    dtype: 'BF16',
    shape: spec.shape,
    data: () => syntheticValues(spec, cfg, seed, index),
  }));
  const fh = await open(join(opts.out, 'model.safetensors'), 'w');
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
  for (const type of opts.gguf ?? []) await writeGgufModel(join(opts.out, `model-${type}.gguf`), type, cfg, tensors, tokenizerJson, tokenizerConfig);
}
