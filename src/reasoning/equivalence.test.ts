// Answer equivalence, one table per rule of docs/answers.md. Every case is checked in both argument
// orders: the verdict does not depend on which answer is the reference.
import { beforeAll, describe, expect, it } from 'vitest';
import { answersEquivalent, literalVerdict, loadSymbolicEquivalence, stripDecorations, symbolicEquivalenceLoaded } from './equivalence';

type Case = [string, string, boolean];

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    it.each(cases)('%j ~ %j -> %s', (a, b, eq) => {
      expect(answersEquivalent(a, b)).toBe(eq);
      expect(answersEquivalent(b, a)).toBe(eq);
    });
  });
}

beforeAll(async () => {
  await loadSymbolicEquivalence();
});

describe('missing answers', () => {
  it('equal nothing, not even each other', () => {
    expect(answersEquivalent(null, '1')).toBe(false);
    expect(answersEquivalent('1', undefined)).toBe(false);
    expect(answersEquivalent(null, null)).toBe(false);
  });
});

table('option letters', [
  ['B', 'B', true],
  ['B', '(B)', true],
  ['C', '\\text{C}', true],
  ['D', '**D**', true],
  ['A', 'Answer: A', true],
  ['B', 'C', false],
  ['B', 'b', false],
  ['A', '(A) 3 m/s', false],
]);

table('percent after a plain number, trailing full stops', [
  ['50\\%', '50', true],
  ['12.5%', '12.5', true],
  ['10.', '10', true],
  ['7\\\\', '7', true],
  ['50\\%', '0.5', false],
  ['x\\%', 'x', false],
]);

table('literal stage after normalization', [
  ['\\dfrac{1}{2}', '\\frac{1}{2}', true],
  ['\\left( 1, 2 \\right)', '(1,2)', true],
  ['$x^2$', 'x^2', true],
  ['\\$10', '10', true],
  ['5\\!000', '5000', true],
  ['\\displaystyle \\frac{3}{4}', '\\frac34', true],
  ['\\mathrm{cm}', 'cm', true],
  ['\\textbf{7}', '7', true],
  ['\\text{yes}', 'yes', true],
  ['1, 2 and 3', '1,2,3', true],
  ['North', 'north', false],
  ['32 349', '32349', true], // digits and spaces only: compared without the spaces
  ['red, blue', 'blue, red', false], // words are compared literally
]);

table('thousands separators', [
  ['14{,}916', '14916', true],
  ['1,000', '1000', true],
  ['1,234,567', '1234567', true],
  ['32, 349', '32349', false], // a list of two numbers, not a thousands separator
  ['1,2', '12', false],
]);

table('variable prefixes and equations', [
  ['x = 11', '11', true],
  ['k=\\frac{1}{2}', '0.5', true],
  ['x = 11', 'y = 11', false],
  ['x = 11', '12', false],
  ['y = 2x+1', '2x - y + 1 = 0', true],
  ['y = 2x+1', 'y = 2x - 1', false],
  ['x = 2 + 3 = 5', '5', true],
]);

table('units and words after a value', [
  ['10\\text{ units}', '10', true],
  ['5 cm', '5', true],
  ['12 apples', '12', true],
  ['3\\text{ m}^2', '3', true],
  ['90^\\circ', '90', true],
  ['10\\text{ units}', '11', false],
]);

table('fractions and roots without braces, mixed numbers', [
  ['\\tfrac83', '\\frac{8}{3}', true],
  ['\\frac 1 2', '0.5', true],
  ['\\sqrt3', '\\sqrt{3}', true],
  ['\\cfrac{1}{2}', '\\frac12', true],
  ['2\\frac{1}{2}', '\\frac{5}{2}', true],
  ['3/8', '0.375', true],
  ['\\sqrt{8}', '2\\sqrt{2}', true],
  ['\\frac83', '\\frac38', false],
]);

table('numbers to 15 significant digits', [
  ['\\frac{1}{3}', '0.333333333333333', true],
  ['1.5\\times10^{3}', '1500', true],
  ['\\frac{1}{3}', '0.333333', false],
  ['1e-7', '0', false],
  ['3.0000001', '3', false],
  ['0.1', '0.10000001', false],
  ['10^{10^{10}}', '10^{10^{10}}+1', false],
  ['\\infty', '\\infty', true],
  ['-\\infty', '\\infty', false],
]);

