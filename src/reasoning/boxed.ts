// \boxed{...} extraction, as NeMo-Skills grades math: take the LAST `\boxed`, walk forward counting braces
// until the count returns to zero; the answer is the inside of `\boxed{...}`. No escape handling.
// Unclosed braces, or anything between `\boxed` and its `{` (`\boxed 5`), give no answer.
// A text with no `\boxed` at all is read the same way from its last `\fbox` (the grader's code has that
// branch, though its early return for texts without `\boxed` never reaches it; see docs/answers.md).

const BOXED = '\\boxed';
const FBOX = '\\fbox';

/** The index of the `}` closing the `{` at `open`, or -1. */
function closingBrace(text: string, open: number, end = text.length): number {
  let depth = 0;
  for (let i = open; i < end; i++) {
    const c = text[i];
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

/** The content of the last \boxed{...} (else the last \fbox{...}) in the text, or null. */
export function extractBoxed(text: string): string | null {
  let start = text.lastIndexOf(BOXED);
  let command = BOXED;
  if (start < 0) {
    start = text.lastIndexOf(FBOX);
    command = FBOX;
  }
  if (start < 0) return null;
  const open = start + command.length;
  if (text[open] !== '{') return null;
  const close = closingBrace(text, open);
  return close < 0 ? null : text.slice(open + 1, close);
}

/**
 * Every `\boxed{...}`/`\fbox{...}` content of the text (spaces allowed before the brace), in order, with
 * consecutive repeats dropped, joined by commas; the text itself when it has none. An unclosed last box
 * contributes the rest of the text. This is how an answer that still contains boxes is normalized.
 */
export function boxedContents(text: string): string {
  if (!text.includes(BOXED) && !text.includes(FBOX)) return text;
  const parts: string[] = [];
  const re = /\\(?:boxed|fbox)(?![a-zA-Z])\s*/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const open = m.index + m[0].length;
    if (text[open] !== '{') continue;
    const close = closingBrace(text, open);
    const content = close < 0 ? text.slice(open) : text.slice(open + 1, close).trim();
    if (parts[parts.length - 1] !== content) parts.push(content);
    if (close < 0) break;
    re.lastIndex = close + 1;
  }
  return parts.length === 0 ? text : parts.join(',');
}
