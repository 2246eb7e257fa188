import { describe, expect, it } from 'vitest';
import { normalizeForParsing, normalizeLatex } from './latex-normalize';

describe('normalizeLatex (literal stage)', () => {
  it.each([
    ['\\left( 1, 2 \\right)', '( 1, 2 )'],
    ['\\leftarrow', '\\leftarrow'], // only \left before a delimiter
    ['\\left\\{1\\right\\}', '\\{1\\}'],
    ['\\dfrac{1}{2}+\\tfrac{1}{3}+\\cfrac{1}{4}', '\\frac{1}{2}+\\frac{1}{3}+\\frac{1}{4}'],
    ['\\mathrm{cm}', '\\text{cm}'],
    ['\\textbf{7}', '\\text{7}'],
    ['$\\displaystyle 5\\!000$', '5000'],
    ['\\$10', '10'],
    ['14{,}916', '14,916'],
    ['1 and 2 or 3', '1, 2, 3'],
    ['brand', 'brand'], // "and" inside a word stays
    ['50 percent', '50\\%'],
    ['(-inf, 3)', '(-\\infty, 3)'],
    ['\\boxed{1}, \\boxed{2}', '1,2'],
    ['a\\\\frac{1}{2}', 'a\\frac{1}{2}'],
    ["f'(x)", 'f(x)'],
  ])('%j -> %j', (raw, out) => {
    expect(normalizeLatex(raw)).toBe(out);
  });
});

describe('normalizeForParsing (symbolic stage)', () => {
  it.each([
    ['10\\text{ units}', '10'],
    ['12 apples', '12'],
    ['3 cm^2', '3'],
    ['90^\\circ', '90'],
    ['.5', '0.5'],
    ['\\frac12', '\\frac{1}{2}'],
    ['\\sqrt3+1', '\\sqrt{3}+1'],
    ['sqrt(2)', '\\sqrt{2}'],
    ['3/4', '\\frac{3}{4}'],
    ['x = 2+3 = 5', '5'],
    ['a = 1, b = 2', 'a = 1, b = 2'],
    ['\\frac{\\sqrt3}{3} \\approx 0.577', '\\frac{\\sqrt{3}}{3}'],
    ['14{,}916', '14916'],
    ['32, 349', '32, 349'],
    ['\\text{yes}', 'yes'],
    ['x = 5 m', 'x = 5 m'], // a single letter may be a variable: not a unit
  ])('%j -> %j', (raw, out) => {
    expect(normalizeForParsing(raw)).toBe(out);
  });
});