table('approximations', [
  ['\\frac{\\sqrt3}{3} \\approx 0.577', '\\frac{1}{\\sqrt3}', true],
  ['\\frac{\\sqrt3}{3} \\approx 0.577', '0.577', false],
]);

table('algebraic equality', [
  ['(r+5)(r+5)', '(r+5)^2', true],
  ['x^2+2x+1', '(x+1)^2', true],
  ['\\frac{x^2-1}{x-1}', 'x+1', true],
  ['\\sin^2 x+\\cos^2 x', '1', true],
  ['x+1', 'y+1', false],
  ['x', 'x+10^{-12}', false],
  ['(r+5)^2', 'r^2+25', false],
]);

table('complex numbers', [
  ['2+3i', '3i+2', true],
  ['e^{i\\pi}', '-1', true],
  ['2+3i', '2-3i', false],
]);

table('sets, tuples and lists element-wise', [
  ['(1,\\frac{9}{2})', '(1,4.5)', true],
  ['\\{1,2\\}', '\\{2,1\\}', true],
  ['\\{1,2\\}', '2, 1', true],
  ['(1,2)', '(2,1)', false],
  ['(1,2,3)', '(1,2)', false],
  ['3\\pm\\sqrt2', '\\{3+\\sqrt2, 3-\\sqrt2\\}', true],
  ['3\\pm\\sqrt2', '3+\\sqrt2', false],
  ['x=2, y=3', '(2,3)', true],
  ['1, 2', '2, 1', true], // a list without brackets is a set of values
  ['(1, 2)', '2, 1', false],
]);

table('intervals, inequalities and memberships', [
  ['x \\le 3', '(-\\infty, 3]', true],
  ['x\\ge 2', '[2,\\infty)', true],
  ['1 < x \\le 2', '(1, 2]', true],
  ['x \\in (1,2]', '(1,2]', true],
  ['x<3 \\lor x>4', '(-\\infty,3)\\cup(4,\\infty)', true],
  ['x > 2', '[2,\\infty)', false],
  ['[1,2)', '(1,2]', false],
  ['x \\le 3', '3 \\ge x', true],
  ['\\mathbb{R}', '(-\\infty,\\infty)', true],
  ['x < 3', '(-\\infty, 3)', true],
  ['x > 3', '(-\\infty, 3)', false],
]);

table('matrices', [
  ['\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}', '\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}', true],
  ['\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}', '\\begin{pmatrix}1&2\\\\3&5\\end{pmatrix}', false],
  ['\\begin{pmatrix}1&\\frac12\\end{pmatrix}', '\\begin{pmatrix}1&0.5\\end{pmatrix}', true],
]);

describe('the stages', () => {
  it('strips a percent only from a plain number, then trailing stops', () => {
    expect(stripDecorations('50\\%')).toBe('50');
    expect(stripDecorations('a\\%')).toBe('a\\%');
    expect(stripDecorations('12...')).toBe('12');
  });

  it('leaves undecided what only the symbolic stage can decide', () => {
    expect(literalVerdict('(r+5)(r+5)', '(r+5)^2')).toBeUndefined();
    expect(literalVerdict('abc', 'abd')).toBe(false);
    expect(literalVerdict('12', '12')).toBe(true);
    expect(symbolicEquivalenceLoaded()).toBe(true);
  });
});

describe('bounded work on hostile answers', () => {
  const hostile: string[] = [
    '9'.repeat(100_000),
    '\\frac{'.repeat(500) + '1' + '}{2}'.repeat(500),
    '(10^{10^{10}})!',
    '\\sum_{i=1}^{10^{9}} i',
    '2^{2^{2^{2^{2^{2}}}}}',
    '\\sqrt{'.repeat(2000),
    '{'.repeat(5000) + '}'.repeat(5000),
    'x^{'.repeat(300) + '2' + '}'.repeat(300),
  ];
  it.each(hostile.map((h) => [h.slice(0, 40), h]))('%j returns "not equal" quickly', (_label, h) => {
    const t0 = performance.now();
    expect(answersEquivalent(h, '5')).toBe(false);
    expect(answersEquivalent('5', h)).toBe(false);
    // Generous: the limit is 250 ms per comparison; what matters is that it returns at all.
    expect(performance.now() - t0).toBeLessThan(3000);
  });
});
