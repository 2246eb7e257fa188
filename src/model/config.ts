// The model's shape, parsed from Hugging Face config.json. The only file that reads HF snake_case.
// Short names, defined once (llama2.c style):
//   dim       hidden size (width of the residual stream)
//   ffnDim    intermediate size of the MLP
//   nHeads    query heads;  nKvHeads  key/value heads (GQA: nHeads % nKvHeads == 0)
//   headDim   per-head width (dim / nHeads unless config gives head_dim)
//   kvDim     nKvHeads * headDim
//   vocab     rows of the embedding and of the LM head (padded beyond the tokenizer's size)
import { BoxedError } from '../protocol/errors';

export interface ModelConfig {
  architecture: string; // 'Qwen2ForCausalLM'
  dim: number;
  ffnDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  kvDim: number;
  vocab: number;
  normEps: number;
  ropeTheta: number;
  maxPositions: number;
  tiedEmbeddings: boolean;
  /** dtype the checkpoint was saved in ('bfloat16', 'float16', 'float32'). */
  torchDtype: string;
  bosTokenId: number | null;
  /** Token ids that end generation (config eos plus generation_config eos). */
  eosTokenIds: number[];
}

/** Sampling defaults from generation_config.json, when present. */
export interface GenerationDefaults {
  eosTokenIds: number[];
  temperature?: number;
  topP?: number;
  topK?: number;
}

// ---------------------------------------------------------------------------------------------------------
// Parsing and validation of config.json / generation_config.json. Every number is checked: a malformed or
// absurd config fails here with a ModelFormat error naming the field, not later as a GPU out-of-memory.


/** Upper bounds well beyond any released Qwen2 model (72B: hidden 8192, ffn 29568, 80 layers, 64 heads). */
const LIMITS = {
  hidden_size: 65536,
  intermediate_size: 1 << 19,
  num_hidden_layers: 1024,
  num_attention_heads: 1024,
  head_dim: 1024,
  vocab_size: 1 << 22,
  max_position_embeddings: 1 << 24,
} as const;

const DTYPES = ['bfloat16', 'float16', 'float32'];

type Json = Record<string, unknown>;

function fail(file: string, message: string): never {
  throw new BoxedError('ModelFormat', message, { file });
}

function asObject(json: unknown, file: string): Json {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(file, 'expected a JSON object');
  return json as Json;
}

function describe(v: unknown): string {
  return typeof v === 'string' ? `"${v}"` : Array.isArray(v) ? 'an array' : String(v);
}

/** A positive integer in [1, max]; `def` when the field is absent (undefined means required). */
function posInt(o: Json, key: string, file: string, max: number, def?: number): number {
  const v = o[key];
  if (v === undefined || v === null) {
    if (def !== undefined) return def;
    fail(file, `${key} is missing`);
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    fail(file, `${key} must be an integer in 1..${max}, got ${describe(v)}`);
  }
  return v;
}

/** A finite number in (0, max]. */
function posNumber(o: Json, key: string, file: string, max: number, def?: number): number {
  const v = o[key];
  if (v === undefined || v === null) {
    if (def !== undefined) return def;
    fail(file, `${key} is missing`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > max) {
    fail(file, `${key} must be a number in (0, ${max}], got ${describe(v)}`);
  }
  return v;
}

function bool(o: Json, key: string, file: string, def: boolean): boolean {
  const v = o[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'boolean') fail(file, `${key} must be true or false, got ${describe(v)}`);
  return v;
}

function tokenId(v: unknown, key: string, file: string, vocab: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= vocab) {
    fail(file, `${key} must be a token id in 0..${vocab - 1}, got ${describe(v)}`);
  }
  return v;
}

/** eos_token_id: absent, one id, or a list of ids. */
function tokenIds(o: Json, key: string, file: string, vocab: number): number[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  return [...new Set(list.map((x) => tokenId(x, key, file, vocab)))];
}

function checkArchitecture(o: Json, file: string): string {
  const modelType = o.model_type;
  if (modelType !== undefined && modelType !== 'qwen2') fail(file, `model_type ${describe(modelType)} is not supported (only qwen2)`);
  const archs = o.architectures;
  if (archs === undefined || archs === null) return 'Qwen2ForCausalLM';
  if (!Array.isArray(archs) || archs.some((a) => typeof a !== 'string')) fail(file, 'architectures must be a list of strings');
  const arch = (archs as string[]).find((a) => a === 'Qwen2ForCausalLM');
  if (!arch) fail(file, `architectures ${JSON.stringify(archs)} is not supported (expected Qwen2ForCausalLM)`);
  return arch;
}

