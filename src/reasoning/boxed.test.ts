import { describe, expect, it } from 'vitest';
import { extractBoxed } from './boxed';

describe('extractBoxed', () => {
  it.each([
    ['The answer is \\boxed{42}.', '42'],
    ['\\boxed{1} then \\boxed{2}', '2'],
    ['\\boxed{\\frac{1}{2}}', '\\frac{1}{2}'],
    ['$\\boxed{\\{1,2\\}}$', '\\{1,2\\}'],
    ['\\boxed{a\\}b}', 'a\\'], // no escape handling: \} closes like }
    ['\\boxed{a{b}c{d{e}}}f}', 'a{b}c{d{e}}'],
    ['\\boxed{}', ''],
    ['\\boxed{ 7 }', ' 7 '],
    ['\\boxed{3} and later \\boxed 5', null], // the LAST \boxed has no brace
    ['\\boxed{unclosed {x}', null],
    ['no box here', null],
    ['\\boxed', null],
    ['\\boxed{x}\\boxed{', null],
    ['\\boxed{世界 👍}', '世界 👍'],
  ])('%j -> %j', (text, expected) => {
    expect(extractBoxed(text)).toBe(expected);
  });
});
