// The one answer reader, for every mode, including text still streaming.
import { describe, expect, it } from 'vitest';
import type { Mode } from '../protocol/engine';
import { extractAnswer, extractAnswerLine, readAnswer } from './answer';

describe('extractAnswer', () => {
  it.each([
    ['math', '<think>maybe \\boxed{3}</think>So \\boxed{4}.', '4'],
    ['math', '<think>\\boxed{3}</think>I give up.', null], // boxed only inside the thinking
    ['math', '<think>\\boxed{3}', null], // still thinking
    ['math', '<think>x</think>\\fbox{5}', '5'],
    ['science4', '<think>A? B?</think>\nAnswer: \\boxed{C}', 'C'],
    ['science4', '<think>x</think>\nAnswer: \\boxed{F}', null],
    ['science10', '<think>x</think>\nAnswer: \\boxed{F}', 'F'],
    ['code', '<think>```python\nbad\n```</think>```python\ngood()\n```', 'good()'],
    ['code', '<think>```python\nnot yet()\n```', null], // still thinking: the code in the reasoning is not the answer
    ['code', '<think>```python\nbad()\n```</think>No code in the answer.', null],
    ['science-open', '<think>x</think>Explanation: because.\nAnswer: **photosynthesis**\nConfidence: 80%', 'photosynthesis'],
    ['science-open', '<think>x</think>It is \\boxed{7 kg}.', '7 kg'],
    ['chat', '<think>x</think>Hello! \\boxed{1}', '1'],
    ['chat', '<think>x</think>Hello!', null],
    ['raw', 'plain text', null],
  ] as [Mode, string, string | null][])('%s %j -> %j', (mode, text, expected) => {
    expect(extractAnswer(mode, text)).toBe(expected);
  });

  it('reads the last non-empty Answer line', () => {
    expect(extractAnswerLine('Answer: 1\nanswer:   2  \nAnswer:')).toBe('2');
    expect(extractAnswerLine('The Answer: inline is not a line')).toBeNull();
  });
});

describe('readAnswer', () => {
  it('has no answer while thinking, even with a half-written closing tag', () => {
    const v = readAnswer('math', '<think>\nlet x = 2 so \\boxed{3}</thi');
    expect(v.answer).toBeNull();
    expect(v.final).toBeNull();
    expect(v.thinking).not.toContain('</thi');
  });

  it('math: the last boxed expression of the answer, nested braces kept', () => {
    const v = readAnswer('math', '<think>maybe \\boxed{1}</think>\n\nSo $\\boxed{\\frac{1}{2}}$ or rather \\boxed{\\frac{3}{4}}.');
    expect(v.thinking).toBe('maybe \\boxed{1}');
    expect(v.final).toEqual({ kind: 'boxed', value: '\\frac{3}{4}' });
  });

  it("science: the chosen letter within the mode's letters", () => {
    expect(readAnswer('science4', '<think>hm</think>\nAnswer: \\boxed{C}').final).toEqual({ kind: 'choice', value: 'C' });
    expect(readAnswer('science4', '<think>hm</think>\nAnswer: \\boxed{H}').final).toBeNull();
    expect(readAnswer('science10', '<think>hm</think>\nAnswer: \\boxed{H}').final).toEqual({ kind: 'choice', value: 'H' });
  });

  it('code: the first python block of the answer, never one from the reasoning', () => {
    const text = '<think>```python\nwrong()\n```</think>\nHere:\n```python\ndef f(n):\n    return n + 1\n```\nand\n```python\nother()\n```';
    expect(readAnswer('code', text).final).toEqual({ kind: 'code', value: 'def f(n):\n    return n + 1' });
  });

  it('science-open: the Answer line; chat: a boxed expression when there is one', () => {
    expect(readAnswer('science-open', '<think>x</think>\nExplanation: e\nAnswer: 4\nConfidence: 90%').final).toEqual({ kind: 'open', value: '4' });
    const chat = readAnswer('chat', '<think>x</think>\nHello \\boxed{1}');
    expect(chat.answer).toBe('Hello \\boxed{1}');
    expect(chat.final).toEqual({ kind: 'boxed', value: '1' });
    expect(readAnswer('chat', '<think>x</think>\nHello').final).toBeNull();
  });
});
