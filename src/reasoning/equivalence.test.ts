import { describe, expect, it } from 'vitest';
import { answersEquivalent, normalizeAnswer, numericValue } from './equivalence';

describe('normalizeAnswer', () => {
  it.each([
    ['50\\%', '50'],
    ['50 %', '50'],
    ['12.', '12'],
    ['x = 3\\\\', 'x=3'],
    ['\\dfrac{1}{2}', '\\frac{1}{2}'],
    ['\\tfrac{3}{4}', '\\frac{3}{4}'],
    ['\\left( 1, 2 \\right)', '(1,2)'],
    ['\\leftarrow', '\\leftarrow'], // only the \left command, not longer names
    ['$\\displaystyle 5\\!000$', '5000'],
    ['\\text{5 cm}', '5cm'],
    ['\\text{\\text{yes}}', 'yes'],
    ['  a + b  ', 'a+b'],
    ['100%', '100'],
    ['a%', 'a%'], // % only after a number
  ])('%j -> %j', (raw, normal) => {
    expect(normalizeAnswer(raw)).toBe(normal);
  });
});

describe('numericValue', () => {
  it.each([
    ['42', 42],
    ['-3.5', -3.5],
    ['.5', 0.5],
    ['1,234,567', 1234567],
    ['1e3', 1000],
    ['\\frac{1}{4}', 0.25],
    ['-\\frac{3}{2}', -1.5],
    ['3/8', 0.375],
    ['1/0', null],
    ['1,2', null], // a tuple, not a thousands separator
    ['x', null],
    ['\\sqrt{2}', null],
  ])('%j -> %j', (s, v) => {
    expect(numericValue(s)).toBe(v);
  });
});

describe('answersEquivalent', () => {
  it.each([
    ['\\dfrac{1}{2}', '\\frac{1}{2}', true],
    ['0.5', '\\frac{1}{2}', true],
    ['1/3', '0.333333', true], // 6-decimal rounding
    ['1/3', '0.3333', false],
    ['50\\%', '50', true],
    ['10.', '10', true],
    ['1,000', '1000', true],
    ['\\left(1, 2\\right)', '(1,2)', true],
    ['$x^2$', 'x^2', true],
    ['\\text{A}', 'A', true],
    ['2', '3', false],
    ['x+1', '1+x', false], // no symbolic algebra
    [null, '1', false],
    [null, null, false],
  ] as [string | null, string | null, boolean][])('%j ~ %j -> %s', (a, b, eq) => {
    expect(answersEquivalent(a, b)).toBe(eq);
    expect(answersEquivalent(b, a)).toBe(eq);
  });
});
