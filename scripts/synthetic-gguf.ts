// The synthetic model as a GGUF file (what `make-model --gguf TYPE` adds): the same values as its
// model.safetensors (rounded to BF16 first, as stored there), in llama.cpp's tensor names and block types,
// with the config, tokenizer and chat template in the metadata so the file stands alone.
import { open } from 'node:fs/promises';
import type { ModelConfig } from '../src/model/config';
import { decodeToF32, encodeFromF32 } from '../src/loader/dtype';
import type { TensorToWrite } from '../src/loader/safetensors-write';
import { ggufTensorName } from '../src/loader/gguf/parse';
import { tokenizerToGguf } from '../src/loader/gguf/tokenizer';
import { tensorTypeFor, writeGguf, type GgufTensorToWrite, type GgufValue } from '../src/loader/gguf/write';
import type { GgmlTypeName } from '../src/loader/gguf/blocks';

export type GgufWriteType = 'F16' | 'Q8_0' | 'Q4_0' | 'Q4_K' | 'Q6_K';
export const GGUF_WRITE_TYPES: readonly GgufWriteType[] = ['F16', 'Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'];

/**
 * Files whose matrices mix block types, as llama.cpp's quantization mixes do. 'Q4_K_M' (simplified): Q4_K, with
 * token_embd, output, blk.0.attn_v and blk.0.ffn_down in Q6_K (so q, k, v of layer 0 differ in type, and down
 * differs between layers) and blk.1.ffn_up in Q5_K (gate and up of two types).
 */
export type GgufMix = 'Q4_K_M';
export const GGUF_MIXES: readonly GgufMix[] = ['Q4_K_M'];

function mixType(mix: GgufMix, name: string, dims: number[]): GgmlTypeName {
  const six = ['token_embd.weight', 'output.weight', 'blk.0.attn_v.weight', 'blk.0.ffn_down.weight'];
  const wanted: GgmlTypeName = six.includes(name) ? 'Q6_K' : name === 'blk.1.ffn_up.weight' ? 'Q5_K' : 'Q4_K';
  return mix === 'Q4_K_M' ? tensorTypeFor(wanted, dims) : tensorTypeFor('Q4_K', dims);
}

/** general.file_type (llama.cpp's llama_ftype) of each file written; a pure Q4_K file has none of llama.cpp's names. */
const FILE_TYPE: Partial<Record<GgufWriteType | GgufMix, number>> = { F16: 1, Q4_0: 2, Q8_0: 7, Q6_K: 18, Q4_K_M: 15 };

export function ggufMetadata(cfg: ModelConfig, tokenizerJson: object, tokenizerConfig: object, type?: GgufWriteType | GgufMix): Record<string, GgufValue> {
  const u32 = (value: number): GgufValue => ({ kind: 'u32', value });
  const f32 = (value: number): GgufValue => ({ kind: 'f32', value });
  return {
    'general.architecture': { kind: 'string', value: 'qwen2' },
    'general.name': { kind: 'string', value: 'Boxed synthetic Qwen2' },
    'general.alignment': u32(32),
    ...(type !== undefined && FILE_TYPE[type] !== undefined ? { 'general.file_type': u32(FILE_TYPE[type]!) } : {}),
    'qwen2.block_count': u32(cfg.nLayers),
    'qwen2.context_length': u32(cfg.maxPositions),
    'qwen2.embedding_length': u32(cfg.dim),
    'qwen2.feed_forward_length': u32(cfg.ffnDim),
    'qwen2.attention.head_count': u32(cfg.nHeads),
    'qwen2.attention.head_count_kv': u32(cfg.nKvHeads),
    'qwen2.rope.freq_base': f32(cfg.ropeTheta),
    'qwen2.attention.layer_norm_rms_epsilon': f32(cfg.normEps),
    ...tokenizerToGguf(tokenizerJson, tokenizerConfig, cfg.vocab, cfg.bosTokenId),
  };
}

async function* asBf16(chunks: Iterable<Float32Array> | AsyncIterable<Float32Array>): AsyncGenerator<Float32Array> {
  for await (const c of chunks) yield decodeToF32(encodeFromF32(c, 'BF16'), 'BF16');
}

export async function writeGgufModel(path: string, type: GgufWriteType | GgufMix, cfg: ModelConfig, tensors: TensorToWrite[], tokenizerJson: object, tokenizerConfig: object): Promise<void> {
  const out: GgufTensorToWrite[] = tensors.map((t) => {
    const dims = [...t.shape].reverse();
    const name = ggufTensorName(t.name);
    const ggml = (GGUF_MIXES as readonly string[]).includes(type) ? mixType(type as GgufMix, name, dims) : tensorTypeFor(type as GgufWriteType, dims);
    return { name, type: ggml, dims, data: () => asBf16(t.data()) };
  });
  const fh = await open(path, 'w');
  try {
    await writeGguf(
      {
        async write(bytes) {
          let at = 0;
          while (at < bytes.length) at += (await fh.write(bytes, at, bytes.length - at)).bytesWritten;
        },
      },
      ggufMetadata(cfg, tokenizerJson, tokenizerConfig, type),
      out,
    );
  } finally {
    await fh.close();
  }
}
