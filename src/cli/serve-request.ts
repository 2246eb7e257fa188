// `serve`: an OpenAI request body (already JSON-parsed) checked field by field into what the engine runs. Every
// refusal is an HttpError with OpenAI's error shape (status, type, param, code); fields Boxed does not use
// (user, presence_penalty 0, ...) are ignored, and fields that would change the answer's shape and that Boxed
// cannot honour (logprobs, echo, tools) are refused rather than silently dropped.
import type { GenerateRequest, SamplingParams } from '../protocol/engine';
import type { OpenAiChatMessage, OpenAiErrorBody } from '../protocol/openai';
import { GPU_MAX_SAMPLES } from '../protocol/lists';

/** The most stop strings per request (OpenAI's limit). */
export const MAX_STOPS = 4;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly type = status >= 500 ? 'server_error' : 'invalid_request_error',
  ) {
    super(message);
  }

  body(): OpenAiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export type Route = 'chat' | 'completions';

export interface ServeRequest {
  route: Route;
  prompt: GenerateRequest['prompt'];
  n: number;
  /** null: as many as the context leaves after the prompt */
  maxTokens: number | null;
  sampling: SamplingParams;
  stop: string[];
  stream: boolean;
  includeUsage: boolean;
  returnTokenIds: boolean;
}

export interface ServeLimits {
  /** The loaded model's id: a request's `model` must be it (or absent). */
  modelId: string;
  /** The largest n (the batch the model was loaded with). */
  maxN: number;
}

type Body = Record<string, unknown>;

const bad = (message: string, param: string | null = null) => new HttpError(400, message, param);

function optional<T>(b: Body, name: string, check: (v: unknown) => T): T | undefined {
  const v = b[name];
  return v === undefined || v === null ? undefined : check(v);
}

function num(name: string, lo: number, hi: number, opts: { integer?: boolean; loOpen?: boolean } = {}) {
  return (v: unknown): number => {
    const ok = typeof v === 'number' && Number.isFinite(v) && (opts.loOpen ? v > lo : v >= lo) && v <= hi && (!opts.integer || Number.isInteger(v));
    if (!ok) throw bad(`${name} must be ${opts.integer ? 'an integer' : 'a number'} in ${opts.loOpen ? '(' : '['}${lo}, ${hi}], got ${JSON.stringify(v)}`, name);
    return v as number;
  };
}

function bool(name: string) {
  return (v: unknown): boolean => {
    if (typeof v !== 'boolean') throw bad(`${name} must be true or false, got ${JSON.stringify(v)}`, name);
    return v;
  };
}

function messageContent(v: unknown, i: number): string {
  if (typeof v === 'string') return v;
  // content parts: only text parts
  if (Array.isArray(v)) {
    return v
      .map((p, j) => {
        const part = p as { type?: unknown; text?: unknown } | null;
        if (part && typeof part === 'object' && part.type === 'text' && typeof part.text === 'string') return part.text;
        throw bad(`messages[${i}].content[${j}] must be a text part ({type: 'text', text}); this model reads text only`, 'messages');
      })
      .join('');
  }
  throw bad(`messages[${i}].content must be a string or a list of text parts`, 'messages');
}

function messages(v: unknown): OpenAiChatMessage[] {
  if (!Array.isArray(v) || v.length === 0) throw bad('messages must be a non-empty list of {role, content}', 'messages');
  return v.map((m, i) => {
    const msg = m as { role?: unknown; content?: unknown } | null;
    if (!msg || typeof msg !== 'object') throw bad(`messages[${i}] must be an object {role, content}`, 'messages');
    const role = msg.role === 'developer' ? 'system' : msg.role;
    if (role !== 'system' && role !== 'user' && role !== 'assistant') {
      throw bad(`messages[${i}].role must be system, user or assistant, got ${JSON.stringify(msg.role)}`, 'messages');
    }
    return { role, content: messageContent(msg.content, i) };
  });
}

function promptText(v: unknown): string {
  const text = Array.isArray(v) && v.length === 1 ? v[0] : v;
  if (typeof text !== 'string') throw bad('prompt must be a string (one prompt per request)', 'prompt');
  if (text === '') throw bad('prompt is empty', 'prompt');
  return text;
}

function stops(v: unknown): string[] {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length > MAX_STOPS || !list.every((s) => typeof s === 'string' && s !== '')) {
    throw bad(`stop must be a non-empty string or a list of at most ${MAX_STOPS} non-empty strings`, 'stop');
  }
  return list as string[];
}