/** rope_theta, from the field or from transformers v5's rope_parameters; rope scaling other than default is rejected. */
function ropeTheta(o: Json, file: string): number {
  for (const key of ['rope_scaling', 'rope_parameters']) {
    const rs = o[key];
    if (rs === undefined || rs === null) continue;
    if (typeof rs !== 'object' || Array.isArray(rs)) fail(file, `${key} must be an object or null`);
    const kind = (rs as Json).rope_type ?? (rs as Json).type ?? 'default';
    if (kind !== 'default') fail(file, `${key} type ${describe(kind)} is not supported (only plain RoPE)`);
  }
  const params = o.rope_parameters;
  if (o.rope_theta === undefined && params && typeof params === 'object' && 'rope_theta' in params) {
    return posNumber(params as Json, 'rope_theta', file, 1e12);
  }
  return posNumber(o, 'rope_theta', file, 1e12, 10000);
}

/** Parses and validates a Hugging Face Qwen2 config.json (already JSON-parsed). */
export function parseConfig(json: unknown, file = 'config.json'): ModelConfig {
  const o = asObject(json, file);
  const architecture = checkArchitecture(o, file);

  const dim = posInt(o, 'hidden_size', file, LIMITS.hidden_size);
  const ffnDim = posInt(o, 'intermediate_size', file, LIMITS.intermediate_size);
  const nLayers = posInt(o, 'num_hidden_layers', file, LIMITS.num_hidden_layers);
  const nHeads = posInt(o, 'num_attention_heads', file, LIMITS.num_attention_heads);
  const nKvHeads = posInt(o, 'num_key_value_heads', file, LIMITS.num_attention_heads, nHeads);
  if (nHeads % nKvHeads !== 0) fail(file, `num_key_value_heads (${nKvHeads}) must divide num_attention_heads (${nHeads})`);
  if (o.head_dim === undefined || o.head_dim === null) {
    if (dim % nHeads !== 0) fail(file, `num_attention_heads (${nHeads}) must divide hidden_size (${dim}) when head_dim is not given`);
  }
  const headDim = posInt(o, 'head_dim', file, LIMITS.head_dim, dim / nHeads);
  if (headDim % 2 !== 0) fail(file, `head_dim must be even for RoPE, got ${headDim}`);
  const vocab = posInt(o, 'vocab_size', file, LIMITS.vocab_size);
  const normEps = posNumber(o, 'rms_norm_eps', file, 0.1, 1e-6); // defaults: transformers' Qwen2Config
  const theta = ropeTheta(o, file);
  const maxPositions = posInt(o, 'max_position_embeddings', file, LIMITS.max_position_embeddings, 32768);
  if (bool(o, 'use_sliding_window', file, false)) fail(file, 'use_sliding_window: true is not supported (full attention only)');
  const act = o.hidden_act;
  if (act !== undefined && act !== 'silu') fail(file, `hidden_act ${describe(act)} is not supported (only silu)`);
  const torchDtype = o.torch_dtype ?? o.dtype ?? 'bfloat16';
  if (typeof torchDtype !== 'string' || !DTYPES.includes(torchDtype)) {
    fail(file, `torch_dtype ${describe(torchDtype)} is not supported (${DTYPES.join(', ')})`);
  }
  const bos = o.bos_token_id;
  const bosTokenId = bos === undefined || bos === null ? null : tokenId(bos, 'bos_token_id', file, vocab);

  return {
    architecture,
    dim,
    ffnDim,
    nLayers,
    nHeads,
    nKvHeads,
    headDim,
    kvDim: nKvHeads * headDim,
    vocab,
    normEps,
    ropeTheta: theta,
    maxPositions,
    tiedEmbeddings: bool(o, 'tie_word_embeddings', file, false),
    torchDtype,
    bosTokenId,
    eosTokenIds: tokenIds(o, 'eos_token_id', file, vocab),
  };
}

/**
 * Parses generation_config.json. Token ids are checked against `vocab` when given. top_k 0 (HF's "off")
 * is left out.
 */
export function parseGenerationConfig(json: unknown, file = 'generation_config.json', vocab = LIMITS.vocab_size): GenerationDefaults {
  const o = asObject(json, file);
  const out: GenerationDefaults = { eosTokenIds: tokenIds(o, 'eos_token_id', file, vocab) };
  const t = o.temperature;
  if (t !== undefined && t !== null) {
    if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || t > 100) fail(file, `temperature must be a number in [0, 100], got ${describe(t)}`);
    out.temperature = t;
  }
  if (o.top_p !== undefined && o.top_p !== null) out.topP = posNumber(o, 'top_p', file, 1);
  const k = o.top_k;
  if (k !== undefined && k !== null) {
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 0) fail(file, `top_k must be a non-negative integer, got ${describe(k)}`);
    if (k > 0) out.topK = k;
  }
  return out;
}

/** The config with generation_config's eos ids added (order kept, no duplicates). */
export function withGenerationEos(cfg: ModelConfig, gen: GenerationDefaults | null): ModelConfig {
  if (!gen) return cfg;
  return { ...cfg, eosTokenIds: [...new Set([...cfg.eosTokenIds, ...gen.eosTokenIds])] };
}
