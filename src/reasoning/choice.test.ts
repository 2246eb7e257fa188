import { describe, expect, it } from 'vitest';
import { extractChoice } from './choice';

const ABCD = 'ABCD';
const AJ = 'ABCDEFGHIJ';

describe('extractChoice', () => {
  it.each([
    ['Answer: \\boxed{B}', ABCD, 'B'],
    ['\\boxed{ C }', ABCD, 'C'],
    ['\\boxed{\\text{D}}', ABCD, 'D'],
    ['\\boxed{(A) 3 m/s}', ABCD, 'A'],
    ['\\boxed{A or C}', ABCD, 'C'], // last standalone capital
    ['\\boxed{H}', AJ, 'H'],
    ['\\boxed{H}', ABCD, null], // not a choice here, no fallback line
    ['\\boxed{H}\nAnswer: B', ABCD, 'B'],
    ['\\boxed{42}\nAnswer: B', ABCD, 'B'], // boxed without a letter -> the Answer line
    ['Answer: A\nthen **Answer:** C', ABCD, 'C'], // the last match
    ['**Answer**: D', ABCD, 'D'],
    ['_Answer_ :  b', ABCD, 'B'], // case-insensitive, as the NeMo-Skills regex
    ['Answer: Because', ABCD, null], // letter followed by a letter is not standalone
    ['Answer: A1', ABCD, null],
    ['The answer: E is wrong; Answer: J', AJ, 'J'],
    ['nothing', ABCD, null],
    ['\\boxed{AB}', ABCD, null],
  ])('%j in %s -> %j', (text, letters, expected) => {
    expect(extractChoice(text, letters)).toBe(expected);
  });
});
