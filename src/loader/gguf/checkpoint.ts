// A lone .gguf file as a Checkpoint: the config from the qwen2.* metadata, the tokenizer and chat template
// from tokenizer.*, and the tensors under their Hugging Face names, read as f32 rows dequantized on the CPU
// (so the engine packs them into its own weight formats). Everything is checked before a tensor is read.
import { BoxedError } from '../../protocol/errors';
import { parseConfig } from '../../model/config';
import { expectedTensors } from '../../model/weights';
import type { Checkpoint } from '../checkpoint';
import type { ByteSource } from '../source';
import { dequantize, type GgmlTypeName } from './blocks';
import { ggufTensorName, parseGguf, type GgufFile, type GgufTensor, type MetadataValue } from './parse';
import { tokenizerFromGguf } from './tokenizer';

/**
 * A GGUF file's tensors as stored: each tensor's GGML type and its rows' bytes (whole blocks, llama.cpp's
 * layout), for a GPU that reads the blocks as they are. Names are the Hugging Face names.
 */
export interface GgmlTensors {
  type(name: string): GgmlTypeName;
  /** Stored bytes of rows [start, start + count) of a matrix (a row: GGUF's dims[0] values, whole blocks). */
  readRows(name: string, start: number, count: number): Promise<Uint8Array>;
  /** general.file_type (llama.cpp's llama_ftype number) when the metadata states one */
  fileType?: number;
}

/** A FileProvider that offers this file (and no config.json) holds a GGUF model. */
export const GGUF_FILE = 'model.gguf';

function num(md: Record<string, MetadataValue>, key: string, file: string, required = true): number | undefined {
  const v = md[key];
  if (v === undefined) {
    if (required) throw new BoxedError('ModelFormat', `metadata ${key} is missing`, { file });
    return undefined;
  }
  if (typeof v !== 'number' && typeof v !== 'bigint') throw new BoxedError('ModelFormat', `metadata ${key} is not a number`, { file });
  return Number(v);
}

/** The config.json a GGUF file's metadata describes (checked by parseConfig like any config.json). */
export function configJsonFromGguf(g: GgufFile, eos: number | null, bos: number | null): Record<string, unknown> {
  const file = g.source.name;
  const md = g.metadata;
  const arch = md['general.architecture'];
  if (arch !== 'qwen2') throw new BoxedError('ModelFormat', `general.architecture ${JSON.stringify(arch)} is not supported (only qwen2)`, { file });
  const embd = g.tensors.get('token_embd.weight');
  if (!embd || embd.dims.length !== 2) throw new BoxedError('ModelFormat', 'tensor token_embd.weight is missing or not a matrix', { file });
  const k = (s: string, required = true) => num(md, `qwen2.${s}`, file, required);
  return {
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    hidden_size: k('embedding_length'),
    intermediate_size: k('feed_forward_length'),
    num_hidden_layers: k('block_count'),
    num_attention_heads: k('attention.head_count'),
    num_key_value_heads: k('attention.head_count_kv', false) ?? k('attention.head_count'),
    vocab_size: embd.dims[1],
    rms_norm_eps: k('attention.layer_norm_rms_epsilon', false),
    rope_theta: k('rope.freq_base', false) ?? 1e6,
    max_position_embeddings: k('context_length', false),
    tie_word_embeddings: !g.tensors.has('output.weight'),
    hidden_act: 'silu',
    bos_token_id: bos,
    eos_token_id: eos ?? undefined,
  };
}

const rowsOf = (t: GgufTensor): number => t.dims.slice(1).reduce((a, b) => a * b, 1);

function checkRows(t: GgufTensor, start: number, count: number): void {
  const rows = rowsOf(t);
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > rows) {
    throw new BoxedError('InvalidRequest', `rows [${start}, ${start + count}) of ${t.name} are out of range (${rows} rows)`);
  }
}

/** The stored bytes of rows [start, start + count). */
async function readRawRows(t: GgufTensor, g: GgufFile, start: number, count: number): Promise<Uint8Array> {
  checkRows(t, start, count);
  const rowBytes = t.byteLength / rowsOf(t);
  return g.source.read(t.offset + start * rowBytes, count * rowBytes);
}

/** Rows [start, start + count) of a tensor as f32 (a row is dims[0] values). */
async function readRows(t: GgufTensor, g: GgufFile, start: number, count: number): Promise<Float32Array<ArrayBuffer>> {
  const cols = t.dims[0];
  const bytes = await readRawRows(t, g, start, count);
  return dequantize(t.type, bytes, count * cols) as Float32Array<ArrayBuffer>;
}

export async function openGgufCheckpoint(src: ByteSource): Promise<Checkpoint & { ggml: GgmlTensors }> {
  const g = await parseGguf(src);
  const file = src.name;
  const tok = tokenizerFromGguf(g.metadata, file);
  const config = parseConfig(configJsonFromGguf(g, tok.eosTokenId, tok.bosTokenId), file);
  const specs = expectedTensors(config);
  const byHf = new Map<string, GgufTensor>();
  for (const spec of specs) {
    const name = ggufTensorName(spec.name);
    const t = g.tensors.get(name);
    if (!t) throw new BoxedError('ModelFormat', `tensor ${name} is missing`, { file });
    const want = [...spec.shape].reverse();
    if (t.dims.length !== want.length || t.dims.some((d, i) => d !== want[i])) {
      throw new BoxedError('ModelFormat', `tensor ${name} has dims [${t.dims.join(', ')}], expected [${want.join(', ')}]`, { file });
    }
    byHf.set(spec.name, t);
  }
  const get = (name: string): GgufTensor => {
    const t = byHf.get(name);
    if (!t) throw new BoxedError('InvalidRequest', `the checkpoint has no tensor ${name}`);
    return t;
  };
  let bytes = 0;
  for (const t of byHf.values()) bytes += t.byteLength;
  return {
    config,
    generation: null,
    tokenizerJson: tok.tokenizerJson,
    tokenizerConfig: tok.tokenizerConfig,
    tensorNames: specs.map((s) => s.name),
    bytes,
    // GGUF tensors are read back as f32, whatever their block type
    info: (name) => {
      const t = get(name);
      return { dtype: 'F32', shape: [...t.dims].reverse(), byteLength: t.byteLength };
    },
    read: async (name) => readRows(get(name), g, 0, rowsOf(get(name))),
    readRows: async (name, start, count) => readRows(get(name), g, start, count),
    readBytes: async (name) => {
      const f = await readRows(get(name), g, 0, rowsOf(get(name)));
      return new Uint8Array(f.buffer);
    },
    ggml: {
      type: (name) => get(name).type.name,
      readRows: async (name, start, count) => readRawRows(get(name), g, start, count),
      // informational only: a file type that is not a number is left out, not an error
      fileType: ((v) => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined))(g.metadata['general.file_type']),
    },
  };
}
