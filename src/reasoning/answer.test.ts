import { describe, expect, it } from 'vitest';
import type { Mode } from '../protocol/engine';
import { extractAnswer, extractAnswerLine } from './answer';

describe('extractAnswer', () => {
  it.each([
    ['math', '<think>maybe \\boxed{3}</think>So \\boxed{4}.', '4'],
    ['math', '<think>\\boxed{3}</think>I give up.', null], // boxed only inside the thinking
    ['math', '<think>\\boxed{3}', null], // still thinking
    ['science4', '<think>A? B?</think>\nAnswer: \\boxed{C}', 'C'],
    ['science4', '<think>x</think>\nAnswer: \\boxed{F}', null],
    ['science10', '<think>x</think>\nAnswer: \\boxed{F}', 'F'],
    ['code', '<think>```python\nbad\n```</think>```python\ngood()\n```', 'good()'],
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
