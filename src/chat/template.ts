// Chat template rendering with the model's own `chat_template` (Jinja, from tokenizer_config.json),
// through @huggingface/jinja. Templates are compiled once and cached by their text.
import { Environment, Template } from '@huggingface/jinja';
import { BoxedError } from '../protocol/errors';
import { jinjaGlobals, TemplateRaised } from './jinja-globals';
import { BudgetedInterpreter, DEFAULT_TEMPLATE_BUDGET, MAX_TEMPLATE_CHARS, TemplateBudgetExceeded, type TemplateBudget } from './template-budget';

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
  /** Limits on time, steps and text for one render (template-budget.ts). */
  budget?: TemplateBudget;
}

const ROLES: ReadonlySet<string> = new Set<ChatRole>(['system', 'user', 'assistant']);
const FILE = 'tokenizer_config.json';
/** Few templates are ever in use at once (one model, maybe a judge); keep the newest few compiled. */
const CACHE_LIMIT = 8;
const cache = new Map<string, Template>();

function compile(template: string): Template {
  const hit = cache.get(template);
  if (hit) return hit;
  if (template.length > MAX_TEMPLATE_CHARS) {
    throw new BoxedError('ModelFormat', `chat_template is ${template.length.toLocaleString('en-US')} characters long (limit ${MAX_TEMPLATE_CHARS.toLocaleString('en-US')})`, { file: FILE });
  }
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
 * A template that does not parse, fails while rendering or exceeds its budget (time, steps, text; see
 * template-budget.ts) -> BoxedError('ModelFormat', file tokenizer_config.json); messages the template rejects itself (raise_exception) or malformed
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
    const out = new BudgetedInterpreter(env, opts.budget ?? DEFAULT_TEMPLATE_BUDGET).run(compiled.parsed).value;
    if (typeof out !== 'string') throw new Error('the template did not produce text');
    return out;
  } catch (cause) {
    if (cause instanceof TemplateRaised) {
      throw new BoxedError('InvalidRequest', `the chat template rejected the messages: ${cause.message}`, { cause });
    }
    if (cause instanceof TemplateBudgetExceeded) {
      throw new BoxedError('ModelFormat', `chat_template exceeded its rendering budget: ${cause.message}`, { file: FILE, cause });
    }
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new BoxedError('ModelFormat', `chat_template failed to render: ${why}`, { file: FILE, cause });
  }
}
