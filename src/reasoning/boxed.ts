// \boxed{...} extraction, as NeMo-Skills grades math: take the LAST `\boxed`, walk forward counting braces
// until the count returns to zero; the answer is the inside of `\boxed{...}`. No escape handling.
// Unclosed braces, or anything between `\boxed` and its `{` (`\boxed 5`), give no answer.

const BOXED = '\\boxed';

/** The content of the last \boxed{...} in the text, or null. */
export function extractBoxed(text: string): string | null {
  const start = text.lastIndexOf(BOXED);
  if (start < 0) return null;
  const open = start + BOXED.length;
  if (text[open] !== '{') return null;
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) return text.slice(open + 1, i);
    }
  }
  return null;
}
