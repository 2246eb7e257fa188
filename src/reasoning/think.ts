// Splitting a generation into its reasoning and its final answer. The model writes `<think>` itself (in
// Qwen2.5 it is ordinary text, not a special token), thinks, writes `</think>`, then the answer. The answer
// is the text after the LAST `</think>`; without one the model has not finished thinking.

export const THINK_OPEN = '<think>';
export const THINK_CLOSE = '</think>';

export interface ThinkSplit {
  /** The reasoning, without the opening `<think>` and the closing `</think>` tags. */
  thinking: string;
  /** The text after the last `</think>` (trimmed), or null while the model is still thinking. */
  answer: string | null;
  thinkingDone: boolean;
}

/** Length of the longest suffix of `text` that is a proper prefix of `tag` (a tag still being written). */
function partialTagSuffix(text: string, tag: string): number {
  for (let n = Math.min(tag.length - 1, text.length); n > 0; n--) {
    if (text.endsWith(tag.slice(0, n))) return n;
  }
  return 0;
}

/**
 * Splits a (possibly still streaming) generation. Text before the first `<think>` that is only whitespace
 * is dropped with the tag; other text before it stays part of the thinking. While thinking, a `</think>`
 * that is still being written ('...</thi') is held back from `thinking`, so a streaming view never shows it.
 */
export function splitThinking(text: string): ThinkSplit {
  const close = text.lastIndexOf(THINK_CLOSE);
  const done = close >= 0;
  let thinking = done ? text.slice(0, close) : text;
  if (!done) thinking = thinking.slice(0, thinking.length - partialTagSuffix(thinking, THINK_CLOSE));
  const open = thinking.indexOf(THINK_OPEN);
  if (open >= 0) {
    const before = thinking.slice(0, open);
    const after = thinking.slice(open + THINK_OPEN.length);
    thinking = before.trim() === '' ? after : before + after;
  } else if (!done) {
    // An opening tag still being written at the very start is not shown either.
    const lead = thinking.trimStart();
    if (lead.length < THINK_OPEN.length && THINK_OPEN.startsWith(lead)) thinking = '';
  }
  return {
    thinking: thinking.trim(),
    answer: done ? text.slice(close + THINK_CLOSE.length).trim() : null,
    thinkingDone: done,
  };
}
