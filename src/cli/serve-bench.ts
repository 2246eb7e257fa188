// `bench-serve`: what serving over HTTP adds per token. The same greedy request (a raw prompt of about P tokens,
// G new tokens, n answers) is run R times each way on one loaded engine, alternating: in-process (Engine.generate,
// or generateMany for n > 1) and through `serve` on a local port (POST /v1/completions with stream: true, read by
// this process as SSE chunks arrive). Reports time to first token, decode tokens/s per answer and the added
// milliseconds per token (medians), the process's CPU time per token (steadier than wall time on a shared machine),
// with the engine's dispatches and readbacks per token, which must be equal.
import { BoxedError } from '../protocol/errors';
import { Rng } from '../sampler/rng';
import { numberFlag, parseFlags } from './args';
import { MODEL_FLAGS, openNodeEngine } from './node-engine';
import { modelIdFor } from './serve';
import { startServe } from './serve-http';
import type { Engine } from '../engine/engine';

interface Timing {
  tokens: number;
  ttftMs: number;
  /** From the first token to the last, per answer. */
  decodeTokensPerSecond: number;
  dispatchesPerToken: number;
  readbacksPerToken: number;
  /** CPU time of this process (every thread: JS, Dawn, and lavapipe's when it is the GPU) per generated token. */
  cpuMsPerToken: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function timing(engine: Engine, t0: number, tFirst: number, tLast: number, tokens: number, n: number, d0: { dispatches: number; readbacks: number; cpu: NodeJS.CpuUsage }): Timing {
  const stats = engine.context!.stats;
  const perSeq = tokens / n;
  const cpu = process.cpuUsage(d0.cpu);
  return {
    cpuMsPerToken: (cpu.user + cpu.system) / 1000 / Math.max(1, tokens),
    tokens,
    ttftMs: tFirst - t0,
    decodeTokensPerSecond: tLast > tFirst ? ((perSeq - 1) * 1000) / (tLast - tFirst) : 0,
    dispatchesPerToken: (stats.dispatches - d0.dispatches) / Math.max(1, perSeq),
    readbacksPerToken: (stats.readbacks - d0.readbacks) / Math.max(1, perSeq),
  };
}

export async function benchServeCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, [...MODEL_FLAGS, 'prompt-tokens', 'gen-tokens', 'n', 'runs'], ['json']);
  const promptTokens = numberFlag(f, 'prompt-tokens', 64, { min: 1, max: 1 << 20, integer: true });
  const genTokens = numberFlag(f, 'gen-tokens', 64, { min: 2, max: 1 << 20, integer: true });
  const n = numberFlag(f, 'n', 1, { min: 1, max: 16, integer: true });
  const runs = numberFlag(f, 'runs', 3, { min: 1, max: 100, integer: true });
  const { engine, info } = await openNodeEngine(f, { context: promptTokens * 2 + genTokens + 16, batch: n });
  const tok = engine.tokenizer!;
  const rng = new Rng(99);
  // ordinary text tokens, decoded to text (its re-encoding is about as long)
  const text = tok.decode(Array.from({ length: promptTokens }, () => rng.int(0, Math.min(tok.size, 151643) - 1)));
  const prompt = { kind: 'raw' as const, text };
  const sampling = { temperature: 0, topP: 1, topK: 0, seed: 0 };
  const { tokens: actualPrompt } = await engine.renderPrompt(prompt);
  if (actualPrompt + genTokens > info.context) throw new BoxedError('Internal', `the bench prompt has ${actualPrompt} tokens, more than planned`);
  const meter = { chunks: 0, ms: 0 };
  const serve = await startServe({ engine, info, modelId: modelIdFor(String(f.model)), host: '127.0.0.1', port: 0, corsOrigin: '*', meter });

  const inProcess = async (): Promise<Timing> => {
    const s = engine.context!.stats;
    const d0 = { dispatches: s.dispatches, readbacks: s.readbacks, cpu: process.cpuUsage() };
    const t0 = performance.now();
    let tFirst = 0;
    let tLast = 0;
    let tokens: number;
    const mark = () => {
      tLast = performance.now();
      if (tFirst === 0) tFirst = tLast;
    };
    if (n === 1) {
      const r = await engine.generate({ prompt, maxTokens: genTokens, sampling }, (e) => e.type === 'token' && e.id >= 0 && mark());
      tokens = r.ids.length;
    } else {
      const r = await engine.generateMany({ prompt, n, maxTokens: genTokens, sampling }, (step) => step.tokens.length > 0 && mark());
      tokens = r.sequences.reduce((a, q) => a + q.ids.length, 0);
    }
    return timing(engine, t0, tFirst, tLast, tokens, n, d0);
  };

  const overHttp = async (): Promise<Timing> => {
    const s = engine.context!.stats;
    const d0 = { dispatches: s.dispatches, readbacks: s.readbacks, cpu: process.cpuUsage() };
    const t0 = performance.now();
    const res = await fetch(`${serve.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: text, n, max_tokens: genTokens, temperature: 0, seed: 0, stream: true, stream_options: { include_usage: true } }),
    });
    if (!res.ok || !res.body) throw new BoxedError('Internal', `serve answered ${res.status}: ${await res.text()}`);
    let tFirst = 0;
    let tLast = 0;
    let tokens = 0;
    let buf = '';
    const decoder = new TextDecoder();
    for await (const part of res.body as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(part, { stream: true });
      let cut: number;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const line = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
        const c = JSON.parse(line.slice(6)) as { choices: { text: string }[]; usage?: { completion_tokens: number } };
        if (c.usage) tokens = c.usage.completion_tokens;
        if (c.choices.some((ch) => ch.text !== '')) {
          tLast = performance.now();
          if (tFirst === 0) tFirst = tLast;
        }
      }
    }
    return timing(engine, t0, tFirst, tLast, tokens, n, d0);
  };

  const a: Timing[] = [];
  const b: Timing[] = [];
  try {
    await inProcess(); // warm both paths once
    await overHttp();
    for (let i = 0; i < runs; i++) {
      a.push(await inProcess());
      b.push(await overHttp());
    }
  } finally {
    await serve.close();
  }
  const summary = (ts: Timing[]) => ({
    tokens: ts[0].tokens,
    ttft_ms: median(ts.map((t) => t.ttftMs)),
    decode_tokens_per_s: median(ts.map((t) => t.decodeTokensPerSecond)),
    dispatches_per_token_with_prefill: median(ts.map((t) => t.dispatchesPerToken)),
    readbacks_per_token_with_prefill: median(ts.map((t) => t.readbacksPerToken)),
    cpu_ms_per_token: median(ts.map((t) => t.cpuMsPerToken)),
  });
  const inproc = summary(a);
  const http = summary(b);
  const msPerToken = (tps: number) => (tps > 0 ? 1000 / tps : 0);
  const out = {
    model: info.name,
    weights: info.weights,
    adapter: info.gpu.adapter,
    prompt_tokens: actualPrompt,
    gen_tokens: genTokens,
    n,
    runs,
    in_process: inproc,
    http_stream: http,
    added_ms_per_token: msPerToken(http.decode_tokens_per_s) - msPerToken(inproc.decode_tokens_per_s),
    added_ttft_ms: http.ttft_ms - inproc.ttft_ms,
    // the server's own work per streamed chunk (a chunk is one token's text, or a role, finish or usage chunk)
    server_write_ms_per_chunk: meter.chunks > 0 ? meter.ms / meter.chunks : 0,
    server_chunks: meter.chunks,
    added_cpu_ms_per_token: http.cpu_ms_per_token - inproc.cpu_ms_per_token,
    http_over_in_process: inproc.decode_tokens_per_s > 0 ? http.decode_tokens_per_s / inproc.decode_tokens_per_s : 0,
  };
  process.stdout.write((f.json === true ? JSON.stringify(out) : JSON.stringify(out, null, 2)) + '\n');
  await engine.unload();
}
