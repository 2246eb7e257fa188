// The HTTP side of the server engine: an OpenAI-compatible server's /v1/models, /v1/chat/completions and
// /v1/completions over fetch, streamed as SSE (sse.ts), every failure turned into a typed BoxedError.
// The API key goes in `Authorization: Bearer` to this endpoint only.
//
// How servers answer errors (their own formats, checked against their docs and sources):
// - vLLM: `{"object": "error", "message", "type", "param", "code"}` (newer releases nest it under `error`);
//   401 `{"error": "Unauthorized"}` when --api-key is set and the key is wrong or missing; 404 for an unknown
//   model; 400 "This model's maximum context length is N tokens. However, you requested M tokens ..." for an overflow.
// - llama.cpp's server: `{"error": {"code", "message", "type"}}`, e.g. type `exceed_context_size_error`.
// - OpenAI: `{"error": {"message", "type", "param", "code"}}`, code `context_length_exceeded`.
import type { OpenAiChatChunk, OpenAiChatRequest, OpenAiCompletionRequest, OpenAiCompletionResponse, OpenAiModelList } from '../protocol/openai';
import { BoxedError } from '../protocol/errors';
import { readSse } from './sse';

export interface ServerTarget {
  /** The server's address, with or without the trailing /v1. */
  endpoint: string;
  model: string;
  apiKey?: string;
}

/** The server's root without a trailing slash or /v1 (`http://host:8000/v1/` → `http://host:8000`). */
export function serverRoot(endpoint: string): string {
  let e = endpoint.trim().replace(/\/+$/, '');
  if (/\/v1$/i.test(e)) e = e.slice(0, -3);
  return e.replace(/\/+$/, '');
}

/** The server's host:port for the UI ("on server host:port"). */
export function serverHost(endpoint: string): string {
  try {
    return new URL(serverRoot(endpoint)).host;
  } catch {
    return serverRoot(endpoint);
  }
}

/** How to let a browser page call a server from another origin. */
export function corsAdvice(origin: string): string {
  return (
    `If the server is running, it most likely refused this page's origin (${origin}) by CORS: ` +
    `start vLLM with --allowed-origins '["${origin}"]', llama.cpp's llama-server with --cors-origins ${origin} ` +
    `(older builds allow every origin), or Boxed's serve with --cors-origin ${origin}.`
  );
}

/** Text of an error body in any of the servers' formats. */
function errorMessage(body: unknown): { message: string; type: string; code: string } {
  const o = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const inner = typeof o.error === 'object' && o.error !== null ? (o.error as Record<string, unknown>) : o;
  const str = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
  const message = str(inner.message) || str(o.error) || str(o.detail) || str(o.message);
  return { message, type: str(inner.type), code: str(inner.code) };
}

