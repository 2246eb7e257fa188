// The text side of rendering model output as Markdown, light enough for the first page: link filtering and
// the rewriting of LaTeX delimiters. The renderer itself (react-markdown, KaTeX, highlight.js) is in
// markdown-render.tsx and loads on first use (Markdown.tsx).

/** Keeps absolute http and https URLs; everything else (javascript:, data:, relative, ...) becomes ''. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url.trim());
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : '';
  } catch {
    return '';
  }
}

/**
 * Model text to Markdown; `\[...\]` and `\(...\)` (common in model output) become `$$` blocks and `$`.
 * Code (fenced blocks, also unfinished ones while streaming, and inline code) is left untouched.
 */
export function normalizeMath(text: string): string {
  return text
    .split(/(```[\s\S]*?(?:```|$)|`[^`\n]*`)/)
    .map((part, i) =>
      i % 2 === 1
        ? part
        : part
            .replace(/\\\[([\s\S]*?)\\\]/g, (_m, inner: string) => `\n$$\n${inner.trim()}\n$$\n`)
            .replace(/\\\(([\s\S]*?)\\\)/g, (_m, inner: string) => `$${inner}$`),
    )
    .join('');
}

