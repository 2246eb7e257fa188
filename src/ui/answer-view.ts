// What the output panel shows for a generated text in a mode: the reasoning, the answer after the last
// `</think>`, and the extracted final answer (boxed expression, choice letter or Python block), all read
// by src/reasoning so the app and the evaluation agree.
import { MODES } from '../chat/prompts';
import { extractBoxed } from '../reasoning/boxed';
import { extractChoice } from '../reasoning/choice';
import { extractCode } from '../reasoning/code';
import { splitThinking } from '../reasoning/think';
import type { UiMode } from '../state/settings';

export type FinalAnswer = { kind: 'boxed'; value: string } | { kind: 'choice'; value: string } | { kind: 'code'; value: string };

export interface AnswerView {
  thinking: string;
  /** null while the model is still thinking. */
  answer: string | null;
  final: FinalAnswer | null;
}

export function answerView(mode: UiMode, text: string): AnswerView {
  const { thinking, answer } = splitThinking(text);
  if (answer === null) return { thinking, answer, final: null };
  const info = MODES[mode];
  let final: FinalAnswer | null = null;
  if (info.answerKind === 'boxed') {
    const v = extractBoxed(answer);
    if (v !== null) final = { kind: 'boxed', value: v };
  } else if (info.answerKind === 'choice') {
    const v = extractChoice(answer, info.letters);
    if (v !== null) final = { kind: 'choice', value: v };
  } else if (info.answerKind === 'code') {
    const v = extractCode(text);
    if (v !== null) final = { kind: 'code', value: v };
  }
  return { thinking, answer, final };
}
