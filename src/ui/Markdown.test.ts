// The Markdown renderer on hostile model output: nothing executable survives, and the good parts
// (math, code, safe links) still render. Rendered to a string with react-dom/server.
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { Markdown, normalizeMath, safeUrl } from './Markdown';
import MarkdownRender from './markdown-render';

const render = (text: string) => renderToStaticMarkup(createElement(MarkdownRender, { text }));

/** Every tag name and attribute name in the markup (a small scanner; the output is React's, well formed). */
function tagsAndAttrs(html: string): { tags: string[]; attrs: string[] } {
  const tags: string[] = [];
  const attrs: string[] = [];
  for (const m of html.matchAll(/<([a-zA-Z][\w-]*)([^>]*)>/g)) {
    tags.push(m[1].toLowerCase());
    for (const a of m[2].matchAll(/\s([^\s=/>]+)(?:="[^"]*")?/g)) attrs.push(a[1].toLowerCase());
  }
  return { tags, attrs };
}

const HOSTILE = [
  '<script>window.pwned=1</script>',
  '<img src=x onerror="window.pwned=1">',
  '<svg onload="window.pwned=1"><circle r=1></svg>',
  '<iframe src="javascript:alert(1)"></iframe>',
  '[click](javascript:alert(1))',
  '[click2](JaVaScRiPt:alert(1))',
  '[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
  '![x](javascript:alert(1))',
  '![tracker](https://example.com/t.png)',
  '<a href="javascript:alert(1)">a</a>',
  '<div style="background:url(javascript:alert(1))" onclick="alert(1)">d</div>',
  '$\\href{javascript:alert(1)}{x}$',
  '$$\\url{javascript:alert(1)}$$',
  '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
  '```html\n<script>alert(1)</script>\n```',
  '<details open ontoggle=alert(1)>',
].join('\n\n');

describe('Markdown renderer', () => {
  it('shows hostile text as escaped plain text while the renderer chunk loads', () => {
    const html = renderToStaticMarkup(createElement(Markdown, { text: HOSTILE }));
    expect(html).toMatch(/^<div class="markdown markdown-loading">/);
    expect(tagsAndAttrs(html).tags).toEqual(['div']);
    expect(html).toContain('&lt;script&gt;window.pwned=1&lt;/script&gt;');
  });

  it('lets no script, event handler, javascript: URL, iframe or image through', () => {
    const html = render(HOSTILE);
    const { tags, attrs } = tagsAndAttrs(html);
    for (const bad of ['script', 'iframe', 'img', 'svg', 'style', 'object', 'embed', 'details', 'mglyph']) {
      expect(tags, `tag <${bad}> in output`).not.toContain(bad);
    }
    expect(attrs.filter((a) => a.startsWith('on'))).toEqual([]);
    // KaTeX writes its own inline styles; none may come from the model
    for (const m of html.matchAll(/style="([^"]*)"/g)) expect(m[1]).not.toMatch(/url\(|javascript|expression/i);
    expect(attrs).not.toContain('src');
    // every href that survives is absolute http(s)
    for (const m of html.matchAll(/href="([^"]*)"/g)) expect(m[1]).toMatch(/^https?:\/\//);
    expect(html.toLowerCase()).not.toMatch(/href="\s*(javascript|data):/);
    // the HTML the model wrote is still visible, as text
    expect(html).toContain('&lt;script&gt;window.pwned=1&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=&quot;window.pwned=1&quot;&gt;');
  });

  it('renders math with KaTeX, code with highlighting, tables, and safe links with noopener', () => {
    const html = render('Sum: $\\frac{a}{b}$ and\n\n$$\n\\int_0^1 x\\,dx\n$$\n\n```python\ndef f(x):\n    return x + 1\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nSee [docs](https://example.org/a?b=1).');
    expect(html).toContain('class="katex"');
    expect(html).toContain('katex-display');
    expect(html).toMatch(/<code class="hljs language-python">/);
    expect(html).toContain('hljs-keyword');
    expect(html).toContain('<table>');
    expect(html).toContain('href="https://example.org/a?b=1"');
    expect(html).toContain('rel="noopener noreferrer nofollow"');
  });

  it('renders \\[ \\] and \\( \\) math delimiters', () => {
    expect(normalizeMath('a \\(x^2\\) b \\[y\\]')).toBe('a $x^2$ b \n$$\ny\n$$\n');
    expect(render('so \\(x^2\\) holds')).toContain('class="katex"');
    expect(normalizeMath('```py\nre.compile(r"\\[a\\]")\n```\nand `\\(x\\)`')).toBe('```py\nre.compile(r"\\[a\\]")\n```\nand `\\(x\\)`');
    expect(render('so\n\\[\\sum_i i\\]\nholds')).toContain('katex-display');
  });

  it('keeps only absolute http(s) URLs', () => {
    expect(safeUrl('https://a.b/c')).toBe('https://a.b/c');
    expect(safeUrl('http://a.b')).toBe('http://a.b/');
    for (const u of ['javascript:alert(1)', ' JAVASCRIPT:x', 'data:text/html,x', 'vbscript:x', '/relative', '#frag', 'mailto:a@b.c', 'file:///etc/passwd', '']) {
      expect(safeUrl(u), u).toBe('');
    }
  });
});
