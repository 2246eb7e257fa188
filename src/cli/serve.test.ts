// `serve` as a client meets it: a synthetic model loaded on Dawn, the server on a free local port, and real HTTP
// requests (Node's fetch). Streamed chunks concatenate to the non-streamed answer, n answers equal heavy mode's
// candidates for the same seed, stop strings cut the text, the API key, CORS, the error shapes and statuses,
// a client that disconnects stops its generation, a full queue answers 503, and the CLI command shuts down
// cleanly on SIGINT.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSyntheticModel } from '../../scripts/synthetic-model';
import type { OpenAiChatChunk, OpenAiChatResponse, OpenAiCompletionResponse, OpenAiErrorBody, OpenAiModelList } from '../protocol/openai';
import { openServe } from './serve';
import { startServe, MAX_WAITING, type ServeHandle } from './serve-http';
import { StopScanner } from './serve-request';
import { cli, errorLines } from './test-cli';

const KEY = 'test-key-1';
const AUTH = { authorization: `Bearer ${KEY}` };
const CONTEXT = 512;

type Serve = Awaited<ReturnType<typeof openServe>>;

async function post(url: string, body: unknown, headers: Record<string, string> = AUTH, signal?: AbortSignal): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body), signal });
}

/** The `data:` payloads of an SSE body, in order, and whether it ended with [DONE]. */
async function sse<T>(res: Response): Promise<{ chunks: T[]; done: boolean; raw: string }> {
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const raw = await res.text();
  const events = raw.split('\n\n').filter((e) => e !== '');
  for (const e of events) expect(e.startsWith('data: ')).toBe(true);
  const done = events.at(-1) === 'data: [DONE]';
  const chunks = events.filter((e) => e !== 'data: [DONE]').map((e) => JSON.parse(e.slice(6)) as T);
  return { chunks, done, raw };
}

function chatTexts(chunks: OpenAiChatChunk[], n: number): { texts: string[]; finish: (string | null)[] } {
  const texts = new Array<string>(n).fill('');
  const finish = new Array<string | null>(n).fill(null);
  for (const c of chunks) {
    for (const ch of c.choices) {
      texts[ch.index] += ch.delta.content ?? '';
      if (ch.finish_reason !== null) finish[ch.index] = ch.finish_reason;
    }
  }
  return { texts, finish };
}

async function errorOf(res: Response, status: number): Promise<OpenAiErrorBody['error']> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/json');
  const body = (await res.json()) as OpenAiErrorBody;
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(body.error.message.length).toBeGreaterThan(10);
  return body.error;
}

