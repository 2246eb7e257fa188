// Tests only (Node): a real local HTTP server that answers like vLLM's OpenAI-compatible server, replaying
// recorded SSE (fixtures/*.sse, written from vLLM's documented stream format) or streams built in that same
// format from given texts. Every request is recorded (method, path, headers, JSON body) for the tests to check.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';

export interface Recorded {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown> | null;
}

/** What the next POST is answered with. */
export type Reply = (
  | { kind: 'sse'; text: string; /** close the connection after this many characters */ cutAfter?: number }
  | { kind: 'json'; status: number; body: unknown }
  /** a vLLM-format chat stream of these texts (one per choice, split into pieces of `piece` characters) */
  | {
      kind: 'chat';
      texts: string[];
      finish?: ('stop' | 'length')[];
      piece?: number;
      /** close the connection after this many chunks */
      cutAfterChunks?: number;
      /** send this many chunks, then hold the stream open until cut() closes it (as when the server dies) */
      holdAfterChunks?: number;
    }
) & { /** only for the request with this seed (requests sent together may arrive in any order) */ seed?: number };

export function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
}

/** A chat stream exactly as vLLM writes it: role chunk per choice, content deltas interleaved, finish chunks, usage, [DONE]. */
export function vllmChatStream(texts: string[], opts: { finish?: ('stop' | 'length')[]; piece?: number; model?: string } = {}): string[] {
  const head = { id: 'chatcmpl-5e1f0c9d22', object: 'chat.completion.chunk', created: 1764660002, model: opts.model ?? 'boxed-test' };
  const chunk = (choices: unknown[], extra: object = {}) => `data: ${JSON.stringify({ ...head, choices, ...extra })}\n\n`;
  const out: string[] = [];
  texts.forEach((_, index) => out.push(chunk([{ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }])));
  const size = opts.piece ?? 3;
  const pieces = texts.map((t) => Array.from({ length: Math.ceil(t.length / size) }, (_, k) => t.slice(k * size, (k + 1) * size)));
  const longest = Math.max(0, ...pieces.map((p) => p.length));
  for (let k = 0; k < longest; k++) {
    pieces.forEach((p, index) => {
      if (k < p.length) out.push(chunk([{ index, delta: { content: p[k] }, logprobs: null, finish_reason: null }]));
    });
  }
  texts.forEach((_, index) => out.push(chunk([{ index, delta: { content: '' }, logprobs: null, finish_reason: opts.finish?.[index] ?? 'stop', stop_reason: null }])));
  const completion = pieces.reduce((a, p) => a + p.length, 0);
  out.push(chunk([], { usage: { prompt_tokens: 17, total_tokens: 17 + completion, completion_tokens: completion } }));
  out.push('data: [DONE]\n\n');
  return out;
}

export interface ReplayServer {
  url: string;
  requests: Recorded[];
  /** Replies to the next POSTs, in order; when empty, `fallback` answers. */
  replies: Reply[];
  fallback: Reply;
  /** Models listed by GET /v1/models. */
  models: { id: string; max_model_len?: number }[];
  /** When set, every request needs `Authorization: Bearer <apiKey>` (vLLM's --api-key): 401 otherwise. */
  apiKey?: string;
  /** When set, CORS headers allow this origin (vLLM's --allowed-origins); otherwise none are sent. */
  allowOrigin?: string;
  /** Closes the connections of held streams (holdAfterChunks) without ending their responses. */
  cut(): void;
  close(): Promise<void>;
}

export async function startReplayServer(): Promise<ReplayServer> {
  const held = new Set<ServerResponse>();
  const state: Omit<ReplayServer, 'url' | 'close' | 'cut'> = { requests: [], replies: [], fallback: { kind: 'chat', texts: ['<think>ok</think>\n\\boxed{1}'] }, models: [{ id: 'boxed-test', max_model_len: 4096 }] };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> | null = null;
    try {
      body = raw ? (JSON.parse(raw) as Record<string, unknown>) : null;
    } catch {
      body = null;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (state.allowOrigin) {
      res.setHeader('Access-Control-Allow-Origin', state.allowOrigin);
      res.setHeader('Access-Control-Allow-Headers', 'authorization, content-type');
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(state.allowOrigin ? 204 : 405).end();
      return;
    }
    state.requests.push({ method: req.method ?? '', path, headers: req.headers, body });
    if (state.apiKey && req.headers.authorization !== `Bearer ${state.apiKey}`) {
      res.writeHead(401, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'Unauthorized' }));
      return;
    }
    if (req.method === 'GET' && path === '/v1/models') {
      const data = state.models.map((m) => ({ id: m.id, object: 'model', created: 1764660000, owned_by: 'vllm', root: m.id, parent: null, ...(m.max_model_len ? { max_model_len: m.max_model_len } : {}) }));
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ object: 'list', data }));
      return;
    }
    if (req.method !== 'POST' || (path !== '/v1/chat/completions' && path !== '/v1/completions')) {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ object: 'error', message: 'Not Found', type: 'NotFoundError', param: null, code: 404 }));
      return;
    }
    const model = body?.model;
    if (!state.models.some((m) => m.id === model)) {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ object: 'error', message: `The model \`${String(model)}\` does not exist.`, type: 'NotFoundError', param: null, code: 404 }));
      return;
    }
    const at = state.replies.findIndex((r) => r.seed === undefined || r.seed === body?.seed);
    const reply = at >= 0 ? state.replies.splice(at, 1)[0] : state.fallback;
    if (reply.kind === 'json') {
      res.writeHead(reply.status, { 'Content-Type': 'application/json' }).end(JSON.stringify(reply.body));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    const parts = reply.kind === 'sse' ? [reply.text] : vllmChatStream(reply.texts, { finish: reply.finish, piece: reply.piece });
    if (reply.kind === 'sse' && reply.cutAfter !== undefined) {
      res.write(reply.text.slice(0, reply.cutAfter), () => res.socket?.end()); // as when the server's process dies: FIN, no chunked end
      return;
    }
    const cut = reply.kind === 'chat' ? reply.cutAfterChunks : undefined;
    const hold = reply.kind === 'chat' ? reply.holdAfterChunks : undefined;
    for (let i = 0; i < parts.length; i++) {
      if (cut !== undefined && i === cut) {
        res.socket?.end();
        return;
      }
      if (hold !== undefined && i === hold) {
        held.add(res);
        return;
      }
      await new Promise<void>((resolve) => res.write(parts[i], () => resolve()));
    }
    res.end();
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      res.destroy(e instanceof Error ? e : new Error(String(e)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const out = state as ReplayServer;
  out.url = `http://127.0.0.1:${port}`;
  out.cut = () => {
    for (const res of held) res.socket?.end();
    held.clear();
  };
  out.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return out;
}
