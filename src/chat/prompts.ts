// The prompts for each mode, with the exact texts the model was trained and evaluated with
// (NeMo-Skills' prompt configs generic/math, eval/aai/mcq-4choices-boxed and generic/hle, and the model card's
// code prompt), and the modes' labels for the UI.
import type { Mode } from '../protocol/engine';
import { MODE_LIST } from '../protocol/lists';
import type { ChatMessage } from './template';

export type { Mode };

/** The multiple-choice letters of the science modes. */
export const CHOICES_4 = 'ABCD';
export const CHOICES_10 = 'ABCDEFGHIJ';

export interface ModeInfo {
  mode: Mode;
  label: string;
  description: string;
  /** The letters of a multiple-choice mode, '' otherwise. */
  letters: string;
}

export const MODES: Readonly<Record<Mode, ModeInfo>> = {
  raw: {
    mode: 'raw',
    label: 'Raw text',
    description: 'No chat template: the model continues your text as written.',
    letters: '',
  },
  chat: {
    mode: 'chat',
    label: 'Chat',
    description: 'Your message as it is, in a chat turn. The model thinks first, then answers.',
    letters: '',
  },
  math: {
    mode: 'math',
    label: 'Math',
    description: 'A math problem. The model reasons, then puts the final answer in \\boxed{}.',
    letters: '',
  },
  code: {
    mode: 'code',
    label: 'Code',
    description: 'A programming problem. The model reasons, then writes the solution in one Python code block.',
    letters: '',
  },
  science4: {
    mode: 'science4',
    label: 'Science, 4 choices',
    description: 'A multiple-choice question with options A-D (GPQA style). Include the options in your text.',
    letters: CHOICES_4,
  },
  science10: {
    mode: 'science10',
    label: 'Science, 10 choices',
    description: 'A multiple-choice question with options A-J (MMLU-Pro style). Include the options in your text.',
    letters: CHOICES_10,
  },
  'science-open': {
    mode: 'science-open',
    label: 'Science, open answer',
    description: 'A question with a short free-form answer (HLE style): explanation, answer and confidence.',
    letters: '',
  },
};

export { MODE_LIST };

export function isMode(x: unknown): x is Mode {
  return typeof x === 'string' && Object.hasOwn(MODES, x);
}

const MATH = (problem: string): string =>
  `Solve the following math problem. Make sure to put the answer (and only answer) inside \\boxed{}.\n\n${problem}`;

const CODE = (problem: string): string =>
  'You are a helpful and harmless assistant. You should think step-by-step before responding to the instruction below.\n\n' +
  'Please use python programming language only.\n\n' +
  'You must use ```python for just the final solution code block with the following format:\n' +
  '```python\n# Your code here\n```\n\n' +
  problem;

const MCQ = (letters: string, problem: string): string => {
  const options = [...letters].join('/');
  return (
    `Answer the following multiple choice question. The last line of your response should be in the following format: ` +
    `'Answer: \\boxed{${options}}' (e.g. 'Answer: \\boxed{A}').\n\n${problem}`
  );
};

/** The HLE system message; the doubled braces are sent literally, as in the evaluation. */
export const SCIENCE_OPEN_SYSTEM =
  'Your response should be in the following format:\n' +
  'Explanation: {{your explanation for your final answer}}\n' +
  'Answer: {{your succinct, final answer}}\n' +
  'Confidence: {{your confidence score between 0% and 100% for your answer}}';

/**
 * A chat of one user turn after a system turn. The system turn is empty by default: the model was trained
 * with an empty system turn, which the Qwen2.5 template would otherwise replace with its default prompt.
 */
export function userTurn(content: string, system = ''): ChatMessage[] {
  return [
    { role: 'system', content: system },
    { role: 'user', content },
  ];
}

/**
 * The chat messages for a problem in a mode. 'raw' is not a chat (the text goes to the model as it is,
 * without the template), so it gives null.
 */
export function buildMessages(mode: 'raw', problem: string): null;
export function buildMessages(mode: Exclude<Mode, 'raw'>, problem: string): ChatMessage[];
export function buildMessages(mode: Mode, problem: string): ChatMessage[] | null;
export function buildMessages(mode: Mode, problem: string): ChatMessage[] | null {
  switch (mode) {
    case 'raw':
      return null;
    case 'chat':
      return userTurn(problem);
    case 'math':
      return userTurn(MATH(problem));
    case 'code':
      return userTurn(CODE(problem));
    case 'science4':
      return userTurn(MCQ(CHOICES_4, problem));
    case 'science10':
      return userTurn(MCQ(CHOICES_10, problem));
    case 'science-open':
      return userTurn(problem, SCIENCE_OPEN_SYSTEM);
  }
}
