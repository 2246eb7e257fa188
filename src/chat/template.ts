// Chat template rendering with the model's own `chat_template` (Jinja, from tokenizer_config.json),
// through @huggingface/jinja. Templates are compiled once and cached by their text.
import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { BoxedError } from '../protocol/errors';
import { jinjaGlobals, TemplateRaised } from './jinja-globals';

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface RenderOptions {
  /** Append the assistant turn's opening (`<|im_start|>assistant\n` for ChatML) so the model answers. */
  addGenerationPrompt: boolean;
  bosToken?: string;
  eosToken?: string;
}

const ROLES: ReadonlySet<string> = new Set<ChatRole>(['system', 'user', 'assistant']);
const FILE = 'tokenizer_config.json';
/** Few templates are ever in use at once (one model, maybe a judge); keep the newest few compiled. */
const CACHE_LIMIT = 8;
const cache = new Map<string, Template>();

function compile(template: string): Template {
  const hit = cache.get(template);
  if (hit) return hit;
  let compiled: Template;
  try {
    compiled = new Template(template);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new BoxedError('ModelFormat', `chat_template does not parse: ${why}`, { file: FILE, cause });
  }
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(template, compiled);
  return compiled;
}

function checkMessages(messages: ReadonlyArray<ChatMessage>): void {
  for (const m of messages) {
    if (typeof m !== 'object' || m === null || !ROLES.has(m.role) || typeof m.content !== 'string') {
      throw new BoxedError('InvalidRequest', `not a chat message: ${JSON.stringify(m)}`);
    }
  }
}

/**
 * The text the model receives for the messages, rendered with `template`.
 * A template that does not parse or fails while rendering -> BoxedError('ModelFormat', file
 * tokenizer_config.json); messages the template rejects itself (raise_exception) or malformed
 * messages -> BoxedError('InvalidRequest').
 */
export function renderChat(template: string, messages: ReadonlyArray<ChatMessage>, opts: RenderOptions): string {
  if (typeof template !== 'string' || template === '') {
    throw new BoxedError('ModelFormat', 'no chat_template', { file: FILE });
  }
  checkMessages(messages);
  const compiled = compile(template);
  try {
    const env = new Environment();
    const vars: Record<string, unknown> = {
      ...jinjaGlobals(),
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      add_generation_prompt: opts.addGenerationPrompt,
      bos_token: opts.bosToken ?? '',
      eos_token: opts.eosToken ?? '',
    };
    for (const [name, value] of Object.entries(vars)) env.set(name, value);
    const out = new Interpreter(env).run(compiled.parsed).value;
    if (typeof out !== 'string') throw new Error('the template did not produce text');
    return out;
  } catch (cause) {
    if (cause instanceof TemplateRaised) {
      throw new BoxedError('InvalidRequest', `the chat template rejected the messages: ${cause.message}`, { cause });
    }
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new BoxedError('ModelFormat', `chat_template failed to render: ${why}`, { file: FILE, cause });
  }
}
