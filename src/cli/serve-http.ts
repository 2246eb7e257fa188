// `serve`'s HTTP side: Boxed's engine behind OpenAI-compatible routes (node:http, no framework).
//   GET  /v1/models             the loaded model (its id: the folder's or file's name, or the hub repository)
//   POST /v1/chat/completions   messages through the model's chat template
//   POST /v1/completions        a raw prompt
//   GET  /health                200 when the server is up (no API key needed, as in vLLM)
// Both completion routes answer JSON, or with `stream: true` Server-Sent Events: `data: {chunk}\n\n` lines, a
// usage chunk when stream_options.include_usage is true, then `data: [DONE]`. `n` > 1 decodes the n answers
// together (Engine.generateMany, the batched decode); n = 1 is Engine.generate, the app's own path.
// The engine runs one request at a time: the others wait in a FIFO queue (at most MAX_WAITING; past that a
// request is answered 503). A client that disconnects, while waiting or while its answer is generated, is
// dropped and its generation stopped (Engine.stop), so the next request is served at once.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Engine } from '../engine/engine';
import type { ModelInfo, StopReason } from '../protocol/engine';
import { toErrorInfo } from '../protocol/errors';
import type {
  OpenAiChatChunk,
  OpenAiChatResponse,
  OpenAiCompletionResponse,
  OpenAiFinishReason,
  OpenAiModelList,
  OpenAiUsage,
} from '../protocol/openai';
import { HttpError, parseServeRequest, StopScanner, type Route, type ServeRequest } from './serve-request';

/** Requests that may wait for the engine; one more is answered 503. */
export const MAX_WAITING = 16;
/** The largest request body read (a long chat is well under it). */
export const MAX_BODY_BYTES = 8 << 20;

export interface ServeOptions {
  engine: Engine;
  info: ModelInfo;
  modelId: string;
  host: string;
  port: number;
  /** Required as `Authorization: Bearer KEY` on /v1 routes when set. */
  apiKey?: string;
  /** '*' or a comma-separated list of origins allowed to call the server from a browser page. */
  corsOrigin: string;
  /** One line per request (stderr in the CLI). */
  log?: (line: string) => void;
  /** When given, counts the SSE chunks sent and the milliseconds spent encoding and writing them (bench-serve). */
  meter?: { chunks: number; ms: number };
}

export interface ServeHandle {
  server: Server;
  url: string;
  port: number;
  /** Stops listening, stops the running generation, drops the waiting requests and waits for the engine. */
  close(): Promise<void>;
}

interface SeqOut {
  scanner: StopScanner;
  ids: number[];
  /** Tokens produced up to the stop string (or the end). */
  tokens: number;
  finish: OpenAiFinishReason;
}

interface Job {
  req: ServeRequest;
  promptTokens: number;
  maxTokens: number;
  /** The client went away: do not start, or stop. */
  gone: boolean;
  onText(seq: number, text: string): void;
  onEnd(seq: number, seqOut: SeqOut): void;
}

const finishOf = (stop: StopReason): OpenAiFinishReason => (stop === 'eos' ? 'stop' : stop === 'max-tokens' || stop === 'context-full' ? 'length' : 'abort');

