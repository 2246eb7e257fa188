import { describe, expect, it } from 'vitest';
import { qwen25TokenizerFiles } from '../../scripts/qwen25-tokenizer';
import { BoxedError } from '../protocol/errors';
import { collectPatterns, patternProblem } from './pattern-guard';
import { Tokenizer } from './tokenizer';

describe('patternProblem', () => {
  it.each([
    ['(a+)+$', true],
    ['(x*)*y', true],
    ['(?:a|ab){2,}c', false], // a repeated group without a repeat inside is not this shape
    ['((ab)+c)*', true],
    ['(?:\\s+)+', true],
    ['[(a+)]+', false], // inside a class nothing is a group
    ['\\(a+\\)+', false], // escaped parentheses
    ['(a+)?', false], // at most once
    ['(a+){1}', false],
    ['(a+){2}', true],
    ['\\s+(?!\\S)|\\s+', false],
    ["(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", false],
    ['a'.repeat(3000), true],
  ])('%j refused: %s', (p, refused) => {
    expect(patternProblem(p) !== null).toBe(refused);
  });

  it('finds the patterns of nested normalizers and pre-tokenizers', () => {
    const pre = { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: 'a' } }, { type: 'ByteLevel' }, { type: 'Split', pattern: { String: 'b' } }] };
    const norm = { type: 'Sequence', normalizers: [{ type: 'Replace', pattern: { Regex: 'c' }, content: '' }] };
    expect(collectPatterns([norm, pre])).toEqual(['c', 'a']);
  });
});

describe('a tokenizer.json with a hostile pattern', () => {
  it('is refused with ModelFormat naming tokenizer.json, before any text is encoded', async () => {
    const { tokenizerJson, tokenizerConfig } = await qwen25TokenizerFiles();
    const hostile = { ...tokenizerJson, pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: '(\\w+\\s?)+$' }, behavior: 'Isolated', invert: false }] } };
    let error: unknown;
    try {
      Tokenizer.fromFiles(hostile, tokenizerConfig);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BoxedError);
    expect((error as BoxedError).name).toBe('ModelFormat');
    expect((error as BoxedError).file).toBe('tokenizer.json');
    expect((error as BoxedError).message).toMatch(/repeated group/);
    // the real Qwen2.5 tokenizer passes
    expect(() => Tokenizer.fromFiles(tokenizerJson, tokenizerConfig)).not.toThrow();
  });
});
