// The request prompt for a mode: the mode's exact messages (src/chat/prompts.ts), sent as chat so the
// engine renders them with the model's own chat template.
import { buildMessages } from '../chat/prompts';
import type { GenerateRequest } from '../protocol/engine';
import type { UiMode } from '../state/settings';

export function promptFor(mode: UiMode, problem: string): GenerateRequest['prompt'] {
  return { kind: 'chat', messages: buildMessages(mode, problem) };
}
