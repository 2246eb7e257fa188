// The tokenizer a GGUF file carries (tokenizer.ggml.*), as the tokenizer.json + tokenizer_config.json that
// src/tokenizer reads, and the reverse for Boxed's GGUF writer.
// GGUF keeps one list of tokens (index = id) with a type each: 1 normal (the BPE vocabulary), 3 control
// (special added tokens such as <|im_end|>), 4 user-defined (added tokens that are not special), 5 unused
// (padding up to the embedding's rows, dropped here as Hugging Face has no token there), 2 unknown, 6 byte.
// Merges are "left right" strings. Qwen2's pre-tokenizer (tokenizer.ggml.pre = "qwen2") is its split regex
// followed by byte-level mapping, NFC-normalized first.
import { BoxedError } from '../../protocol/errors';
import type { GgufValue } from './write';
import type { MetadataValue } from './parse';

const QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

export const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

const BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };

interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

function stringArray(md: Record<string, MetadataValue>, key: string, file: string, required: boolean): string[] | null {
  const v = md[key];
  if (v === undefined && !required) return null;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new BoxedError('ModelFormat', `metadata ${key} is missing or not a list of strings`, { file });
  return v as string[];
}

function tokenId(md: Record<string, MetadataValue>, key: string, n: number, file: string): number | null {
  const v = md[key];
  if (v === undefined) return null;
  const id = Number(v);
  if (!Number.isInteger(id) || id < 0 || id >= n) throw new BoxedError('ModelFormat', `metadata ${key} = ${String(v)} is not a token id below ${n}`, { file });
  return id;
}

export interface GgufTokenizer {
  tokenizerJson: object;
  tokenizerConfig: object;
  eosTokenId: number | null;
  bosTokenId: number | null;
}

/** tokenizer.json and tokenizer_config.json from a GGUF file's metadata. */
export function tokenizerFromGguf(md: Record<string, MetadataValue>, file: string): GgufTokenizer {
  const model = md['tokenizer.ggml.model'];
  if (model !== 'gpt2') throw new BoxedError('ModelFormat', `tokenizer.ggml.model ${JSON.stringify(model)} is not supported (Qwen2's byte-level BPE is "gpt2")`, { file });
  const pre = md['tokenizer.ggml.pre'];
  if (pre !== undefined && pre !== 'qwen2') throw new BoxedError('ModelFormat', `tokenizer.ggml.pre ${JSON.stringify(pre)} is not supported (only "qwen2")`, { file });
  const tokens = stringArray(md, 'tokenizer.ggml.tokens', file, true)!;
  const merges = stringArray(md, 'tokenizer.ggml.merges', file, true)!;
  const typesRaw = md['tokenizer.ggml.token_type'];
  if (!Array.isArray(typesRaw) || typesRaw.length !== tokens.length) {
    throw new BoxedError('ModelFormat', `metadata tokenizer.ggml.token_type must list one type per token (${tokens.length})`, { file });
  }
  const vocab: Record<string, number> = {};
  const added: AddedToken[] = [];
  for (let id = 0; id < tokens.length; id++) {
    const type = Number(typesRaw[id]);
    if (type === TOKEN_TYPE.control || type === TOKEN_TYPE.userDefined) added.push({ id, content: tokens[id], special: type === TOKEN_TYPE.control });
    else if (type !== TOKEN_TYPE.unused) vocab[tokens[id]] = id;
  }
  const pairs = merges.map((m) => {
    const at = m.indexOf(' ');
    if (at <= 0 || at === m.length - 1) throw new BoxedError('ModelFormat', `merge ${JSON.stringify(m)} is not "left right"`, { file });
    return [m.slice(0, at), m.slice(at + 1)];
  });
  const eos = tokenId(md, 'tokenizer.ggml.eos_token_id', tokens.length, file);
  const bos = tokenId(md, 'tokenizer.ggml.bos_token_id', tokens.length, file);
  const pad = tokenId(md, 'tokenizer.ggml.padding_token_id', tokens.length, file);
  const addBos = md['tokenizer.ggml.add_bos_token'] === true;
  const template = md['tokenizer.chat_template'];
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added.map((t) => ({ ...t, single_word: false, lstrip: false, rstrip: false, normalized: false })),
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [{ type: 'Split', pattern: { Regex: QWEN2_SPLIT }, behavior: 'Isolated', invert: false }, BYTE_LEVEL],
    },
    post_processor: BYTE_LEVEL,
    decoder: BYTE_LEVEL,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: pairs,
    },
  };
  const tokenizerConfig = {
    add_bos_token: addBos,
    add_prefix_space: false,
    bos_token: addBos && bos !== null ? tokens[bos] : null,
    eos_token: eos !== null ? tokens[eos] : null,
    pad_token: pad !== null ? tokens[pad] : null,
    chat_template: typeof template === 'string' ? template : undefined,
    additional_special_tokens: added.filter((t) => t.special).map((t) => t.content),
    clean_up_tokenization_spaces: false,
    model_max_length: 131072,
    tokenizer_class: 'Qwen2Tokenizer',
    unk_token: null,
  };
  return { tokenizerJson, tokenizerConfig, eosTokenId: eos, bosTokenId: bos };
}

interface HfTokenizerJson {
  added_tokens?: AddedToken[];
  model: { vocab: Record<string, number>; merges: Array<string | [string, string]> };
}

/** tokenizer.ggml.* metadata from a Hugging Face tokenizer.json and tokenizer_config.json (rows = embedding rows). */
export function tokenizerToGguf(tokenizerJson: object, tokenizerConfig: object, rows: number, bosTokenId: number | null = null): Record<string, GgufValue> {
  const tj = tokenizerJson as HfTokenizerJson;
  const tc = tokenizerConfig as { chat_template?: string; eos_token?: string; pad_token?: string };
  const tokens: string[] = Array.from({ length: rows }, (_, i) => `[PAD${i}]`);
  const types: number[] = new Array<number>(rows).fill(TOKEN_TYPE.unused);
  for (const [token, id] of Object.entries(tj.model.vocab)) {
    tokens[id] = token;
    types[id] = TOKEN_TYPE.normal;
  }
  for (const t of tj.added_tokens ?? []) {
    tokens[t.id] = t.content;
    types[t.id] = t.special ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined;
  }
  const id = (content: string | undefined) => (content === undefined ? -1 : tokens.indexOf(content));
  const md: Record<string, GgufValue> = {
    'tokenizer.ggml.model': { kind: 'string', value: 'gpt2' },
    'tokenizer.ggml.pre': { kind: 'string', value: 'qwen2' },
    'tokenizer.ggml.tokens': { kind: 'array', of: 'string', value: tokens },
    'tokenizer.ggml.token_type': { kind: 'array', of: 'i32', value: types },
    'tokenizer.ggml.merges': { kind: 'array', of: 'string', value: tj.model.merges.map((m) => (typeof m === 'string' ? m : m.join(' '))) },
    'tokenizer.ggml.add_bos_token': { kind: 'bool', value: false },
  };
  if (bosTokenId !== null) md['tokenizer.ggml.bos_token_id'] = { kind: 'u32', value: bosTokenId };
  if (id(tc.eos_token) >= 0) md['tokenizer.ggml.eos_token_id'] = { kind: 'u32', value: id(tc.eos_token) };
  if (id(tc.pad_token) >= 0) md['tokenizer.ggml.padding_token_id'] = { kind: 'u32', value: id(tc.pad_token) };
  if (typeof tc.chat_template === 'string') md['tokenizer.chat_template'] = { kind: 'string', value: tc.chat_template };
  return md;
}