/** The body of POST /v1/chat/completions or /v1/completions as the engine's request; throws HttpError. */
export function parseServeRequest(route: Route, body: unknown, limits: ServeLimits): ServeRequest {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw bad('the request body must be a JSON object');
  const b = body as Body;
  const model = b.model;
  if (model !== undefined && typeof model !== 'string') throw bad('model must be a string', 'model');
  if (typeof model === 'string' && model !== limits.modelId) {
    throw new HttpError(404, `The model '${model}' does not exist: this server serves '${limits.modelId}'`, 'model', 'model_not_found');
  }
  if (b.logprobs !== undefined && b.logprobs !== null && b.logprobs !== false && b.logprobs !== 0) throw bad('logprobs are not supported by this server', 'logprobs');
  if (b.echo === true) throw bad('echo is not supported by this server', 'echo');
  if (Array.isArray(b.tools) && b.tools.length > 0) throw bad('tools are not supported by this server', 'tools');
  const prompt: GenerateRequest['prompt'] = route === 'chat' ? { kind: 'chat', messages: messages(b.messages) } : { kind: 'raw', text: promptText(b.prompt) };
  const maxN = Math.max(1, limits.maxN);
  const n = optional(b, 'n', (v) => {
    if (typeof v === 'number' && Number.isInteger(v) && v > maxN && v <= GPU_MAX_SAMPLES) {
      throw bad(`n is ${v} but this server decodes at most ${maxN} at once: start serve with --batch ${v}`, 'n');
    }
    return num('n', 1, maxN, { integer: true })(v);
  }) ?? 1;
  const maxCompletion = optional(b, 'max_completion_tokens', num('max_completion_tokens', 1, 1 << 24, { integer: true }));
  const maxTokens = maxCompletion ?? optional(b, 'max_tokens', num('max_tokens', 1, 1 << 24, { integer: true })) ?? null;
  const topK = optional(b, 'top_k', num('top_k', -1, 1 << 20, { integer: true })) ?? 0;
  const seed = optional(b, 'seed', (v) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw bad(`seed must be an integer, got ${JSON.stringify(v)}`, 'seed');
    return v;
  });
  const sampling: SamplingParams = {
    temperature: optional(b, 'temperature', num('temperature', 0, 2)) ?? 1,
    topP: optional(b, 'top_p', num('top_p', 0, 1, { loOpen: true })) ?? 1,
    topK: topK < 0 ? 0 : topK,
    // the engine's coins take a 32-bit seed; without one each request draws its own
    seed: (seed ?? Math.floor(Math.random() * 2 ** 32)) >>> 0,
  };
  const stream = optional(b, 'stream', bool('stream')) ?? false;
  const streamOptions = b.stream_options;
  let includeUsage = false;
  if (streamOptions !== undefined && streamOptions !== null) {
    if (!stream) throw bad('stream_options can only be given with stream: true', 'stream_options');
    if (typeof streamOptions !== 'object' || Array.isArray(streamOptions)) throw bad('stream_options must be an object', 'stream_options');
    includeUsage = optional(streamOptions as Body, 'include_usage', bool('stream_options.include_usage')) ?? false;
  }
  return {
    route,
    prompt,
    n,
    maxTokens,
    sampling,
    stop: optional(b, 'stop', stops) ?? [],
    stream,
    includeUsage,
    returnTokenIds: optional(b, 'return_token_ids', bool('return_token_ids')) ?? false,
  };
}

/**
 * Text that ends at the first stop string, streamed without ever sending part of one: push() returns the text
 * that can be sent now, holding back a tail that could still become a stop string.
 */
export class StopScanner {
  private text = '';
  private sent = 0;
  private readonly longest: number;
  /** True once a stop string was produced; the text ends before it. */
  stopped = false;

  constructor(private readonly stops: readonly string[]) {
    this.longest = Math.max(0, ...stops.map((s) => s.length));
  }

  push(piece: string): string {
    if (this.stopped || piece === '') return '';
    const from = Math.max(0, this.text.length - this.longest + 1);
    this.text += piece;
    let cut = -1;
    for (const s of this.stops) {
      const at = this.text.indexOf(s, from);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.stopped = true;
      this.text = this.text.slice(0, cut);
      return this.take(cut);
    }
    return this.take(this.text.length - this.heldBack());
  }

  /** The rest of the text (the end of the sequence: nothing more can complete a stop string). */
  flush(): string {
    return this.take(this.text.length);
  }

  /** Everything the sequence produced before the stop string. */
  get all(): string {
    return this.text;
  }

  private take(upTo: number): string {
    const out = this.text.slice(this.sent, Math.max(this.sent, upTo));
    this.sent = Math.max(this.sent, upTo);
    return out;
  }

  /** The longest tail of the text that is a proper prefix of a stop string. */
  private heldBack(): number {
    let held = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, this.text.length); k > held; k--) {
        if (this.text.endsWith(s.slice(0, k))) {
          held = k;
          break;
        }
      }
    }
    return held;
  }
}
