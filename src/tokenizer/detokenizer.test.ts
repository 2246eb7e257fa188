import { beforeAll, describe, expect, it } from 'vitest';
import { qwen25TokenizerFiles } from '../../scripts/qwen25-tokenizer';
import { Rng } from '../sampler/rng';
import { StreamingDetokenizer } from './detokenizer';
import { Tokenizer } from './tokenizer';

let tok: Tokenizer;
beforeAll(async () => {
  const { tokenizerJson, tokenizerConfig } = await qwen25TokenizerFiles();
  tok = Tokenizer.fromFiles(tokenizerJson, tokenizerConfig);
});

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Streams ids; returns each push's output and the flush. */
function stream(ids: number[], skipSpecial = false): { pieces: string[]; tail: string } {
  const d = new StreamingDetokenizer(tok, { skipSpecial });
  const pieces = ids.map((id) => d.push(id));
  return { pieces, tail: d.flush() };
}

const SPLIT_TEXTS = [
  '𓀀𠀋🫠龘 👨‍👩‍👧‍👦 family, 🇯🇵 flag, 👍🏽 tone, 🧑‍🚀 astronaut',
  '中文分词测试：你好，世界！繁體中文與日本語のテキスト',
  'Ελληνικά и русский, عربى, עברית, हिन्दी, ไทย',
  '<|im_start|>assistant\n<think>\n数学 🤔</think>\n\n\\boxed{42}<|im_end|>',
];

describe('StreamingDetokenizer', () => {
  it('holds back a character whose bytes span tokens', () => {
    // '𓀀' (F0 93 80 80) is three tokens: F0 93 | 80 | 80.
    const ids = tok.encode('𓀀');
    expect(ids).toHaveLength(3);
    const { pieces, tail } = stream(ids);
    expect(pieces).toEqual(['', '', '𓀀']);
    expect(tail).toBe('');
    // ' 👍🏽': the space comes out at once, the thumb when its last byte arrives.
    const thumb = stream(tok.encode(' 👍🏽'));
    expect(thumb.pieces).toEqual([' ', '👍', '🏽']);
  });

  it('concatenates to decode() and never shows a broken character', () => {
    for (const text of SPLIT_TEXTS) {
      const ids = tok.encode(text);
      const { pieces, tail } = stream(ids);
      expect(pieces.join('') + tail).toBe(tok.decode(ids));
      expect(pieces.join('') + tail).toBe(text);
      let prefix = '';
      for (const p of pieces) {
        prefix += p;
        expect(prefix).not.toContain('\uFFFD');
        // No lone surrogate: every prefix is whole characters.
        expect(LONE_SURROGATE.test(prefix)).toBe(false);
        expect(text.startsWith(prefix)).toBe(true);
      }
    }
  });

  it('matches decode() on random id sequences, incomplete bytes and padding ids included', () => {
    const rng = new Rng(1234);
    const pool = SPLIT_TEXTS.flatMap((t) => tok.encode(t));
    for (let trial = 0; trial < 200; trial++) {
      const n = rng.int(1, 24);
      const ids: number[] = [];
      for (let i = 0; i < n; i++) {
        const r = rng.next();
        if (r < 0.6) ids.push(pool[rng.int(0, pool.length - 1)]);
        else if (r < 0.9) ids.push(rng.int(0, 151642));
        else if (r < 0.97) ids.push(rng.int(151643, 151664));
        else ids.push(rng.int(151665, 151935));
      }
      for (const skipSpecial of [false, true]) {
        const { pieces, tail } = stream(ids, skipSpecial);
        expect(pieces.join('') + tail).toBe(tok.decode(ids, { skipSpecial }));
      }
    }
  });

  it('shows U+FFFD only where the input really has one', () => {
    const text = 'a real \uFFFD here, then 🫠';
    const ids = tok.encode(text);
    const { pieces, tail } = stream(ids);
    expect(pieces.join('') + tail).toBe(text);
    expect((pieces.join('') + tail).split('\uFFFD')).toHaveLength(2);
    // A stream cut inside a character ends with exactly one replacement on flush.
    const cut = tok.encode('🫠').slice(0, 2);
    const cutStream = stream(cut);
    expect(cutStream.pieces.join('')).toBe('');
    expect(cutStream.tail).toBe(tok.decode(cut));
    expect(cutStream.tail).toContain('\uFFFD');
  });

  it('is ready for a new stream after flush', () => {
    const d = new StreamingDetokenizer(tok);
    const first = tok.encode('龘').slice(0, 1);
    first.forEach((id) => d.push(id));
    d.flush();
    const ids = tok.encode('你好 world');
    expect(ids.map((id) => d.push(id)).join('') + d.flush()).toBe('你好 world');
  });

  it('does constant work per token: one byte lookup each, never the whole text again', () => {
    let lookups = 0;
    const counting = {
      tokenBytes: (id: number) => {
        lookups++;
        return tok.tokenBytes(id);
      },
      isAdded: (id: number) => tok.isAdded(id),
      isSpecial: (id: number) => tok.isSpecial(id),
    };
    const ids = tok.encode(SPLIT_TEXTS.join('\n').repeat(50));
    const d = new StreamingDetokenizer(counting);
    let out = '';
    for (const id of ids) out += d.push(id);
    out += d.flush();
    expect(lookups).toBe(ids.length);
    expect(out).toBe(SPLIT_TEXTS.join('\n').repeat(50));
  });
});
