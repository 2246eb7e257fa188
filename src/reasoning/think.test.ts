import { describe, expect, it } from 'vitest';
import { splitThinking } from './think';

describe('splitThinking', () => {
  it.each([
    // [text, thinking, answer, done]
    ['<think>\nLet me see.\n</think>\n\nThe answer is 4.', 'Let me see.', 'The answer is 4.', true],
    ['\n <think>a</think>b', 'a', 'b', true],
    ['<think>a</think>b</think>c', 'a</think>b', 'c', true],
    ['<think>\nstill going', 'still going', null, false],
    ['<think>\nstill going</thi', 'still going', null, false],
    ['<think>\nstill going<', 'still going', null, false],
    ['<thi', '', null, false],
    ['', '', null, false],
    ['no tag at all, thinking', 'no tag at all, thinking', null, false],
    ['no opening tag</think>answer', 'no opening tag', 'answer', true],
    ['Okay.<think>more</think>done', 'Okay.more', 'done', true],
    ['<think></think>', '', '', true],
    ['<think>x</think>\n\n\\boxed{5}\n', 'x', '\\boxed{5}', true],
    ['<think> a < b and c </ d </think>  ans  ', 'a < b and c </ d', 'ans', true],
  ] as const)('%j', (text, thinking, answer, done) => {
    expect(splitThinking(text)).toEqual({ thinking, answer, thinkingDone: done });
  });
});
