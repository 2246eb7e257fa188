// The server engine against a real local HTTP server that answers like vLLM (test-server.ts).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GenerateEvent, HeavyEvent, HeavyRequest } from '../protocol/engine';
import { BoxedError } from '../protocol/errors';
import { createServerEngine, type ServerEngine } from './engine';
import { fixture, startReplayServer, vllmChatStream, type ReplayServer } from './test-server';
import { corsAdvice, serverRoot } from './client';

let server: ReplayServer;
beforeAll(async () => {
  server = await startReplayServer();
});
afterAll(() => server.close());
afterEach(() => {
  server.requests.length = 0;
  server.replies.length = 0;
  server.apiKey = undefined;
  server.models = [{ id: 'boxed-test', max_model_len: 4096 }];
});

const greedy = { temperature: 0, topP: 1, topK: 0, seed: 5 };
const chat = (content: string) => ({ kind: 'chat' as const, messages: [{ role: 'user' as const, content }] });

async function loaded(opts: Parameters<typeof createServerEngine>[0] = {}, apiKey?: string): Promise<ServerEngine> {
  const e = createServerEngine({ origin: 'http://127.0.0.1:5173', ...opts });
  await e.load({ source: { kind: 'server', endpoint: `${server.url}/v1/`, model: 'boxed-test', ...(apiKey ? { apiKey } : {}) }, weights: 'q4', context: 2048 });
  return e;
}

async function rejection(p: Promise<unknown>): Promise<BoxedError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(BoxedError);
  return e as BoxedError;
}

describe('load', () => {
  it('checks the model on GET /v1/models and reports where it runs', async () => {
    const e = createServerEngine();
    const info = await e.load({ source: { kind: 'server', endpoint: server.url, model: 'boxed-test' }, weights: 'q4', context: 2048 }, () => {});
    expect(info.server).toEqual({ endpoint: server.url, host: new URL(server.url).host, model: 'boxed-test', maxModelLen: 4096 });
    expect(info.context).toBe(4096);
    expect(info.batch).toBe(64);
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/models']);
    expect(serverRoot('http://h:8000/v1/')).toBe('http://h:8000');
  });

  it('names the models the server has when the one asked for is not there', async () => {
    server.models = [{ id: 'other-a' }, { id: 'other-b' }];
    const err = await rejection(loaded());
    expect(err.name).toBe('NotFound');
    expect(err.message).toContain('other-a, other-b');
  });

  it('401 without or with a wrong API key; the key is sent as a bearer token', async () => {
    server.apiKey = 'sk-right-key';
    expect((await rejection(loaded())).name).toBe('AccessDenied');
    const wrong = await rejection(loaded({}, 'sk-wrong'));
    expect(wrong.name).toBe('AccessDenied');
    expect(wrong.message).toContain('API key is wrong');
    const e = await loaded({}, 'sk-right-key');
    await e.generate({ prompt: chat('hi'), maxTokens: 8, sampling: greedy });
    expect(server.requests.at(-1)?.headers.authorization).toBe('Bearer sk-right-key');
  });

  it('an unreachable server is ServerUnreachable, with how to allow the origin by CORS', async () => {
    const gone = await startReplayServer();
    const url = gone.url;
    await gone.close();
    const e = createServerEngine({ origin: 'http://127.0.0.1:5173' });
    const err = await rejection(e.load({ source: { kind: 'server', endpoint: url, model: 'm' }, weights: 'q4', context: 2048 }));
    expect(err.name).toBe('ServerUnreachable');
    expect(err.message).toContain(corsAdvice('http://127.0.0.1:5173'));
    expect(err.message).toContain("--allowed-origins '[\"http://127.0.0.1:5173\"]'");
    expect(err.message).toContain('--cors-origins');
  });
});