export async function startServe(opts: ServeOptions): Promise<ServeHandle> {
  const { engine, info, modelId } = opts;
  const context = info.context;
  const maxN = info.batch ?? 1;
  const created = Math.floor(Date.now() / 1000);
  const log = opts.log ?? (() => {});
  const origins = opts.corsOrigin.split(',').map((s) => s.trim()).filter(Boolean);
  let running: Job | null = null;
  let idle: Promise<void> = Promise.resolve();
  let waiting = 0;
  let closing = false;

  const cors = (req: IncomingMessage, res: ServerResponse) => {
    if (origins.includes('*')) {
      res.setHeader('Access-Control-Allow-Origin', '*');
      return;
    }
    res.setHeader('Vary', 'Origin');
    const origin = req.headers.origin;
    if (origin && origins.includes(origin)) res.setHeader('Access-Control-Allow-Origin', origin);
  };

  const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const data = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data), ...headers });
    res.end(data);
  };

  const authorized = (req: IncomingMessage): boolean => {
    if (opts.apiKey === undefined) return true;
    const h = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(h);
    const given = Buffer.from(m ? m[1].trim() : '');
    const want = Buffer.from(opts.apiKey);
    return given.length === want.length && timingSafeEqual(given, want);
  };

  /** Runs a job on the engine; the texts and ends go to the job's callbacks as they are produced. */
  const runJob = async (job: Job): Promise<void> => {
    const { req } = job;
    const outs: SeqOut[] = Array.from({ length: req.n }, () => ({ scanner: new StopScanner(req.stop), ids: [], tokens: 0, finish: null }));
    const piece = (seq: number, id: number, text: string) => {
      const o = outs[seq];
      if (job.gone) void engine.stop(); // the client left (its close event came as the engine started)
      if (o.finish !== null) return;
      if (id >= 0) {
        o.ids.push(id);
        o.tokens++;
      }
      const out = o.scanner.push(text);
      if (out) job.onText(seq, out);
      if (o.scanner.stopped) {
        o.finish = 'stop';
        job.onEnd(seq, o);
        // every answer has met a stop string: the rest of the decode is not needed
        if (outs.every((x) => x.finish !== null)) void engine.stop();
      }
    };
    const end = (seq: number, stop: StopReason) => {
      const o = outs[seq];
      if (o.finish !== null) return;
      const rest = o.scanner.flush();
      if (rest) job.onText(seq, rest);
      o.finish = finishOf(stop);
      job.onEnd(seq, o);
    };
    const sampling = req.sampling;
    if (req.n === 1) {
      const r = await engine.generate({ prompt: req.prompt, maxTokens: job.maxTokens, sampling }, (e) => {
        if (e.type === 'token') piece(0, e.id, e.text);
      });
      end(0, r.stop);
    } else {
      await engine.generateMany({ prompt: req.prompt, n: req.n, maxTokens: job.maxTokens, sampling }, (step) => {
        for (const t of step.tokens) piece(t.seq, t.id, t.text);
        for (const e of step.ended) end(e.seq, e.stop);
      });
      for (let i = 0; i < req.n; i++) end(i, 'aborted');
    }
  };

  /** Waits its turn (FIFO), then runs; a job whose client left is skipped. */
  const enqueue = (job: Job): Promise<void> => {
    if (waiting >= MAX_WAITING) throw busyError(waiting);
    waiting++;
    const turn = idle.then(async () => {
      waiting--;
      if (job.gone) return;
      if (closing) throw new HttpError(503, 'the server is shutting down', null, 'shutting_down');
      running = job;
      try {
        await runJob(job);
      } finally {
        running = null;
      }
    });
    idle = turn.catch(() => undefined);
    return turn;
  };

  const readBody = (req: IncomingMessage): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) {
          reject(new HttpError(413, `the request body is larger than ${MAX_BODY_BYTES} bytes`));
          req.destroy();
        } else chunks.push(c);
      });
      req.on('error', reject);
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve(JSON.parse(text));
        } catch (e) {
          reject(new HttpError(400, `the request body is not valid JSON: ${(e as Error).message}`));
        }
      });
    });

  const complete = async (route: Route, req: IncomingMessage, res: ServerResponse) => {
    const sr = parseServeRequest(route, await readBody(req), { modelId, maxN });
    const rendered = await engine.renderPrompt(sr.prompt).catch((e: unknown) => {
      throw engineError(e, route === 'chat' ? 'messages' : 'prompt');
    });
    const promptTokens = rendered.tokens;
    const maxTokens = sr.maxTokens ?? context - promptTokens;
    if (promptTokens + Math.max(1, maxTokens) > context) {
      const asked = sr.maxTokens === null ? '' : ` + ${maxTokens} (max_tokens) = ${promptTokens + maxTokens}`;
      throw new HttpError(
        400,
        `This model's context is ${context} tokens (serve --context ${context}), but the request needs ${promptTokens} prompt tokens${asked}. ` +
          'Shorten the prompt or max_tokens, or restart serve with a larger --context.',
        sr.maxTokens === null ? (route === 'chat' ? 'messages' : 'prompt') : 'max_tokens',
        'context_length_exceeded',
      );
    }
    const id = `${route === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`;
    const now = Math.floor(Date.now() / 1000);
    const usage = (outs: (SeqOut | null)[]): OpenAiUsage => {
      const completion = outs.reduce((a, o) => a + (o?.tokens ?? 0), 0);
      return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion };
    };
    const ends = new Array<SeqOut | null>(sr.n).fill(null);
    const texts = new Array<string>(sr.n).fill('');
    const job: Job = { req: sr, promptTokens, maxTokens, gone: false, onText: () => {}, onEnd: () => {} };
    res.on('close', () => {
      if (res.writableFinished) return;
      job.gone = true;
      if (running === job) void engine.stop();
    });

    if (!sr.stream) {
      job.onText = (seq, text) => (texts[seq] += text);
      job.onEnd = (seq, o) => (ends[seq] = o);
      await enqueue(job);
      if (job.gone) return;
      const ids = (i: number) => (sr.returnTokenIds ? { token_ids: ends[i]?.ids ?? [] } : {});
      const finish = (i: number) => ends[i]?.finish ?? 'abort';
      if (route === 'chat') {
        const body: OpenAiChatResponse = {
          id,
          object: 'chat.completion',
          created: now,
          model: modelId,
          choices: texts.map((content, index) => ({ index, message: { role: 'assistant', content }, finish_reason: finish(index), ...ids(index) })),
          usage: usage(ends),
        };
        sendJson(res, 200, body);
      } else {
        const body: OpenAiCompletionResponse = {
          id,
          object: 'text_completion',
          created: now,
          model: modelId,
          choices: texts.map((text, index) => ({ index, text, finish_reason: finish(index), logprobs: null, ...ids(index) })),
          usage: usage(ends),
        };
        sendJson(res, 200, body);
      }
      return;
    }

    if (waiting >= MAX_WAITING) throw busyError(waiting);
    // streaming: headers now, so a client sees the connection is alive while it waits for the engine
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
    const meter = opts.meter;
    const send = (data: unknown) => {
      if (job.gone) return;
      const t = meter ? performance.now() : 0;
      res.write(`data: ${JSON.stringify(data)}\n\n`);
      if (meter) {
        meter.chunks++;
        meter.ms += performance.now() - t;
      }
    };
    const chunk = (index: number, text: string | null, finish: OpenAiFinishReason, extra: { role?: true; ids?: number[] } = {}) => {
      const tokenIds = extra.ids && sr.returnTokenIds ? { token_ids: extra.ids } : {};
      if (route === 'chat') {
        const delta = { ...(extra.role ? { role: 'assistant' as const } : {}), ...(text !== null ? { content: text } : {}) };
        const c: OpenAiChatChunk = { id, object: 'chat.completion.chunk', created: now, model: modelId, choices: [{ index, delta, finish_reason: finish, ...tokenIds }] };
        send(c);
      } else {
        const c: OpenAiCompletionResponse = { id, object: 'text_completion', created: now, model: modelId, choices: [{ index, text: text ?? '', finish_reason: finish, logprobs: null, ...tokenIds }] };
        send(c);
      }
    };
    let started = false;
    // the role chunk of every choice comes first (chat), once the engine starts on the request
    const start = () => {
      if (started) return;
      started = true;
      if (route === 'chat') for (let i = 0; i < sr.n; i++) chunk(i, '', null, { role: true });
    };
    job.onText = (seq, text) => {
      start();
      chunk(seq, text, null);
    };
    job.onEnd = (seq, o) => {
      start();
      ends[seq] = o;
      chunk(seq, route === 'chat' ? null : '', o.finish, { ids: o.ids });
    };
    try {
      await enqueue(job);
    } catch (e) {
      // the headers are sent: the error goes in the stream, as vLLM does
      const err = e instanceof HttpError ? e : new HttpError(500, toErrorInfo(e).message);
      send(err.body());
    }
    if (job.gone) return;
    start();
    for (let i = 0; i < sr.n; i++) if (!ends[i]) chunk(i, route === 'chat' ? null : '', 'abort');
    if (sr.includeUsage) {
      const u = usage(ends);
      send(route === 'chat' ? { id, object: 'chat.completion.chunk', created: now, model: modelId, choices: [], usage: u } : { id, object: 'text_completion', created: now, model: modelId, choices: [], usage: u });
    }
    res.end('data: [DONE]\n\n');
  };

  const routes: Record<string, { method: string; auth: boolean; run: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void }> = {
    '/v1/models': {
      method: 'GET',
      auth: true,
      run: (_req, res) => {
        const list: OpenAiModelList = { object: 'list', data: [{ id: modelId, object: 'model', created, owned_by: 'boxed', max_model_len: context }] };
        sendJson(res, 200, list);
      },
    },
    '/v1/chat/completions': { method: 'POST', auth: true, run: (req, res) => complete('chat', req, res) },
    '/v1/completions': { method: 'POST', auth: true, run: (req, res) => complete('completions', req, res) },
    '/health': { method: 'GET', auth: false, run: (_req, res) => sendJson(res, 200, { status: 'ok' }) },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const t0 = performance.now();
    const path = (req.url ?? '/').split('?')[0];
    cors(req, res);
    res.on('finish', () => log(`${req.method} ${path} ${res.statusCode} ${Math.round(performance.now() - t0)} ms`));
    try {
      if (req.method === 'OPTIONS') {
        res.writeHead(204, {
          'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
          'Access-Control-Allow-Headers': 'authorization, content-type',
          'Access-Control-Max-Age': '600',
        });
        res.end();
        return;
      }
      const route = routes[path];
      if (!route) throw new HttpError(404, `no route ${path}: this server answers ${Object.keys(routes).join(', ')}`, null, 'not_found');
      if (req.method !== route.method) {
        res.setHeader('Allow', `${route.method}, OPTIONS`);
        throw new HttpError(405, `${path} takes ${route.method}, not ${req.method}`, null, 'method_not_allowed');
      }
      if (route.auth && !authorized(req)) {
        throw new HttpError(401, 'a valid API key is required: send Authorization: Bearer KEY (the key serve was started with)', null, 'invalid_api_key');
      }
      if (closing) throw new HttpError(503, 'the server is shutting down', null, 'shutting_down');
      await route.run(req, res);
    } catch (e) {
      const err = e instanceof HttpError ? e : engineError(e);
      if (!res.headersSent) sendJson(res, err.status, err.body());
      else res.end();
    }
  };

  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    server,
    port,
    url: `http://${hostForUrl}:${port}`,
    close: async () => {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if (running) await engine.stop();
      server.closeIdleConnections();
      await idle;
      server.closeAllConnections();
      await closed;
    },
  };
}

const busyError = (waiting: number) => new HttpError(503, `the server is busy: ${waiting} requests are already waiting for the engine; try again later`, null, 'busy');

/** An engine failure as an HTTP error: bad input (a chat template that refuses the messages too) is 400, the rest 500. */
function engineError(e: unknown, param: string | null = null): HttpError {
  const info = toErrorInfo(e);
  if (info.name === 'InvalidRequest' || info.name === 'ModelFormat') return new HttpError(400, info.message, param);
  return new HttpError(500, `${info.name}: ${info.message}`, null, info.name);
}