describe('serve: the engine behind OpenAI-compatible HTTP', () => {
  let dir: string;
  let s: Serve;
  let url: string;
  const chatUrl = () => `${url}/v1/chat/completions`;
  const complUrl = () => `${url}/v1/completions`;
  const messages = [{ role: 'user', content: 'What is 2+2?' }];

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'boxed-serve-')), 'tiny-model');
    await makeSyntheticModel({ out: dir, preset: 'tiny', untied: true, seed: 4 });
    s = await openServe({ model: dir, port: '0', context: String(CONTEXT), batch: '4', weights: 'q8', 'api-key': KEY });
    url = s.url;
  });
  afterAll(async () => {
    await s?.close();
    await s?.unload();
  });

  it('GET /v1/models lists the loaded model by its folder name, with its context', async () => {
    const res = await fetch(`${url}/v1/models`, { headers: AUTH });
    expect(res.status).toBe(200);
    const list = (await res.json()) as OpenAiModelList;
    expect(list.object).toBe('list');
    expect(list.data.map((m) => [m.id, m.object, m.max_model_len])).toEqual([['tiny-model', 'model', CONTEXT]]);
  });

  it('chat: the streamed chunks concatenate to the non-streamed answer, which equals the in-process engine', async () => {
    const body = { model: 'tiny-model', messages, max_tokens: 12, temperature: 1, top_p: 0.95, seed: 3 };
    const json = (await (await post(chatUrl(), body)).json()) as OpenAiChatResponse;
    expect(json.object).toBe('chat.completion');
    expect(json.choices).toHaveLength(1);
    const answer = json.choices[0];
    expect(answer.message.role).toBe('assistant');
    expect(answer.message.content.length).toBeGreaterThan(0);
    expect(['stop', 'length']).toContain(answer.finish_reason);

    const { chunks, done } = await sse<OpenAiChatChunk>(await post(chatUrl(), { ...body, stream: true, stream_options: { include_usage: true } }));
    expect(done).toBe(true);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'tiny-model')).toBe(true);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    const { texts, finish } = chatTexts(chunks, 1);
    expect(texts[0]).toBe(answer.message.content);
    expect(finish[0]).toBe(answer.finish_reason);
    // the usage chunk: last, with no choices, the same counts as the JSON answer
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual(json.usage);
    expect(json.usage.total_tokens).toBe(json.usage.prompt_tokens + json.usage.completion_tokens);
    // without include_usage there is no usage chunk
    const plain = await sse<OpenAiChatChunk>(await post(chatUrl(), { ...body, stream: true }));
    expect(plain.chunks.every((c) => c.usage === undefined && c.choices.length === 1)).toBe(true);

    const r = await s.engine.generate({ prompt: { kind: 'chat', messages: [{ role: 'user', content: 'What is 2+2?' }] }, maxTokens: 12, sampling: { temperature: 1, topP: 0.95, topK: 0, seed: 3 } });
    expect(r.text).toBe(answer.message.content);
    expect(json.usage.completion_tokens).toBe(r.ids.length);
    expect(json.usage.prompt_tokens).toBe(r.stats.promptTokens);
  });

  it('completions: a raw prompt, streamed and not, with the token ids', async () => {
    const body = { prompt: 'The answer is', max_tokens: 10, temperature: 0.8, seed: 11, return_token_ids: true };
    const json = (await (await post(complUrl(), body)).json()) as OpenAiCompletionResponse;
    expect(json.object).toBe('text_completion');
    const r = await s.engine.generate({ prompt: { kind: 'raw', text: 'The answer is' }, maxTokens: 10, sampling: { temperature: 0.8, topP: 1, topK: 0, seed: 11 } });
    expect(json.choices[0].text).toBe(r.text);
    expect(json.choices[0].token_ids).toEqual(r.ids);
    const { chunks, done } = await sse<OpenAiCompletionResponse>(await post(complUrl(), { ...body, stream: true, stream_options: { include_usage: true } }));
    expect(done).toBe(true);
    expect(chunks.every((c) => c.object === 'text_completion')).toBe(true);
    expect(chunks.flatMap((c) => c.choices.map((ch) => ch.text)).join('')).toBe(r.text);
    const lastChoice = chunks.flatMap((c) => c.choices).at(-1)!;
    expect(lastChoice.finish_reason).toBe(json.choices[0].finish_reason);
    expect(lastChoice.token_ids).toEqual(r.ids);
    expect(chunks.at(-1)!.usage).toEqual(json.usage);
  });

  it('n=4 decodes together: greedy and seeded ids equal heavy mode candidates for the same seed', async () => {
    const prompt = { kind: 'chat' as const, messages: [{ role: 'user' as const, content: 'What is 2+2?' }] };
    for (const sampling of [{ temperature: 0, topP: 1, topK: 0, seed: 0 }, { temperature: 1, topP: 0.9, topK: 40, seed: 21 }]) {
      const body = { messages, n: 4, max_tokens: 10, temperature: sampling.temperature, top_p: sampling.topP, top_k: sampling.topK, seed: sampling.seed, return_token_ids: true };
      const json = (await (await post(chatUrl(), body)).json()) as OpenAiChatResponse;
      expect(json.choices.map((c) => c.index)).toEqual([0, 1, 2, 3]);
      const heavy = await s.engine.generateHeavy({ prompt, mode: 'chat', problem: 'What is 2+2?', samples: 4, select: 'vote', maxTokens: 10, sampling });
      expect(json.choices.map((c) => c.token_ids)).toEqual(heavy.candidates.map((c) => c.ids));
      expect(json.choices.map((c) => c.message.content)).toEqual(heavy.candidates.map((c) => c.text));
      expect(json.usage.completion_tokens).toBe(heavy.candidates.reduce((a, c) => a + c.ids.length, 0));
      if (sampling.temperature > 0) expect(new Set(json.choices.map((c) => c.message.content)).size).toBeGreaterThan(1);
      // streamed, each index's chunks concatenate to its answer
      const { chunks } = await sse<OpenAiChatChunk>(await post(chatUrl(), { ...body, stream: true }));
      const { texts, finish } = chatTexts(chunks, 4);
      expect(texts).toEqual(json.choices.map((c) => c.message.content));
      expect(finish).toEqual(json.choices.map((c) => c.finish_reason));
    }
    // greedy n=1 is the single-sequence engine, and equals every greedy candidate
    const one = await s.engine.generate({ prompt, maxTokens: 10, sampling: { temperature: 0, topP: 1, topK: 0, seed: 0 } });
    const heavy = await s.engine.generateHeavy({ prompt, mode: 'chat', problem: 'x', samples: 4, select: 'vote', maxTokens: 10, sampling: { temperature: 0, topP: 1, topK: 0, seed: 0 } });
    for (const c of heavy.candidates) expect(c.ids).toEqual(one.ids);
  });

  it('stop strings end each answer before the first one, streamed or not, and never stream part of one', async () => {
    const base = { prompt: 'Once upon a time', n: 4, max_tokens: 24, temperature: 1.2, seed: 5 };
    const free = (await (await post(complUrl(), base)).json()) as OpenAiCompletionResponse;
    const t0 = free.choices[0].text;
    expect(t0.length).toBeGreaterThan(12);
    // a stop string from the middle of answer 0 (3 characters from its 6th on)
    const stop = t0.slice(6, 9);
    const cut = (t: string) => (t.indexOf(stop) >= 0 ? t.slice(0, t.indexOf(stop)) : t);
    const json = (await (await post(complUrl(), { ...base, stop: [stop, '\u0000never'] })).json()) as OpenAiCompletionResponse;
    expect(json.choices[0].text).toBe(cut(t0));
    expect(json.choices[0].finish_reason).toBe('stop');
    json.choices.forEach((c, i) => {
      const t = free.choices[i].text;
      expect(c.text).toBe(cut(t));
      expect(c.finish_reason).toBe(t.includes(stop) ? 'stop' : free.choices[i].finish_reason);
    });
    expect(json.usage!.completion_tokens).toBeLessThan(free.usage!.completion_tokens);
    const { chunks } = await sse<OpenAiCompletionResponse>(await post(complUrl(), { ...base, stop, stream: true }));
    const streamed = ['', '', '', ''];
    for (const c of chunks) for (const ch of c.choices) streamed[ch.index] += ch.text;
    expect(streamed).toEqual(json.choices.map((c) => c.text));
    for (const c of chunks) for (const ch of c.choices) expect(ch.text.includes(stop)).toBe(false);
  });

  it('the stop scanner holds back a possible stop string and releases it when it is not one', () => {
    const sc = new StopScanner(['END', 'xyz']);
    expect(sc.push('abcE')).toBe('abc');
    expect(sc.push('N')).toBe('');
    expect(sc.push('Dless')).toBe('');
    expect(sc.stopped).toBe(true);
    expect(sc.all).toBe('abc');
    const sc2 = new StopScanner(['END']);
    expect(sc2.push('aEN')).toBe('a');
    expect(sc2.push('x')).toBe('ENx');
    expect(sc2.push('EN')).toBe('');
    expect(sc2.flush()).toBe('EN');
  });

  it('refuses a missing or wrong API key with 401; /health needs none', async () => {
    const tries: Record<string, string>[] = [{}, { authorization: 'Bearer wrong' }, { authorization: KEY }];
    for (const headers of tries) {
      const e = await errorOf(await post(chatUrl(), { messages, max_tokens: 2 }, headers), 401);
      expect(e.code).toBe('invalid_api_key');
      expect((await errorOf(await fetch(`${url}/v1/models`, { headers }), 401)).code).toBe('invalid_api_key');
    }
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it('CORS: every answer allows the origin, and a preflight allows authorization and content-type', async () => {
    const res = await post(chatUrl(), { messages, max_tokens: 2, temperature: 0 }, { ...AUTH, origin: 'http://192.168.1.9:5173' });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    await res.arrayBuffer();
    const err = await fetch(`${url}/v1/models`, { headers: { origin: 'http://x.test' } });
    expect(err.status).toBe(401);
    expect(err.headers.get('access-control-allow-origin')).toBe('*'); // the page can read why
    const pre = await fetch(chatUrl(), {
      method: 'OPTIONS',
      headers: { origin: 'http://192.168.1.9:5173', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-headers')!.split(/,\s*/)).toEqual(expect.arrayContaining(['authorization', 'content-type']));
    expect(pre.headers.get('access-control-allow-methods')).toMatch(/POST/);

    // --cors-origin: only the listed origins are allowed
    const only: ServeHandle = await startServe({ engine: s.engine, info: s.info, modelId: 'tiny-model', host: '127.0.0.1', port: 0, corsOrigin: 'http://app.test,http://other.test' });
    try {
      const ok = await fetch(`${only.url}/v1/models`, { headers: { origin: 'http://app.test' } });
      expect(ok.headers.get('access-control-allow-origin')).toBe('http://app.test');
      expect(ok.headers.get('vary')).toBe('Origin');
      const no = await fetch(`${only.url}/v1/models`, { headers: { origin: 'http://evil.test' } });
      expect(no.status).toBe(200);
      expect(no.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await only.close();
    }
  });

  it('a context overflow is 400 with the numbers', async () => {
    const e = await errorOf(await post(chatUrl(), { messages, max_tokens: CONTEXT }), 400);
    expect(e.code).toBe('context_length_exceeded');
    expect(e.param).toBe('max_tokens');
    const prompt = (await s.engine.renderPrompt({ kind: 'chat', messages: [{ role: 'user', content: 'What is 2+2?' }] })).tokens;
    expect(e.message).toContain(`context is ${CONTEXT} tokens`);
    expect(e.message).toContain(`${prompt} prompt tokens + ${CONTEXT} (max_tokens) = ${prompt + CONTEXT}`);
    // a prompt longer than the context, without max_tokens
    const long = await errorOf(await post(complUrl(), { prompt: 'word '.repeat(CONTEXT + 10) }), 400);
    expect(long.code).toBe('context_length_exceeded');
    expect(long.message).toMatch(new RegExp(`needs \\d+ prompt tokens`));
    // exactly filling the context is allowed, one token more is not
    const text = 'word '.repeat(CONTEXT - 20);
    const P = (await s.engine.renderPrompt({ kind: 'raw', text })).tokens;
    expect(P).toBeLessThan(CONTEXT - 2);
    const over = await errorOf(await post(complUrl(), { prompt: text, max_tokens: CONTEXT - P + 1 }), 400);
    expect(over.message).toContain(`${P} prompt tokens + ${CONTEXT - P + 1} (max_tokens) = ${CONTEXT + 1}`);
    const fits = (await (await post(complUrl(), { prompt: text, max_tokens: CONTEXT - P, temperature: 0 })).json()) as OpenAiCompletionResponse;
    expect(fits.usage!.total_tokens).toBeLessThanOrEqual(CONTEXT);
    expect(fits.usage!.prompt_tokens).toBe(P);
  });

  it.each([
    ['bad JSON', '/v1/chat/completions', '{"messages": [', 400, /not valid JSON/],
    ['no messages', '/v1/chat/completions', { max_tokens: 2 }, 400, /messages must be a non-empty list/],
    ['a bad role', '/v1/chat/completions', { messages: [{ role: 'tool', content: 'x' }] }, 400, /role must be system, user or assistant/],
    ['n = 0', '/v1/completions', { prompt: 'x', n: 0 }, 400, /n must be an integer in \[1, 4\]/],
    ['n above --batch', '/v1/completions', { prompt: 'x', n: 5 }, 400, /at most 4 at once: start serve with --batch 5/],
    ['temperature 3', '/v1/completions', { prompt: 'x', temperature: 3 }, 400, /temperature must be a number in \[0, 2\]/],
    ['top_p 0', '/v1/completions', { prompt: 'x', top_p: 0 }, 400, /top_p must be a number in \(0, 1\]/],
    ['max_tokens 0', '/v1/completions', { prompt: 'x', max_tokens: 0 }, 400, /max_tokens must be an integer/],
    ['five stop strings', '/v1/completions', { prompt: 'x', stop: ['a', 'b', 'c', 'd', 'e'] }, 400, /at most 4/],
    ['stream_options without stream', '/v1/completions', { prompt: 'x', stream_options: { include_usage: true } }, 400, /only be given with stream: true/],
    ['an empty prompt', '/v1/completions', { prompt: '' }, 400, /prompt is empty/],
    ['logprobs', '/v1/completions', { prompt: 'x', logprobs: 2 }, 400, /logprobs are not supported/],
    ['an unknown model', '/v1/completions', { prompt: 'x', model: 'gpt-4' }, 404, /'gpt-4' does not exist: this server serves 'tiny-model'/],
  ])('refuses %s in OpenAI error shape', async (_name, path, body, status, message) => {
    const e = await errorOf(await post(`${url}${path}`, body), status);
    expect(e.message).toMatch(message);
    expect(e.type).toBe('invalid_request_error');
  });

  it('an unknown route is 404, a wrong method 405 with Allow', async () => {
    expect((await errorOf(await fetch(`${url}/v1/embeddings`, { headers: AUTH }), 404)).code).toBe('not_found');
    const res = await fetch(complUrl(), { headers: AUTH });
    expect(res.headers.get('allow')).toBe('POST, OPTIONS');
    expect((await errorOf(res, 405)).code).toBe('method_not_allowed');
  });

  it('a client that disconnects mid-stream stops its generation, and the next request is served', async () => {
    const stats = s.engine.context!.stats;
    const body = { prompt: 'Hello', max_tokens: 120, temperature: 0 };
    // the whole answer first: greedy on this model never ends before max_tokens
    let d0 = stats.dispatches;
    const full = (await (await post(complUrl(), body)).json()) as OpenAiCompletionResponse;
    expect(full.choices[0].finish_reason).toBe('length');
    expect(full.usage!.completion_tokens).toBe(120);
    const fullDispatches = stats.dispatches - d0;

    d0 = stats.dispatches;
    const abort = new AbortController();
    const res = await post(complUrl(), { ...body, stream: true }, AUTH, abort.signal);
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first.startsWith('data: ')).toBe(true);
    abort.abort();
    // the next request waits for the stopped one, then is answered in full
    const next = (await (await post(complUrl(), { prompt: 'Hello', max_tokens: 3, temperature: 0 })).json()) as OpenAiCompletionResponse;
    expect(next.choices[0].text).toBe(full.choices[0].text.slice(0, next.choices[0].text.length));
    expect(next.usage!.completion_tokens).toBe(3);
    // the stopped stream, plus the short request, cost far less than the whole answer
    expect(stats.dispatches - d0).toBeLessThan(fullDispatches / 2);
  });

  it(`queues requests: while one generates, ${MAX_WAITING} wait and the next is answered 503`, async () => {
    const abort = new AbortController();
    const long = await post(complUrl(), { prompt: 'Hello', max_tokens: 200, temperature: 0, stream: true }, AUTH, abort.signal);
    const reader = long.body!.getReader();
    await reader.read(); // it is running
    const small = { prompt: 'Hi', max_tokens: 1, temperature: 0 };
    // a stream's headers come once it has its place in the queue: these are all waiting
    const waiting = await Promise.all(Array.from({ length: MAX_WAITING }, () => post(complUrl(), { ...small, stream: true })));
    expect(waiting.map((r) => r.status)).toEqual(new Array(MAX_WAITING).fill(200));
    const busy = await post(complUrl(), small);
    abort.abort();
    const e = await errorOf(busy, 503);
    expect(e.code).toBe('busy');
    expect(e.type).toBe('server_error');
    const texts = await Promise.all(
      waiting.map(async (r) => {
        const { chunks, done } = await sse<OpenAiCompletionResponse>(r);
        expect(done).toBe(true);
        return chunks.flatMap((c) => c.choices.map((ch) => ch.text)).join('');
      }),
    );
    expect(new Set(texts).size).toBe(1);
    expect(texts[0].length).toBeGreaterThan(0);
  });
});

describe('serve from the CLI', () => {
  it('listens on the port it prints, answers, and exits 0 on SIGINT', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'boxed-serve-cli-')), 'cli-model');
    const made = await cli('make-model', '--out', dir, '--preset', 'tiny', '--seed', '2');
    expect(made.code, made.stderr).toBe(0);
    const child = spawn(process.execPath, ['scripts/run-cli.mjs', 'serve', '--model', dir, '--port', '0', '--context', '256', '--batch', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        const m = /serving (\S+) at (http:\/\/\S+)\n/.exec(stdout);
        if (m) resolve(m[0]);
      });
      void exited.then((code) => reject(new Error(`serve exited (${code}) before listening: ${stderr}`)));
    });
    const [, id, base] = /serving (\S+) at (\S+)/.exec(line)!;
    expect(id).toBe('cli-model');
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const list = (await (await fetch(`${base}/v1/models`)).json()) as OpenAiModelList;
    expect(list.data[0].id).toBe('cli-model');
    const r = (await (await post(`${base}/v1/chat/completions`, { messages: [{ role: 'user', content: 'hi' }], n: 2, max_tokens: 3, temperature: 0 }, {})).json()) as OpenAiChatResponse;
    expect(r.choices).toHaveLength(2);
    // Ctrl-C while an answer streams: the stream is ended properly ('abort', then [DONE]) and the process exits 0
    const res = await post(`${base}/v1/completions`, { prompt: 'Hello', max_tokens: 200, temperature: 0, stream: true }, {});
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let body = decoder.decode((await reader.read()).value, { stream: true });
    child.kill('SIGINT');
    for (let part = await reader.read(); !part.done; part = await reader.read()) body += decoder.decode(part.value, { stream: true });
    const events = body.split('\n\n').filter((e) => e !== '');
    expect(events.at(-1)).toBe('data: [DONE]');
    const last = JSON.parse(events.at(-2)!.slice(6)) as OpenAiCompletionResponse;
    expect(last.choices[0].finish_reason).toBe('abort');
    expect(events.length).toBeLessThan(150);
    expect(await exited).toBe(0);
    expect(stderr).toContain('shutting down');
    expect(stderr).toMatch(/POST \/v1\/chat\/completions 200/);
  });

  it.each([
    [['--port', '70000'], /--port must be an integer in \[0, 65535\]/],
    [['--batch', '17'], /--batch must be an integer in \[1, 16\]/],
    [['--api-key', ''], /--api-key must not be empty/],
  ])('rejects %j with a one-line error', async (args, message) => {
    const r = await cli('serve', '--model', 'nowhere', ...args);
    expect(r.code).toBe(2);
    const lines = errorLines(r);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });

  it('bench-serve reports in-process and HTTP streaming speed with equal GPU counters', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'boxed-serve-bench-')), 'bench-model');
    await makeSyntheticModel({ out: dir, preset: 'tiny', seed: 3 });
    const r = await cli('bench-serve', '--model', dir, '--prompt-tokens', '8', '--gen-tokens', '8', '--runs', '1', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    for (const side of [out.in_process, out.http_stream]) {
      expect(side.tokens).toBeGreaterThan(1);
      expect(side.decode_tokens_per_s).toBeGreaterThan(0);
    }
    expect(out.http_stream.tokens).toBe(out.in_process.tokens);
    expect(out.http_stream.dispatches_per_token_with_prefill).toBe(out.in_process.dispatches_per_token_with_prefill);
    expect(out.http_stream.readbacks_per_token_with_prefill).toBe(out.in_process.readbacks_per_token_with_prefill);
    expect(typeof out.added_ms_per_token).toBe('number');
  });
});
