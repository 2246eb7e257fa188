// A Hugging Face model folder, opened through a FileProvider (hub, local folder, dropped files, cache):
//   config.json, generation_config.json (optional), tokenizer.json, tokenizer_config.json,
//   model.safetensors  or  model.safetensors.index.json + shards.
// Every tensor the config needs is checked for presence and shape before anything is read; tensors are then
// read one at a time, so a multi-GB model is never held whole in memory.
import { BoxedError } from '../protocol/errors';
import { parseConfig, parseGenerationConfig, withGenerationEos, type GenerationDefaults, type ModelConfig } from '../model/config';
import { expectedTensors } from '../model/weights';
import { parseSafetensors, readTensorBytes, readTensorF32, readTensorRowsF32, type TensorInfo } from './safetensors';
import { INDEX_FILE, openShards, parseShardIndex } from './sharded';
import type { Dtype } from './dtype';
import type { FileProvider } from './source';
import { GGUF_FILE, openGgufCheckpoint, type GgmlTensors } from './gguf/checkpoint';

export type { ByteSource, FileProvider } from './source';

export const SINGLE_FILE = 'model.safetensors';

/** JSON side files above this are refused (tokenizer.json is ~7 MB). */
const MAX_JSON_BYTES = 64 * 1024 * 1024;

/** Extra tensors a checkpoint may carry that the model does not use. */
const IGNORABLE = [/\.rotary_emb\.inv_freq$/];

export interface Checkpoint {
  /** config.json, with generation_config.json's eos ids merged into eosTokenIds. */
  config: ModelConfig;
  generation: GenerationDefaults | null;
  tokenizerJson: object;
  tokenizerConfig: object;
  /** The tensors the model uses (expectedTensors order). */
  tensorNames: string[];
  /** Stored bytes of those tensors. */
  bytes: number;
  /** Stored dtype and shape of one tensor. */
  info(name: string): { dtype: Dtype; shape: number[]; byteLength: number };
  /** One tensor as f32. */
  read(name: string): Promise<Float32Array<ArrayBuffer>>;
  /** Rows [start, start+count) of one tensor (first dimension) as f32, for tensors too big to take whole. */
  readRows(name: string, start: number, count: number): Promise<Float32Array<ArrayBuffer>>;
  /** One tensor's stored bytes (little-endian, its dtype), e.g. to upload BF16 as is. */
  readBytes(name: string): Promise<Uint8Array>;
  /** A GGUF file's tensors in their block types (the GPU keeps them as they are); absent for safetensors. */
  ggml?: GgmlTensors;
}

/** Reads a JSON file; null if absent and optional. */
export async function readJsonFile(files: FileProvider, name: string, required: true): Promise<unknown>;
export async function readJsonFile(files: FileProvider, name: string, required: false): Promise<unknown | null>;
export async function readJsonFile(files: FileProvider, name: string, required: boolean): Promise<unknown | null> {
  const src = await files.open(name);
  if (!src) {
    if (required) throw new BoxedError('ModelFormat', 'required file is missing', { file: name });
    return null;
  }
  if (src.size > MAX_JSON_BYTES) throw new BoxedError('ModelFormat', `file is ${src.size} bytes, too large for a JSON side file`, { file: name });
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await src.read(0, src.size)));
  } catch (e) {
    if (e instanceof BoxedError) throw e;
    throw new BoxedError('ModelFormat', `not valid JSON (${e instanceof Error ? e.message : String(e)})`, { file: name, cause: e });
  }
}

function jsonObject(json: unknown, file: string): object {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new BoxedError('ModelFormat', 'expected a JSON object', { file });
  return json;
}

/** All tensors of the checkpoint: the index and its shards when there is an index, else model.safetensors. */
async function openTensors(files: FileProvider): Promise<{ tensors: Map<string, TensorInfo>; where: string }> {
  const indexJson = await readJsonFile(files, INDEX_FILE, false);
  if (indexJson !== null) return { tensors: await openShards(files, parseShardIndex(indexJson)), where: INDEX_FILE };
  const single = await files.open(SINGLE_FILE);
  if (!single) throw new BoxedError('ModelFormat', `no ${SINGLE_FILE} and no ${INDEX_FILE}`, { file: SINGLE_FILE });
  return { tensors: (await parseSafetensors(single)).tensors, where: SINGLE_FILE };
}

const shapeText = (s: number[]): string => `[${s.join(', ')}]`;

/** A Hugging Face folder, or a lone GGUF file (offered as GGUF_FILE by a provider without config.json). */
export async function openCheckpoint(files: FileProvider): Promise<Checkpoint> {
  const configJson = await readJsonFile(files, 'config.json', false);
  if (configJson === null) {
    const gguf = await files.open(GGUF_FILE);
    if (gguf) return openGgufCheckpoint(gguf);
  }
  const baseConfig = parseConfig(configJson ?? (await readJsonFile(files, 'config.json', true)));
  const genJson = await readJsonFile(files, 'generation_config.json', false);
  const generation = genJson === null ? null : parseGenerationConfig(genJson, 'generation_config.json', baseConfig.vocab);
  const config = withGenerationEos(baseConfig, generation);
  const tokenizerJson = jsonObject(await readJsonFile(files, 'tokenizer.json', true), 'tokenizer.json');
  const tokenizerConfig = jsonObject(await readJsonFile(files, 'tokenizer_config.json', true), 'tokenizer_config.json');

  const { tensors, where } = await openTensors(files);
  const specs = expectedTensors(config);
  const used = new Map<string, TensorInfo>();
  for (const spec of specs) {
    const t = tensors.get(spec.name);
    if (!t) {
      const hint = spec.name === 'lm_head.weight' ? ' (config says tie_word_embeddings: false)' : '';
      throw new BoxedError('ModelFormat', `tensor ${spec.name} is missing${hint}`, { file: where });
    }
    if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
      throw new BoxedError('ModelFormat', `tensor ${spec.name} has shape ${shapeText(t.shape)}, expected ${shapeText(spec.shape)}`, {
        file: t.source.name,
      });
    }
    used.set(spec.name, t);
  }
  for (const name of tensors.keys()) {
    if (used.has(name) || IGNORABLE.some((re) => re.test(name))) continue;
    if (config.tiedEmbeddings && name === 'lm_head.weight') continue; // tied: the embedding is the LM head
    throw new BoxedError('ModelFormat', `unexpected tensor ${name}`, { file: tensors.get(name)?.source.name ?? where });
  }

  const get = (name: string): TensorInfo => {
    const t = used.get(name);
    if (!t) throw new BoxedError('InvalidRequest', `the checkpoint has no tensor ${name}`);
    return t;
  };
  let bytes = 0;
  for (const t of used.values()) bytes += t.byteLength;
  return {
    config,
    generation,
    tokenizerJson,
    tokenizerConfig,
    tensorNames: specs.map((s) => s.name),
    bytes,
    info: (name) => {
      const t = get(name);
      return { dtype: t.dtype, shape: [...t.shape], byteLength: t.byteLength };
    },
    read: async (name) => readTensorF32(get(name)),
    readRows: async (name, start, count) => readTensorRowsF32(get(name), start, count),
    readBytes: async (name) => readTensorBytes(get(name)),
  };
}