describe('generate', () => {
  it("streams vLLM's recorded chat stream: role chunk, deltas, finish 'stop', usage chunk", async () => {
    const e = await loaded();
    server.replies.push({ kind: 'sse', text: fixture('vllm-chat-stream.sse') });
    const events: GenerateEvent[] = [];
    const r = await e.generate({ prompt: chat('What is 2+2?'), maxTokens: 100, sampling: { temperature: 0.6, topP: 0.95, topK: 20, seed: 9 } }, (ev) => events.push(ev));
    expect(r.text).toBe('<think>\nTwo plus two is four.\n</think>\n\nThe answer is $\\boxed{4}$.');
    expect(r.stop).toBe('eos');
    expect(r.stats.promptTokens).toBe(42);
    expect(r.stats.generatedTokens).toBe(9);
    const tokens = events.filter((x) => x.type === 'token');
    expect(tokens.map((x) => x.text).join('')).toBe(r.text);
    expect(tokens.map((x) => x.count)).toEqual([1, 2, 3, 4, 5]);
    const body = server.requests.at(-1)!.body!;
    expect(body).toMatchObject({ model: 'boxed-test', messages: [{ role: 'user', content: 'What is 2+2?' }], stream: true, n: 1, max_tokens: 100, temperature: 0.6, top_p: 0.95, top_k: 20, seed: 9, stream_options: { include_usage: true } });
    expect(body).not.toHaveProperty('continue_final_message');
  });

  it("raw mode uses /v1/completions; finish 'length' is max-tokens", async () => {
    const e = await loaded();
    server.replies.push({ kind: 'sse', text: fixture('vllm-completion-length.sse') });
    const r = await e.generate({ prompt: { kind: 'raw', text: 'one two' }, maxTokens: 3, sampling: greedy });
    expect(r).toMatchObject({ text: ' three four five', stop: 'max-tokens' });
    expect(server.requests.at(-1)).toMatchObject({ path: '/v1/completions', body: { prompt: 'one two', max_tokens: 3 } });
    expect(server.requests.at(-1)!.body).not.toHaveProperty('top_k');
  });

  it('a stream cut mid-answer keeps the text so far as StreamCut; continue sends it as an open assistant message', async () => {
    const e = await loaded();
    const text = fixture('vllm-chat-stream.sse');
    const cutAt = text.indexOf('data:', text.indexOf(' is four.')); // after the third content delta
    server.replies.push({ kind: 'sse', text, cutAfter: cutAt });
    const r = await e.generate({ prompt: chat('What is 2+2?'), maxTokens: 100, sampling: greedy });
    expect(r.stop).toBe('error');
    expect(r.error?.name).toBe('StreamCut');
    expect(r.text).toBe('<think>\nTwo plus two is four.\n');
    server.replies.push({ kind: 'chat', texts: ['</think>\n\n\\boxed{4}'] });
    const c = await e.generate({ prompt: chat('What is 2+2?'), maxTokens: 100, sampling: greedy, continueFrom: r.text });
    expect(c).toMatchObject({ text: '</think>\n\n\\boxed{4}', stop: 'eos' });
    expect(server.requests.at(-1)!.body).toMatchObject({
      messages: [
        { role: 'user', content: 'What is 2+2?' },
        { role: 'assistant', content: '<think>\nTwo plus two is four.\n' },
      ],
      continue_final_message: true,
      add_generation_prompt: false,
    });
  });

  it('a context overflow (vLLM 400) is ContextOverflow; a 404 model is NotFound', async () => {
    const e = await loaded();
    server.replies.push({
      kind: 'json',
      status: 400,
      body: { object: 'error', message: "This model's maximum context length is 4096 tokens. However, you requested 9000 tokens (100 in the messages, 8900 in the completion). Please reduce the length of the messages or completion.", type: 'BadRequestError', param: null, code: 400 },
    });
    const over = await rejection(e.generate({ prompt: chat('x'), maxTokens: 8900, sampling: greedy }));
    expect(over.name).toBe('ContextOverflow');
    expect(over.message).toContain('maximum context length is 4096');
    server.models = [];
    const gone = await rejection(e.generate({ prompt: chat('x'), maxTokens: 8, sampling: greedy }));
    expect(gone.name).toBe('NotFound');
  });

  it('token ids are read per chunk (vLLM) or all on the last chunk (serve); return_token_ids only when asked', async () => {
    const head = '"object":"chat.completion.chunk","created":1,"model":"boxed-test"';
    const sse = (choices: object[]) => choices.map((c) => `data: {${head},"choices":[${JSON.stringify(c)}]}\n\n`).join('') + 'data: [DONE]\n\n';
    const perChunk = sse([{ index: 0, delta: { content: 'a' }, finish_reason: null, token_ids: [11] }, { index: 0, delta: { content: 'b' }, finish_reason: null, token_ids: [12, 13] }, { index: 0, delta: {}, finish_reason: 'stop' }]);
    const atEnd = sse([{ index: 0, delta: { content: 'a' }, finish_reason: null }, { index: 0, delta: { content: 'b' }, finish_reason: null }, { index: 0, delta: {}, finish_reason: 'stop', token_ids: [11, 12, 13] }]);
    const e = await loaded({ tokenIds: true });
    for (const text of [perChunk, atEnd]) {
      server.replies.push({ kind: 'sse', text });
      const r = await e.generate({ prompt: chat('x'), maxTokens: 8, sampling: greedy });
      expect(r).toMatchObject({ text: 'ab', ids: [11, 12, 13], stop: 'eos' });
      expect(server.requests.at(-1)!.body).toMatchObject({ return_token_ids: true });
    }
    const plain = await loaded();
    await plain.generate({ prompt: chat('x'), maxTokens: 8, sampling: greedy });
    expect(server.requests.at(-1)!.body).not.toHaveProperty('return_token_ids');
  });

  it('an answer that is not a stream is a ServerError naming what came', async () => {
    const e = await loaded();
    server.replies.push({ kind: 'json', status: 200, body: { id: 'x', object: 'chat.completion', choices: [] } });
    const err = await rejection(e.generate({ prompt: chat('x'), maxTokens: 8, sampling: greedy }));
    expect(err.name).toBe('ServerError');
    expect(err.message).toContain('application/json instead of a stream');
  });

  it('stop aborts the fetch and keeps the text so far', async () => {
    const e = await loaded();
    server.replies.push({ kind: 'chat', texts: ['a'.repeat(3000)], piece: 1 });
    let seen = 0;
    const r = await e.generate({ prompt: chat('x'), maxTokens: 5000, sampling: greedy }, (ev) => {
      if (ev.type === 'token' && ++seen === 5) void e.stop();
    });
    expect(r.stop).toBe('aborted');
    expect(r.text.length).toBeGreaterThanOrEqual(5);
    expect(r.text.length).toBeLessThan(3000);
    expect(r.error).toBeUndefined();
  });
});

