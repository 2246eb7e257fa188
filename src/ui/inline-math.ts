// Math in streaming plain text (the reasoning panel): the text is split into plain pieces and math pieces
// (`$...$`, `$$...$$`, `\(...\)`, `\[...\]`), code spans and fences left as text. A delimiter still open at the
// end (math being written) stays plain until it closes. Math pieces are rendered by KaTeX once each and cached,
// so a re-render while tokens stream only renders the math that is new. KaTeX itself loads on first use
// (loadKatex): until then a formula shows as its TeX source.
import type KatexModule from 'katex';
type Katex = typeof KatexModule;
let katex: Katex | null = null;
let loading: Promise<Katex> | null = null;

/** Loads KaTeX once (a separate chunk, shared with the Markdown renderer); resolves when renderMath works. */
export function loadKatex(): Promise<void> {
  loading ??= import('katex').then((m) => (katex = m.default));
  return loading.then(() => undefined);
}

/** True once KaTeX has loaded. */
export function katexReady(): boolean {
  return katex !== null;
}

export type Piece = { kind: 'text'; text: string } | { kind: 'math'; tex: string; display: boolean };

/** Math longer than this stays plain text. */
const MAX_TEX = 2000;

// Code first (so a `$` inside code is not math), then display math, then inline math. A single `$` opens only
// when not followed by a space and closes only when not preceded by one and not followed by a digit, so
// "costs $5 and $10" stays text.
const PIECES = /(```[\s\S]*?(?:```|$)|`[^`\n]*`)|\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\]|\\\(([\s\S]+?)\\\)|(?<![\\$])\$(?![\s$])((?:\\.|[^$\\\n])+?)(?<![\s\\])\$(?!\d)/g;

export function splitMath(text: string): Piece[] {
  const out: Piece[] = [];
  let last = 0;
  const pushText = (s: string) => {
    if (s === '') return;
    const prev = out[out.length - 1];
    if (prev?.kind === 'text') prev.text += s;
    else out.push({ kind: 'text', text: s });
  };
  for (const m of text.matchAll(PIECES)) {
    const start = m.index;
    pushText(text.slice(last, start));
    last = start + m[0].length;
    const tex = m[2] ?? m[3] ?? m[4] ?? m[5];
    if (m[1] !== undefined || tex === undefined || tex.trim() === '' || tex.length > MAX_TEX) pushText(m[0]);
    else out.push({ kind: 'math', tex: tex.trim(), display: m[2] !== undefined || m[3] !== undefined });
  }
  pushText(text.slice(last));
  return out;
}

const OPTIONS = { throwOnError: false, strict: 'ignore' as const, trust: false, maxExpand: 200, maxSize: 50, output: 'html' as const };
const cache = new Map<string, string>();
const CACHE_SIZE = 1000;

/** KaTeX's HTML for a math piece (its errors shown in place, as KaTeX does with throwOnError off); null before loadKatex. */
export function renderMath(tex: string, display: boolean): string | null {
  if (!katex) return null;
  const key = (display ? 'D' : 'I') + tex;
  let html = cache.get(key);
  if (html === undefined) {
    html = katex.renderToString(tex, { ...OPTIONS, displayMode: display });
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(key, html);
  }
  return html;
}