const OVERFLOW = /context length|context window|context_length_exceeded|exceed_context_size|maximum context|too many tokens|prompt is too long|exceeds the (?:model's )?(?:maximum|max)/i;

/** A non-2xx answer as a BoxedError. */
export function httpError(status: number, bodyText: string, what: string, target: ServerTarget): BoxedError {
  let body: unknown = bodyText;
  try {
    body = JSON.parse(bodyText);
  } catch {
    // not JSON: the text itself
  }
  const m = errorMessage(body);
  const said = (m.message || (typeof body === 'string' ? body.slice(0, 300) : '')).trim();
  const detail = { status, ...(said ? { serverMessage: said } : {}) };
  const host = serverHost(target.endpoint);
  if (status === 401 || status === 403)
    return new BoxedError('AccessDenied', `the server at ${host} refused the request (${status}): ${target.apiKey ? 'the API key is wrong' : 'it needs an API key'}${said ? ` (${said})` : ''}`, { detail: { ...detail, server: true } });
  if (OVERFLOW.test(`${said} ${m.type} ${m.code}`)) return new BoxedError('ContextOverflow', `the prompt and the answer do not fit the server's context: ${said}`, { detail });
  if (status === 404) return new BoxedError('NotFound', `${what}: the server at ${host} has no model "${target.model}" or no such route${said ? ` (${said})` : ''}`, { detail: { ...detail, server: true } });
  if (status === 400 || status === 422) return new BoxedError('InvalidRequest', `${what}: the server refused the request: ${said || status}`, { detail });
  return new BoxedError('ServerError', `${what}: the server at ${host} answered ${status}${said ? `: ${said}` : ''}`, { detail });
}

export interface ClientOptions {
  fetch?: typeof fetch;
  /** This page's origin, for the CORS advice (location.origin in a browser). */
  origin?: string;
}

export class OpenAiClient {
  private readonly fetchImpl: typeof fetch;
  readonly root: string;

  constructor(
    readonly target: ServerTarget,
    private readonly opts: ClientOptions = {},
  ) {
    this.fetchImpl = opts.fetch ?? ((...a) => fetch(...a));
    this.root = serverRoot(target.endpoint);
    let url: URL;
    try {
      url = new URL(this.root);
    } catch {
      throw new BoxedError('InvalidRequest', `"${target.endpoint}" is not a server address (try http://host:8000)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new BoxedError('InvalidRequest', `"${target.endpoint}" is not an http(s) address`);
  }

  private headers(json: boolean): Record<string, string> {
    return { ...(json ? { 'Content-Type': 'application/json' } : {}), Accept: json ? 'text/event-stream, application/json' : 'application/json', ...(this.target.apiKey ? { Authorization: `Bearer ${this.target.apiKey}` } : {}) };
  }

  private async request(path: string, init: RequestInit, what: string): Promise<Response> {
    const url = `${this.root}${path}`;
    let res: Response;
    try {
      res = await this.fetchImpl(url, init);
    } catch (e) {
      if (init.signal?.aborted) throw new BoxedError('Aborted', 'stopped', { cause: e });
      // a browser gives the same TypeError for a refused connection, a bad host and a CORS refusal
      const origin = this.opts.origin ?? (typeof location === 'object' && location ? location.origin : undefined);
      const advice = origin ? ` ${corsAdvice(origin)}` : '';
      throw new BoxedError('ServerUnreachable', `${what}: could not reach ${url} (${e instanceof Error ? e.message : String(e)}).${advice}`, { cause: e, detail: { url, ...(origin ? { origin } : {}) } });
    }
    if (!res.ok) throw httpError(res.status, await res.text().catch(() => ''), what, this.target);
    return res;
  }

  /** GET /v1/models. */
  async models(signal?: AbortSignal): Promise<OpenAiModelList> {
    const res = await this.request('/v1/models', { headers: this.headers(false), signal }, 'listing the models');
    const body = (await res.json().catch(() => null)) as OpenAiModelList | null;
    if (!body || !Array.isArray(body.data)) throw new BoxedError('ServerError', `${this.root}/v1/models did not answer a model list`);
    return body;
  }

  /** POST /v1/chat/completions, streamed: each parsed chunk until `[DONE]` (or the end of the body). */
  streamChat(body: OpenAiChatRequest & Record<string, unknown>, signal?: AbortSignal): AsyncGenerator<OpenAiChatChunk> {
    return this.stream<OpenAiChatChunk>('/v1/chat/completions', body, signal, 'the chat completion');
  }

  /** POST /v1/completions (raw text), streamed. */
  streamCompletion(body: OpenAiCompletionRequest & Record<string, unknown>, signal?: AbortSignal): AsyncGenerator<OpenAiCompletionResponse> {
    return this.stream<OpenAiCompletionResponse>('/v1/completions', body, signal, 'the completion');
  }

  private async *stream<T>(path: string, body: object, signal: AbortSignal | undefined, what: string): AsyncGenerator<T> {
    const res = await this.request(path, { method: 'POST', headers: this.headers(true), body: JSON.stringify({ ...body, stream: true }), signal }, what);
    if (!res.body) throw new BoxedError('ServerError', `${what}: the server sent no body`);
    if (!/text\/event-stream/i.test(res.headers.get('content-type') ?? '')) {
      throw new BoxedError('ServerError', `${what}: the server answered ${res.headers.get('content-type') || 'without a content type'} instead of a stream (text/event-stream): it does not stream, or ${this.root} is not an OpenAI-compatible server`);
    }
    let done = false;
    try {
      for await (const ev of readSse(res.body)) {
        const data = ev.data.trim();
        if (data === '[DONE]') {
          done = true;
          return;
        }
        if (data === '') continue;
        let parsed: unknown;
        try {
          parsed = JSON.parse(data);
        } catch {
          throw new BoxedError('ServerError', `${what}: the server streamed something that is not JSON: ${data.slice(0, 200)}`);
        }
        // a server that fails mid-stream sends an error object as an event (vLLM, llama.cpp)
        if (typeof parsed === 'object' && parsed !== null && ('error' in parsed || (parsed as { object?: unknown }).object === 'error')) {
          const m = errorMessage(parsed);
          const status = Number(m.code) || 500;
          throw httpError(status, data, what, this.target);
        }
        yield parsed as T;
      }
    } catch (e) {
      if (e instanceof BoxedError) throw e;
      if (signal?.aborted) throw new BoxedError('Aborted', 'stopped', { cause: e });
      throw new BoxedError('StreamCut', `${what}: the connection to ${serverHost(this.target.endpoint)} was cut mid-answer (${e instanceof Error ? e.message : String(e)})`, { cause: e });
    }
    if (!done && !signal?.aborted) throw new BoxedError('StreamCut', `${what}: the stream from ${serverHost(this.target.endpoint)} ended before [DONE]`);
  }
}
