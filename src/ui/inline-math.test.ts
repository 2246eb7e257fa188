import { describe, expect, it } from 'vitest';
import { katexReady, loadKatex, renderMath, splitMath } from './inline-math';

describe('splitMath', () => {
  it.each([
    ['no math here', [{ kind: 'text', text: 'no math here' }]],
    ['so $x^2$ holds', [{ kind: 'text', text: 'so ' }, { kind: 'math', tex: 'x^2', display: false }, { kind: 'text', text: ' holds' }]],
    ['a \\(y\\) b', [{ kind: 'text', text: 'a ' }, { kind: 'math', tex: 'y', display: false }, { kind: 'text', text: ' b' }]],
    ['$$\\sum_i i$$', [{ kind: 'math', tex: '\\sum_i i', display: true }]],
    ['\\[ a+b \\]', [{ kind: 'math', tex: 'a+b', display: true }]],
    ['costs $5 and $10', [{ kind: 'text', text: 'costs $5 and $10' }]],
    ['still writing $\\frac{1}{', [{ kind: 'text', text: 'still writing $\\frac{1}{' }]],
    ['`$x$` in code', [{ kind: 'text', text: '`$x$` in code' }]],
    ['```\necho $HOME $PATH\n```', [{ kind: 'text', text: '```\necho $HOME $PATH\n```' }]],
    ['escaped \\$x$ stays', [{ kind: 'text', text: 'escaped \\$x$ stays' }]],
  ])('%j', (text, pieces) => {
    expect(splitMath(text)).toEqual(pieces);
  });

  it('keeps every character of the text, in order', () => {
    const text = 'Let $a=1$ and \\(b\\), then $$c$$ and `$d$` and $5 but \\[e\\] end $';
    const back = splitMath(text)
      .map((p) => (p.kind === 'text' ? p.text : p.tex))
      .join('');
    expect(back.replace(/[$\\()[\]]/g, '')).toBe(text.replace(/[$\\()[\]]/g, ''));
  });
});

describe('renderMath', () => {
  it('is null until KaTeX has loaded, then renders', async () => {
    expect(katexReady()).toBe(false);
    expect(renderMath('x^2', false)).toBeNull();
    await loadKatex();
    expect(katexReady()).toBe(true);
    expect(renderMath('x^2', false)).toContain('class="katex"');
  });

  it('renders KaTeX HTML, a boxed expression with its box', () => {
    const html = renderMath('\\boxed{42}', false);
    expect(html).toContain('class="katex"');
    expect(html).toContain('fbox');
  });

  it('shows an error in place instead of throwing', () => {
    expect(renderMath('\\frac{', false)).toContain('katex-error');
  });
});
