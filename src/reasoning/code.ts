// Code answer extraction: the text after the last `</think>`, then its first ```python fenced block
// (fallback: its first fenced block of any language). A block left unclosed runs to the end of the text.
import { THINK_CLOSE } from './think';

function firstBlock(text: string, fence: RegExp): string | null {
  const m = fence.exec(text);
  if (!m) return null;
  const body = text.slice(m.index + m[0].length);
  const end = body.indexOf('```');
  return (end >= 0 ? body.slice(0, end) : body).replace(/\s+$/, '');
}

/** The solution code, or null when the answer has no fenced block. Text with no `</think>` is used whole. */
export function extractCode(text: string): string | null {
  const close = text.lastIndexOf(THINK_CLOSE);
  const answer = close >= 0 ? text.slice(close + THINK_CLOSE.length) : text;
  return firstBlock(answer, /```python[^\S\n]*\n/) ?? firstBlock(answer, /```[^\s`]*[^\S\n]*\n/);
}
