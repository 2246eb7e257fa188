// GGUF files: header, metadata and tensor infos parsed with @huggingface/gguf (loaded lazily), reading the
// file through a ByteSource (a local file, a Blob, or the hub by HTTP Range), then checked before any
// tensor is read: every tensor's type is one Boxed decodes, its rows are whole blocks, and its data lies
// inside the file. Every failure is a one-line ModelFormat error naming the file.
// llama.cpp's tensor names for Qwen2 (dims in GGUF order, ne[0] = columns, so [cols, rows]):
//   token_embd, output_norm, output, blk.N.{attn_norm, attn_q, attn_k, attn_v (+ .bias), attn_output,
//   ffn_norm, ffn_gate, ffn_up, ffn_down}. llama.cpp's converter stores qwen2's Q and K rows in the Hugging Face
//   order (its rotary layout is the same half-split one as transformers'), so no row permutation is undone.
import { BoxedError } from '../../protocol/errors';
import type { LayerField } from '../../model/weights';
import type { ByteSource } from '../source';
import { ggmlType, typeBytes, type GgmlType } from './blocks';

export type MetadataValue = string | number | bigint | boolean | MetadataValue[];

export interface GgufTensor {
  name: string;
  type: GgmlType;
  /** GGUF order: dims[0] is the number of columns */
  dims: number[];
  /** absolute byte offset in the file */
  offset: number;
  byteLength: number;
}

export interface GgufFile {
  source: ByteSource;
  version: number;
  metadata: Record<string, MetadataValue>;
  tensors: Map<string, GgufTensor>;
}

const LAYER_GGUF: Record<LayerField, string> = {
  attnNorm: 'attn_norm.weight',
  wq: 'attn_q.weight',
  bq: 'attn_q.bias',
  wk: 'attn_k.weight',
  bk: 'attn_k.bias',
  wv: 'attn_v.weight',
  bv: 'attn_v.bias',
  wo: 'attn_output.weight',
  mlpNorm: 'ffn_norm.weight',
  wGate: 'ffn_gate.weight',
  wUp: 'ffn_up.weight',
  wDown: 'ffn_down.weight',
};

const HF_LAYER: Record<string, string> = {
  'input_layernorm.weight': LAYER_GGUF.attnNorm,
  'self_attn.q_proj.weight': LAYER_GGUF.wq,
  'self_attn.q_proj.bias': LAYER_GGUF.bq,
  'self_attn.k_proj.weight': LAYER_GGUF.wk,
  'self_attn.k_proj.bias': LAYER_GGUF.bk,
  'self_attn.v_proj.weight': LAYER_GGUF.wv,
  'self_attn.v_proj.bias': LAYER_GGUF.bv,
  'self_attn.o_proj.weight': LAYER_GGUF.wo,
  'post_attention_layernorm.weight': LAYER_GGUF.mlpNorm,
  'mlp.gate_proj.weight': LAYER_GGUF.wGate,
  'mlp.up_proj.weight': LAYER_GGUF.wUp,
  'mlp.down_proj.weight': LAYER_GGUF.wDown,
};

/** The GGUF tensor name of a Hugging Face tensor name (model.layers.3.mlp.up_proj.weight → blk.3.ffn_up.weight). */
export function ggufTensorName(hf: string): string {
  if (hf === 'model.embed_tokens.weight') return 'token_embd.weight';
  if (hf === 'model.norm.weight') return 'output_norm.weight';
  if (hf === 'lm_head.weight') return 'output.weight';
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hf);
  const field = m ? HF_LAYER[m[2]] : undefined;
  if (!m || !field) throw new BoxedError('Internal', `no GGUF name for ${hf}`);
  return `blk.${m[1]}.${field}`;
}

const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32

/** A fetch that answers the parser's Range requests from the source (so every source reads the same way). */
function rangeFetch(src: ByteSource): typeof fetch {
  return (async (_url: unknown, init?: { headers?: Record<string, string> }) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(init?.headers?.Range ?? '');
    if (!m) throw new BoxedError('Internal', 'GGUF parser asked for a non-range read');
    const start = Math.min(Number(m[1]), src.size);
    const end = Math.min(Number(m[2]) + 1, src.size);
    const bytes = end > start ? (await src.read(start, end - start)).slice() : new Uint8Array(0);
    return new Response(bytes, { status: 206, headers: { 'content-range': `bytes ${start}-${Math.max(start, end - 1)}/${src.size}` } });
  }) as typeof fetch;
}

const toNumber = (v: bigint | number, what: string, file: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new BoxedError('ModelFormat', `${what} ${v} is out of range`, { file });
  return n;
};

export async function parseGguf(src: ByteSource): Promise<GgufFile> {
  const file = src.name;
  if (src.size < 24) throw new BoxedError('ModelFormat', `not a GGUF file: ${src.size} bytes is shorter than a GGUF header`, { file });
  const head = new DataView((await src.read(0, 8)).slice().buffer);
  if (head.getUint32(0, true) !== GGUF_MAGIC) throw new BoxedError('ModelFormat', 'not a GGUF file (it does not start with "GGUF")', { file });
  const version = head.getUint32(4, true);
  if (version !== 2 && version !== 3) throw new BoxedError('ModelFormat', `GGUF version ${version} is not supported (2 and 3 are)`, { file });

  const { gguf } = await import('@huggingface/gguf');
  let parsed: Awaited<ReturnType<typeof gguf>>;
  try {
    // an http(s) address makes the parser fetch by Range, here answered by rangeFetch (the address is never used)
    parsed = await gguf(`https://source.invalid/${encodeURIComponent(file)}`, { fetch: rangeFetch(src) });
  } catch (e) {
    if (e instanceof BoxedError) throw e;
    const why = e instanceof RangeError ? 'the file ends inside its header (truncated?)' : (e as Error).message;
    throw new BoxedError('ModelFormat', `not a valid GGUF file: ${why.split('\n')[0]}`, { file, cause: e });
  }
  // the parser reads past the end of a short file as zeros: a header that ends past the file is truncated
  if (parsed.tensorInfoByteRange[1] > src.size) {
    throw new BoxedError('ModelFormat', `truncated: the file (${src.size} bytes) ends inside its header`, { file });
  }
  const metadata = parsed.metadata as unknown as Record<string, MetadataValue>;
  const dataStart = toNumber(parsed.tensorDataOffset, 'tensor data offset', file);
  const tensors = new Map<string, GgufTensor>();
  for (const info of parsed.tensorInfos) {
    const type = ggmlType(info.dtype, info.name, file);
    const dims = info.shape.map((d) => toNumber(d, `tensor ${info.name} dimension`, file));
    if (dims.length === 0 || dims[0] % type.block !== 0) {
      throw new BoxedError('ModelFormat', `tensor ${info.name} has rows of ${dims[0]} values, not whole ${type.name} blocks of ${type.block}`, { file });
    }
    const count = dims.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(count)) throw new BoxedError('ModelFormat', `tensor ${info.name} has absurd dims [${dims.join(', ')}]`, { file });
    const byteLength = typeBytes(type, count);
    const offset = dataStart + toNumber(info.offset, `tensor ${info.name} offset`, file);
    if (offset + byteLength > src.size) {
      throw new BoxedError('ModelFormat', `tensor ${info.name} data [${offset}, ${offset + byteLength}) lies past the end of the file (${src.size} bytes)`, { file });
    }
    if (tensors.has(info.name)) throw new BoxedError('ModelFormat', `tensor ${info.name} appears twice`, { file });
    tensors.set(info.name, { name: info.name, type, dims, offset, byteLength });
  }
  return { source: src, version, metadata, tensors };
}
