// The final answer of a finished generation, read the way each mode asks for it (model-facts.md,
// "Reading answers"). Everything is read from the text after the last `</think>`: a generation that has
// not finished thinking has no answer.
import { CHOICES_10, CHOICES_4 } from '../chat/prompts';
import type { Mode } from '../protocol/engine';
import { extractBoxed } from './boxed';
import { extractChoice } from './choice';
import { extractCode } from './code';
import { splitThinking } from './think';

/** An "Answer: ..." line, as the open-answer (HLE) format asks for; markdown emphasis around it allowed. */
const ANSWER_LINE = /^[ \t]*[*_]{0,2}Answer[*_]{0,2}[ \t]*:[ \t*_]*(.*?)[ \t*_]*$/gim;

/** The last "Answer: ..." line's value, or null. */
export function extractAnswerLine(text: string): string | null {
  let last: string | null = null;
  for (const m of text.matchAll(ANSWER_LINE)) if (m[1] !== '') last = m[1];
  return last;
}

/**
 * The answer for the mode, or null when there is none (still thinking, or no answer in the expected form):
 * math -> \boxed content; science4/science10 -> the letter; code -> the first ```python block;
 * science-open -> the last "Answer:" line (fallback \boxed); chat and raw -> \boxed content if any.
 */
export function extractAnswer(mode: Mode, text: string): string | null {
  const { answer } = splitThinking(text);
  if (answer === null) return null;
  switch (mode) {
    case 'math':
    case 'chat':
    case 'raw':
      return extractBoxed(answer);
    case 'science4':
      return extractChoice(answer, CHOICES_4);
    case 'science10':
      return extractChoice(answer, CHOICES_10);
    case 'code':
      return extractCode(answer);
    case 'science-open':
      return extractAnswerLine(answer) ?? extractBoxed(answer);
  }
}
