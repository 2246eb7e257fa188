// The one reader of a generation's answer, for every mode: the app's output panel, the vote and the CLI
// all read answers here. The reasoning is split off first (think.ts); the answer is read only from the
// text after the last `</think>`, so a generation that has not finished thinking has no answer yet.
// How each mode's answer is read (docs/answers.md, "Reading answers"):
//   math, chat, raw -> the content of the last \boxed{} (\fbox{} when there is no \boxed)
//   science4 / science10 -> the option letter (choice.ts)
//   code -> the first ```python block (else the first fenced block)
//   science-open -> the last "Answer: ..." line, else the last \boxed{}
import { CHOICES_10, CHOICES_4 } from '../chat/prompts';
import type { Mode } from '../protocol/engine';
import { extractBoxed } from './boxed';
import { extractChoice } from './choice';
import { extractCode } from './code';
import { splitThinking } from './think';

/** What a mode's final answer is. */
export type AnswerKind = 'boxed' | 'choice' | 'code' | 'open';

export const ANSWER_KIND: Readonly<Record<Mode, AnswerKind>> = {
  math: 'boxed',
  chat: 'boxed',
  raw: 'boxed',
  science4: 'choice',
  science10: 'choice',
  code: 'code',
  'science-open': 'open',
};

export interface FinalAnswer {
  kind: AnswerKind;
  value: string;
}

export interface AnswerReading {
  /** The reasoning, without its tags. */
  thinking: string;
  /** The text after the last `</think>` (trimmed); null while the model is still thinking. */
  answer: string | null;
  /** The extracted answer, or null (still thinking, or no answer in the form the mode asks for). */
  final: FinalAnswer | null;
}

/** An "Answer: ..." line, as the open-answer (HLE) format asks for; markdown emphasis around it allowed. */
const ANSWER_LINE = /^[ \t]*[*_]{0,2}Answer[*_]{0,2}[ \t]*:[ \t*_]*(.*?)[ \t*_]*$/gim;

/** The last non-empty "Answer: ..." line's value, or null. */
export function extractAnswerLine(text: string): string | null {
  let last: string | null = null;
  for (const m of text.matchAll(ANSWER_LINE)) if (m[1] !== '') last = m[1];
  return last;
}

function extractFor(mode: Mode, answer: string): string | null {
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

/** Reads a (possibly still streaming) generation in a mode. */
export function readAnswer(mode: Mode, text: string): AnswerReading {
  const { thinking, answer } = splitThinking(text);
  if (answer === null) return { thinking, answer, final: null };
  const value = extractFor(mode, answer);
  return { thinking, answer, final: value === null ? null : { kind: ANSWER_KIND[mode], value } };
}

/** The extracted answer alone (what the vote groups), or null. */
export function extractAnswer(mode: Mode, text: string): string | null {
  return readAnswer(mode, text).final?.value ?? null;
}
