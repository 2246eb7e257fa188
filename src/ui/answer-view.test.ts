// The output panel's reading of a generation per mode: reasoning, answer, and the extracted final
// answer (through src/reasoning), including text still streaming.
import { describe, expect, it } from 'vitest';
import { answerView } from './answer-view';

describe('answerView', () => {
  it('has no answer while thinking, even with a half-written closing tag', () => {
    const v = answerView('math', '<think>\nlet x = 2 so \\boxed{3}</thi');
    expect(v.answer).toBeNull();
    expect(v.final).toBeNull();
    expect(v.thinking).not.toContain('</thi');
  });

  it('math: the last boxed expression of the answer, nested braces kept', () => {
    const v = answerView('math', '<think>maybe \\boxed{1}</think>\n\nSo $\\boxed{\\frac{1}{2}}$ or rather \\boxed{\\frac{3}{4}}.');
    expect(v.thinking.trim()).toBe('maybe \\boxed{1}');
    expect(v.final).toEqual({ kind: 'boxed', value: '\\frac{3}{4}' });
  });

  it('science: the chosen letter within the mode\'s letters', () => {
    expect(answerView('science4', '<think>hm</think>\nAnswer: \\boxed{C}').final).toEqual({ kind: 'choice', value: 'C' });
    expect(answerView('science4', '<think>hm</think>\nAnswer: \\boxed{H}').final).toBeNull();
    expect(answerView('science10', '<think>hm</think>\nAnswer: \\boxed{H}').final).toEqual({ kind: 'choice', value: 'H' });
  });

  it('code: the first python block after the reasoning', () => {
    const text = '<think>```python\nwrong()\n```</think>\nHere:\n```python\ndef f(n):\n    return n + 1\n```\nand\n```python\nother()\n```';
    expect(answerView('code', text).final).toEqual({ kind: 'code', value: 'def f(n):\n    return n + 1' });
  });

  it('chat and open answers show the text without an extracted answer', () => {
    const v = answerView('chat', '<think>x</think>\nHello \\boxed{1}');
    expect(v.answer).toBe('Hello \\boxed{1}');
    expect(v.final).toBeNull();
    expect(answerView('science-open', '<think>x</think>\nExplanation: e\nAnswer: 4\nConfidence: 90%').final).toBeNull();
  });
});