describe('generateHeavy', () => {
  const texts = ['<think>a</think>\\boxed{7}', '<think>bb</think>\\boxed{8}', '<think>c</think>\\boxed{7}', '<think>dddd</think>\\boxed{7.0}', '<think>e</think>no answer', '<think>f</think>\\boxed{8}'];
  const heavyReq = (samples: number, select: 'vote' | 'genselect' = 'vote'): HeavyRequest => ({ prompt: chat('p'), mode: 'math', problem: 'p', samples, select, maxTokens: 64, sampling: greedy });

  it('N candidates with n, split into requests of at most maxNPerRequest, events tagged with seq; vote and tally', async () => {
    const e = await loaded({ maxNPerRequest: 4 });
    server.replies.push({ kind: 'chat', texts: texts.slice(0, 4), seed: 5 }, { kind: 'chat', texts: texts.slice(4, 6), finish: ['length', 'stop'], seed: 9 });
    const events: HeavyEvent[] = [];
    const r = await e.generateHeavy(heavyReq(6), (evs) => events.push(...evs));
    expect(server.requests.filter((q) => q.method === 'POST').map((q) => [q.body?.n, q.body?.seed])).toEqual([
      [4, 5],
      [2, 9],
    ]);
    expect(r.candidates.map((c) => c.text)).toEqual(texts);
    expect(r.candidates.map((c) => c.answer)).toEqual(['7', '8', '7', '7.0', null, '8']);
    expect(r.candidates.map((c) => c.stop)).toEqual(['eos', 'eos', 'eos', 'eos', 'max-tokens', 'eos']);
    for (let i = 0; i < 6; i++) {
      expect(events.filter((x) => x.type === 'token' && x.seq === i).map((x) => (x.type === 'token' ? x.text : '')).join('')).toBe(texts[i]);
      expect(events.filter((x) => x.type === 'candidate-end' && x.seq === i)).toHaveLength(1);
    }
    expect(r.vote).toMatchObject({ answer: '7', votes: 2, indices: [0, 2] });
    expect(r.tally.groups[0]).toMatchObject({ label: '7', indices: [0, 2, 3] });
    expect(r.tally.missing).toEqual([4]);
    expect(r.chosen).toBe(0);
    expect(events.at(-1)?.type).toBe('stats');
  });

  it('Continue after Stop: ended candidates are kept as they are, the stopped ones continue from their text', async () => {
    const e = await loaded({ maxNPerRequest: 4 });
    // candidate 0 had ended (eos); 1 was stopped mid-answer; 2 was stopped before its first token
    // candidate i samples with seed + i (greedy's seed is 5)
    server.replies.push({ kind: 'chat', texts: [' more</think>\\boxed{8}'], seed: 6 }, { kind: 'chat', texts: ['<think>x</think>\\boxed{7}'], seed: 7 });
    const events: HeavyEvent[] = [];
    const r = await e.generateHeavy({ ...heavyReq(3), continueFrom: [texts[0], '<think>half', ''], continueDone: ['eos', 'aborted', null] }, (evs) => events.push(...evs));
    const posts = server.requests.filter((q) => q.method === 'POST');
    expect(posts.map((q) => [q.body?.n, q.body?.seed]).sort()).toEqual([
      [1, 6],
      [1, 7],
    ]);
    const continued = posts.find((q) => q.body?.seed === 6)!.body!;
    expect(continued).toMatchObject({ continue_final_message: true, add_generation_prompt: false });
    expect((continued.messages as { role: string; content: string }[]).at(-1)).toEqual({ role: 'assistant', content: '<think>half' });
    expect(r.candidates.map((c) => c.text)).toEqual([texts[0], '<think>half more</think>\\boxed{8}', '<think>x</think>\\boxed{7}']);
    expect(r.candidates.map((c) => c.stop)).toEqual(['eos', 'eos', 'eos']);
    expect(r.candidates.map((c) => c.answer)).toEqual(['7', '8', '7']);
    expect(events.filter((x) => x.type === 'token' && x.seq === 0)).toEqual([]);
    expect(r.vote).toMatchObject({ answer: '7', votes: 2, indices: [0, 2] });
  });

  it('64 candidates on a server (the GPU limit is 16); 65 is refused', async () => {
    const e = await loaded({ maxNPerRequest: 16 });
    for (let g = 0; g < 4; g++) server.replies.push({ kind: 'chat', seed: 5 + 16 * g, texts: Array.from({ length: 16 }, (_, i) => `<think>t</think>\\boxed{${(g * 16 + i) % 3}}`) });
    const r = await e.generateHeavy(heavyReq(64));
    expect(r.candidates).toHaveLength(64);
    expect(r.candidates.map((c) => c.answer)).toEqual(Array.from({ length: 64 }, (_, i) => String(i % 3)));
    expect(r.vote).toMatchObject({ answer: '0', votes: 22 });
    expect((await rejection(e.generateHeavy(heavyReq(65)))).name).toBe('InvalidRequest');
  });

  it('GenSelect judges on the server: the selection prompt quotes the candidates, the judgment picks one', async () => {
    const e = await loaded({ maxNPerRequest: 4 });
    server.replies.push({ kind: 'chat', texts: ['<think>x</think>\\boxed{1}', '<think>y</think>\\boxed{2}', '<think>z</think>\\boxed{2}'] });
    server.replies.push({ kind: 'chat', texts: ['<think>comparing</think>The second is right. Judgment: 1'] });
    const events: HeavyEvent[] = [];
    const r = await e.generateHeavy(heavyReq(3, 'genselect'), (evs) => events.push(...evs));
    const judge = server.requests.filter((q) => q.method === 'POST')[1].body!;
    const prompt = (judge.messages as { content: string }[]).map((m) => m.content).join('\n');
    expect(prompt).toContain('\\boxed{1}');
    expect(prompt).toContain('\\boxed{2}');
    expect(judge).toMatchObject({ n: 1, seed: 5 + 3 + 1 });
    expect(r.selection.rounds).toHaveLength(1);
    expect(r.selection.rounds[0]).toMatchObject({ candidates: [0, 1, 2], judgment: 1, pick: 1, skipped: false, stop: 'eos' });
    expect(r.chosen).toBe(1);
    expect(r.answer).toBe('2');
    expect(events.some((x) => x.type === 'selection-token')).toBe(true);
    expect(events.some((x) => x.type === 'selection-end')).toBe(true);
  });

  it('a server killed mid-stream ends the unfinished candidates with stop error, keeping their text', async () => {
    const e = await loaded({ maxNPerRequest: 2 });
    // 2 role chunks, then content chunks alternating between the two choices: cut after 2 + 4
    server.replies.push({ kind: 'chat', texts: ['abcdefghijkl', 'mnopqrstuvwx'], cutAfterChunks: 6 });
    const r = await e.generateHeavy(heavyReq(2));
    expect(r.candidates.map((c) => c.stop)).toEqual(['error', 'error']);
    expect(r.candidates.map((c) => c.text)).toEqual(['abcdef', 'mnopqr']);
    expect(vllmChatStream(['abcdefghijkl', 'mnopqrstuvwx']).length).toBeGreaterThan(6);
  });

  it('one request refused (n above the server limit) stops the others and fails the run', async () => {
    const e = await loaded({ maxNPerRequest: 2 });
    server.replies.push({ kind: 'chat', seed: 5, texts: ['<think>long</think>'.repeat(50)], holdAfterChunks: 4 });
    server.replies.push({ kind: 'json', seed: 7, status: 400, body: { object: 'error', message: 'n is 2 but this server decodes at most 1 at once', type: 'BadRequestError', param: 'n', code: 400 } });
    const err = await rejection(e.generateHeavy(heavyReq(4)));
    expect(err.name).toBe('InvalidRequest');
    expect(err.message).toContain('at most 1');
    server.cut();
  });

  it('a refused heavy request (401) fails the run', async () => {
    const e = await loaded();
    server.apiKey = 'sk-new';
    expect((await rejection(e.generateHeavy(heavyReq(4)))).name).toBe('AccessDenied');
  });
});
