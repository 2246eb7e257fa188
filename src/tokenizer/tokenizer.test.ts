import { beforeAll, describe, expect, it } from 'vitest';
import { qwen25TokenizerFiles } from '../../scripts/qwen25-tokenizer';
import { BoxedError } from '../protocol/errors';
import { Tokenizer } from './tokenizer';

let tok: Tokenizer;
beforeAll(async () => {
  const { tokenizerJson, tokenizerConfig } = await qwen25TokenizerFiles();
  tok = Tokenizer.fromFiles(tokenizerJson, tokenizerConfig);
});

const SPECIAL = [
  ['<|endoftext|>', 151643],
  ['<|im_start|>', 151644],
  ['<|im_end|>', 151645],
  ['<|object_ref_start|>', 151646],
  ['<|vision_pad|>', 151654],
  ['<tool_call>', 151657],
  ['<|fim_prefix|>', 151659],
  ['<|file_sep|>', 151664],
] as const;

const AWKWARD = [
  'Hello world',
  'The quick brown fox jumps over the lazy dog.',
  '   leading spaces, then    four, then a tab\there',
  'lines\n\n\nand\r\nwindows\r\n  \n',
  '👍🏽 thumbs, family 👨‍👩‍👧‍👦, flag 🇯🇵, keycap 1️⃣',
  '中文分词测试：你好，世界！日本語のテキスト。한국어 텍스트',
  'café naïve Ångström façade Ελληνικά русский',
  'def f(x):\n\tif x:\n\t\treturn [i ** 2 for i in range(x)]\n\treturn None\n',
  'Solve $\\frac{1}{2} + \\sqrt{3}$ and put it in \\boxed{42}.',
  '<think>\nLet me think.\n</think>\n\nThe answer is 7.',
  '\uFEFFbyte order mark and a lone \uFFFD replacement',
  '',
];

describe('Tokenizer (Qwen2.5 fixture)', () => {
  it('has 151665 entries and the Qwen stop tokens', () => {
    expect(tok.size).toBe(151665);
    expect(tok.eosIds()).toEqual([151645, 151643]);
  });

  it('pins ids checked by decoding them back', () => {
    expect(tok.encode('Hello world')).toEqual([9707, 1879]);
    expect(tok.decode([9707])).toBe('Hello');
    expect(tok.decode([1879])).toBe(' world');
    expect(tok.encode('<|im_start|>system\n<|im_end|>\n')).toEqual([151644, 8948, 198, 151645, 198]);
    expect(tok.decode([8948])).toBe('system');
    expect(tok.decode([198])).toBe('\n');
    expect(tok.idOf('Ġworld')).toBe(1879);
  });

  it('maps every special token in the text to its one id', () => {
    for (const [text, id] of SPECIAL) {
      expect(tok.encode(text)).toEqual([id]);
      expect(tok.idOf(text)).toBe(id);
      expect(tok.decode([id])).toBe(text);
    }
    const ids = tok.encode('a<|im_start|>b<|im_end|>c');
    expect(ids.filter((i) => i >= 151643)).toEqual([151644, 151645]);
    expect(ids).toHaveLength(5);
  });

  it('treats <think> and </think> as ordinary text of several tokens', () => {
    for (const t of ['<think>', '</think>']) {
      const ids = tok.encode(t);
      expect(ids.length).toBeGreaterThan(1);
      expect(ids.every((i) => i < 151643)).toBe(true);
      expect(tok.idOf(t)).toBeUndefined();
      expect(tok.decode(ids)).toBe(t);
    }
    // The Qwen3-only added tokens are gone.
    expect(tok.idOf('<tool_response>')).toBeUndefined();
    expect(tok.decode([151665, 151667])).toBe('');
  });

  it('round-trips awkward text exactly', () => {
    for (const text of AWKWARD) {
      const ids = tok.encode(text);
      expect(tok.decode(ids)).toBe(text);
      if (text !== '') expect(ids.length).toBeGreaterThan(0);
      // Deterministic: same text, same ids.
      expect(tok.encode(text)).toEqual(ids);
    }
  });

  it('normalizes to NFC before encoding', () => {
    const decomposed = 'cafe\u0301';
    expect(tok.decode(tok.encode(decomposed))).toBe('caf\u00e9');
    expect(tok.encode(decomposed)).toEqual(tok.encode('caf\u00e9'));
  });

  it('keeps runs of spaces and newlines in few tokens', () => {
    const ids = tok.encode('a' + ' '.repeat(16) + 'b');
    expect(ids.length).toBeLessThanOrEqual(4);
    expect(tok.decode(ids)).toBe('a' + ' '.repeat(16) + 'b');
    expect(tok.encode('\n\n')).toHaveLength(1);
  });

  it('encodes a common word the same in every context with a leading space', () => {
    const the = tok.encode(' the');
    expect(the).toHaveLength(1);
    expect(tok.encode('in the house')).toContain(the[0]);
    expect(tok.encode('over the top')).toContain(the[0]);
  });

  it('splits CJK and emoji over byte-level tokens whose bytes rebuild the text', () => {
    for (const text of AWKWARD) {
      const ids = tok.encode(text);
      const bytes = ids.flatMap((id) => [...tok.tokenBytes(id)]);
      expect(new TextDecoder('utf-8', { ignoreBOM: true }).decode(new Uint8Array(bytes))).toBe(text);
    }
    // Some token in the emoji line holds an incomplete character.
    const partial = tok.encode(AWKWARD[4]).some((id) => {
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(tok.tokenBytes(id));
        return false;
      } catch {
        return true;
      }
    });
    expect(partial).toBe(true);
  });

  it('gives special tokens their text as bytes, and padding ids none', () => {
    expect(new TextDecoder().decode(tok.tokenBytes(151645))).toBe('<|im_end|>');
    expect(tok.tokenBytes(151900)).toHaveLength(0);
    expect([...tok.tokenBytes(220)]).toEqual([0x20]);
    expect(() => tok.tokenBytes(-1)).toThrow(BoxedError);
    expect(() => tok.decode([1.5])).toThrow(BoxedError);
  });

  it('skips special tokens on request, not added ordinary ones', () => {
    const ids = tok.encode('<|im_start|>user\nhi<|im_end|><tool_call>');
    expect(tok.decode(ids, { skipSpecial: true })).toBe('user\nhi<tool_call>');
    expect(tok.decode(ids)).toBe('<|im_start|>user\nhi<|im_end|><tool_call>');
    expect(tok.isSpecial(151645)).toBe(true);
    expect(tok.isSpecial(151657)).toBe(false);
    expect(tok.isAdded(151657)).toBe(true);
    expect(tok.decode([])).toBe('');
  });

  it('rejects malformed files with ModelFormat naming the file', async () => {
    const { tokenizerJson, tokenizerConfig } = await qwen25TokenizerFiles();
    const cases: object[] = [{}, { model: { type: 'BPE' } }, { ...tokenizerJson, added_tokens: 'x' }, { ...tokenizerJson, decoder: undefined }];
    for (const bad of cases) {
      try {
        Tokenizer.fromFiles(bad, tokenizerConfig);
        expect.unreachable('should throw');
      } catch (e) {
        expect(e).toBeInstanceOf(BoxedError);
        expect((e as BoxedError).name).toBe('ModelFormat');
        expect((e as BoxedError).file).toBe('tokenizer.json');
      }
    }
    expect(() => Tokenizer.fromFiles(tokenizerJson, [] as unknown as object)).toThrow(/tokenizer_config\.json/);
  });
});
