import { describe, expect, it } from 'vitest';
import { boxedContents, extractBoxed } from './boxed';

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
    ['\\fbox{9}', '9'], // no \\boxed at all: the last \\fbox
    ['\\fbox{9} but \\boxed{8}', '8'],
    ['\\boxed{8} then \\fbox{9}', '8'], // a \\boxed is there: \\fbox is not read
  ])('%j -> %j', (text, expected) => {
    expect(extractBoxed(text)).toBe(expected);
  });
});

describe('boxedContents', () => {
  it.each([
    ['no box', 'no box'],
    ['\\boxed{1}', '1'],
    ['\\boxed{1} and \\boxed{2}', '1,2'],
    ['\\boxed{1}\\boxed{1}', '1'], // consecutive repeats dropped
    ['\\boxed { x }', 'x'],
    ['\\fbox{a}, \\boxed{b}', 'a,b'],
    ['\\boxed{1} \\boxed{2', '1,{2'], // an unclosed last box gives the rest
  ])('%j -> %j', (text, expected) => {
    expect(boxedContents(text)).toBe(expected);
  });
});
