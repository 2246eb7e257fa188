// How the modes appear on screen: labels and descriptions come from src/chat/prompts.ts (one source
// with the prompts themselves); the placeholders are the UI's own.
import { MODES } from '../chat/prompts';
import type { UiMode } from '../state/settings';

const PLACEHOLDER: Record<UiMode, string> = {
  math: 'Find all real x such that x^2 - 5x + 6 = 0.',
  code: 'Write a function that returns the n-th Fibonacci number modulo 10^9+7.',
  science4: 'Which particle mediates the electromagnetic force?\nA) gluon\nB) photon\nC) W boson\nD) graviton',
  science10: 'A question, then its choices A) … J)',
  'science-open': 'Why is the sky blue?',
  chat: 'Ask anything.',
};

export function modeLabel(m: UiMode): string {
  return m === 'code' ? `${MODES.code.label} (Python)` : MODES[m].label;
}

export const MODE_INFO: Record<UiMode, { label: string; hint: string; placeholder: string }> = Object.fromEntries(
  (Object.keys(PLACEHOLDER) as UiMode[]).map((m) => [m, { label: modeLabel(m), hint: MODES[m].description, placeholder: PLACEHOLDER[m] }]),
) as Record<UiMode, { label: string; hint: string; placeholder: string }>;
