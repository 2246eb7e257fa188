// A thin wrapper over @huggingface/tokenizers for the model's own tokenizer.json + tokenizer_config.json.
// It fixes the choices the engine relies on: special tokens written in the text are parsed as special tokens
// (the chat template's output needs that), nothing is added around the text (Qwen2 has no BOS), and decoding
// never "cleans up" spaces, so that streaming detokenization (detokenizer.ts) equals decode() exactly.
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { BoxedError } from '../protocol/errors';
import { byteLevelToBytes } from './byte-level';
import { collectPatterns, patternProblem } from './pattern-guard';

/** Stop tokens in the Qwen2 family, in order of preference. */
const EOS_TOKENS = ['<|im_end|>', '<|endoftext|>'] as const;

interface AddedTokenJson {
  id: number;
  content: string;
  special?: boolean;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Structural checks the library does not make, so that a bad file fails here with a typed error. */
function validateTokenizerJson(json: unknown): AddedTokenJson[] {
  const bad = (message: string): BoxedError => new BoxedError('ModelFormat', message, { file: 'tokenizer.json' });
  if (!isRecord(json)) throw bad('not a JSON object');
  const model = json.model;
  if (!isRecord(model)) throw bad('missing "model" object');
  if (!isRecord(model.vocab)) throw bad('"model.vocab" is not an object');
  if (model.merges !== undefined && !Array.isArray(model.merges)) throw bad('"model.merges" is not an array');
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) throw bad('"added_tokens" is not an array');
  for (const t of added) {
    if (!isRecord(t) || typeof t.content !== 'string' || !Number.isInteger(t.id) || (t.id as number) < 0) {
      throw bad(`bad entry in "added_tokens": ${JSON.stringify(t)}`);
    }
  }
  for (const p of collectPatterns([json.normalizer, json.pre_tokenizer])) {
    const problem = patternProblem(p);
    if (problem) throw bad(`refusing a regular expression that could run for a very long time: ${problem}`);
  }
  return added as AddedTokenJson[];
}

/** True when the decoder maps token characters back through the byte-level alphabet. */
function usesByteLevel(decoder: unknown): boolean {
  if (!isRecord(decoder)) return false;
  if (decoder.type === 'ByteLevel') return true;
  return decoder.type === 'Sequence' && Array.isArray(decoder.decoders) && decoder.decoders.some(usesByteLevel);
}

export class Tokenizer {
  /** Highest token id + 1 (151665 for Qwen2.5). The model's vocab_size may be larger (padding rows). */
  readonly size: number;
  private readonly specialIds: ReadonlySet<number>;
  private readonly addedContent: ReadonlyMap<number, string>;
  private readonly byteLevel: boolean;
  private readonly encoder = new TextEncoder();
  private readonly bytesCache = new Map<number, Uint8Array>();

  private constructor(
    private readonly hf: HfTokenizer,
    addedTokens: AddedTokenJson[],
    additionalSpecial: string[],
    byteLevel: boolean,
  ) {
    let max = -1;
    for (const id of hf.get_vocab(true).values()) if (id > max) max = id;
    this.size = max + 1;
    this.addedContent = new Map(addedTokens.map((t) => [t.id, t.content]));
    const special = new Set(addedTokens.filter((t) => t.special).map((t) => t.id));
    for (const content of additionalSpecial) {
      const id = hf.token_to_id(content);
      if (id !== undefined) special.add(id);
    }
    this.specialIds = special;
    this.byteLevel = byteLevel;
  }

  /**
   * Builds the tokenizer from the parsed tokenizer.json and tokenizer_config.json.
   * Throws BoxedError('ModelFormat') naming the file when either is malformed.
   */
  static fromFiles(tokenizerJson: object, tokenizerConfig: object): Tokenizer {
    const addedTokens = validateTokenizerJson(tokenizerJson);
    if (!isRecord(tokenizerConfig)) {
      throw new BoxedError('ModelFormat', 'not a JSON object', { file: 'tokenizer_config.json' });
    }
    const extra = tokenizerConfig.additional_special_tokens;
    const additionalSpecial = Array.isArray(extra) ? extra.filter((x): x is string => typeof x === 'string') : [];
    let hf: HfTokenizer;
    try {
      hf = new HfTokenizer(tokenizerJson, tokenizerConfig);
    } catch (cause) {
      const why = cause instanceof Error ? cause.message : String(cause);
      throw new BoxedError('ModelFormat', `cannot build the tokenizer: ${why}`, { file: 'tokenizer.json', cause });
    }
    return new Tokenizer(hf, addedTokens, additionalSpecial, usesByteLevel((tokenizerJson as Record<string, unknown>).decoder));
  }

  /**
   * Token ids for the text. Special tokens written in the text (`<|im_start|>`) become their single ids.
   * The text is NFC-normalized first (Qwen2's normalizer), so decode(encode(x)) is x in NFC form.
   */
  encode(text: string): number[] {
    if (text === '') return [];
    return this.hf.encode(text, { add_special_tokens: false }).ids;
  }

  /**
   * The text for the ids. Ids with no token (the model's padding rows) decode to ''.
   * skipSpecial drops special tokens (`<|im_end|>` ...) as Hugging Face's skip_special_tokens does.
   */
  decode(ids: readonly number[], opts: { skipSpecial?: boolean } = {}): string {
    for (const id of ids) this.checkId(id);
    if (ids.length === 0) return '';
    return this.hf.decode([...ids], { skip_special_tokens: opts.skipSpecial ?? false, clean_up_tokenization_spaces: false });
  }

  /** The id of a token as the vocabulary spells it ('Ġworld', '<|im_end|>'), or undefined. */
  idOf(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  /** `<|im_end|>` and `<|endoftext|>`, those present, in that order. */
  eosIds(): number[] {
    return EOS_TOKENS.map((t) => this.idOf(t)).filter((id): id is number => id !== undefined);
  }

  /** True for special tokens (dropped by decode with skipSpecial). */
  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** True for added tokens (special or not): they stand for their text, not for byte-level characters. */
  isAdded(id: number): boolean {
    return this.addedContent.has(id);
  }

  /**
   * The UTF-8 bytes a token stands for: vocabulary tokens through the byte-level mapping (so a token may
   * hold part of a character), added and special tokens as their text. An id with no token gives no bytes.
   */
  tokenBytes(id: number): Uint8Array {
    this.checkId(id);
    const hit = this.bytesCache.get(id);
    if (hit) return hit;
    const bytes = this.computeBytes(id);
    this.bytesCache.set(id, bytes);
    return bytes;
  }

  private computeBytes(id: number): Uint8Array {
    const added = this.addedContent.get(id);
    if (added !== undefined) return this.encoder.encode(added);
    const token = this.hf.id_to_token(id);
    if (token === undefined) return new Uint8Array(0);
    if (this.byteLevel) {
      const bytes = byteLevelToBytes(token);
      if (bytes) return bytes;
    }
    return this.encoder.encode(this.decode([id]));
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0) throw new BoxedError('InvalidRequest', `not a token id: ${id}`);
  }
}
