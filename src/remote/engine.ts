// The server engine: EngineApi over an OpenAI-compatible server (vLLM, SGLang, llama.cpp's server, Boxed's own
// `serve`), without WebGPU. The server renders its own chat template and tokenizes; this side streams the
// answer (client.ts), and in heavy mode asks for N candidates with `n` (several requests when N is above the
// per-request limit), then reads, votes, tallies and runs GenSelect on what was streamed exactly as the GPU
// engine does (src/reasoning, src/engine/select.ts's runGenSelectWith). Stop aborts every fetch.
//
// Continuing an answer (continueFrom): a raw prompt is sent again with the text appended (/v1/completions); a
// chat prompt is sent with the text as a final assistant message and vLLM's `continue_final_message: true`,
// `add_generation_prompt: false`, so the model carries on inside that message. A server without these
// extensions (e.g. OpenAI's own API) starts a new assistant turn instead; docs/server.md says so.
import type {
  EngineApi,
  GenerateEvent,
  GenerateRequest,
  GenerateResult,
  GenerateStats,
  GpuReport,
  HeavyCandidate,
  HeavyEvent,
  HeavyRequest,
  HeavyResult,
  LoadEvent,
  LoadRequest,
  ModelInfo,
  SamplingParams,
  StopReason,
} from '../protocol/engine';
import { BoxedError, toErrorInfo, type ErrorInfo } from '../protocol/errors';
import type { OpenAiChatMessage, OpenAiFinishReason, OpenAiSamplingFields, OpenAiUsage } from '../protocol/openai';
import type { ChatMessage } from '../chat/template';
import { extractAnswer } from '../reasoning/answer';
import { SERVER_MAX_SAMPLES } from '../protocol/lists';
import { combineCandidates, type SelectionModel } from '../engine/select';
import { OpenAiClient, serverHost, type ClientOptions, type ServerTarget } from './client';


export interface ServerEngineOptions extends ClientOptions {
  /** Completions asked for in one request (`n`); more candidates are split into several requests (default 16). */
  maxNPerRequest?: number;
  /**
   * Ask for the generated token ids too (`return_token_ids: true`, an extension of vLLM and Boxed's serve; a
   * strict server such as OpenAI's own refuses unknown fields, so it is off by default and ids are then empty).
   */
  tokenIds?: boolean;
  /** Characters per token, for estimating a GenSelect prompt's length against the server's context (default 3). */
  charsPerToken?: number;
}

const NO_GPU: GpuReport = {
  adapter: { vendor: '', architecture: '', device: '', description: 'an OpenAI-compatible server', isFallback: false },
  features: { shaderF16: false, subgroups: false, timestampQuery: false },
  limits: { maxStorageBufferBindingSize: 0, maxBufferSize: 0, maxComputeInvocationsPerWorkgroup: 0, maxStorageBuffersPerShaderStage: 0, maxComputeWorkgroupStorageSize: 0 },
};

function stopOf(reason: OpenAiFinishReason | undefined): StopReason {
  if (reason === 'stop') return 'eos';
  if (reason === 'length') return 'max-tokens';
  if (reason === 'abort') return 'aborted';
  return 'error';
}

/** The request fields shared by both routes. */
function samplingFields(model: string, maxTokens: number, s: SamplingParams, n: number): OpenAiSamplingFields {
  return {
    model,
    n,
    max_tokens: maxTokens,
    temperature: s.temperature,
    top_p: s.topP,
    ...(s.topK > 0 ? { top_k: s.topK } : {}),
    seed: s.seed >>> 0,
    stream_options: { include_usage: true },
  };
}

/** One streamed request's outcome per choice. */
interface Stream {
  texts: string[];
  ids: number[][];
  counts: number[];
  finish: (OpenAiFinishReason | undefined)[];
  usage: OpenAiUsage | null;
  /** The error that ended the stream, when one did. */
  error: BoxedError | null;
  firstAt: number;
}

export class ServerEngine implements EngineApi {
  private client: OpenAiClient | null = null;
  private info: ModelInfo | null = null;
  private aborts = new Set<AbortController>();
  private busy = false;
  private stopRequested = false;

  constructor(private readonly opts: ServerEngineOptions = {}) {}

  async probe(): Promise<GpuReport> {
    return NO_GPU;
  }

  /** Checks the server: GET /v1/models must list the model. */
  async load(req: LoadRequest, onEvent: (e: LoadEvent) => void = () => {}): Promise<ModelInfo> {
    this.guardIdle();
    await this.unload();
    const src = req.source;
    if (src.kind !== 'server') throw new BoxedError('InvalidRequest', `the server engine loads a server model, not a ${src.kind} source`);
    if (src.model.trim() === '') throw new BoxedError('InvalidRequest', 'name the model the server serves');
    const target: ServerTarget = { endpoint: src.endpoint, model: src.model.trim(), apiKey: src.apiKey?.trim() || undefined };
    const client = new OpenAiClient(target, this.opts);
    onEvent({ type: 'phase', phase: 'download' });
    const abort = this.newAbort();
    let list;
    try {
      list = await client.models(abort.signal);
    } finally {
      this.aborts.delete(abort);
    }
    const entry = list.data.find((m) => m.id === target.model);
    if (!entry) {
      const names = list.data.map((m) => m.id);
      throw new BoxedError('NotFound', `the server at ${serverHost(src.endpoint)} has no model "${target.model}"; it serves: ${names.length ? names.join(', ') : 'nothing'}`, {
        detail: { server: true, models: names.join(', ') },
      });
    }
    const maxModelLen = typeof entry.max_model_len === 'number' && entry.max_model_len > 0 ? entry.max_model_len : undefined;
    const host = serverHost(src.endpoint);
    this.client = client;
    this.info = {
      name: `${target.model} (server ${host})`,
      config: { hiddenSize: 0, layers: 0, heads: 0, kvHeads: 0, headDim: 0, vocabSize: 0, intermediateSize: 0, tiedEmbeddings: false, maxPositions: maxModelLen ?? 0 },
      memory: { weights: 0, kvCache: 0, activations: 0, total: 0 },
      gpu: NO_GPU,
      weights: req.weights,
      context: maxModelLen ?? req.context,
      batch: SERVER_MAX_SAMPLES,
      server: { endpoint: client.root, host, model: target.model, ...(maxModelLen ? { maxModelLen } : {}) },
    };
    return this.info;
  }

  /** The server applies its own chat template: this is what is sent, and a rough token count. */
  async renderPrompt(prompt: GenerateRequest['prompt']): Promise<{ text: string; tokens: number }> {
    this.requireClient();
    const text = prompt.kind === 'raw' ? prompt.text : prompt.messages.map((m) => `[${m.role}]\n${m.content}`).join('\n\n');
    const note = prompt.kind === 'raw' ? '' : '(sent as chat messages; the server applies its own chat template)\n\n';
    return { text: note + text, tokens: this.estimateTokens(text) };
  }

  async generate(req: GenerateRequest, onEvent: (e: GenerateEvent) => void = () => {}): Promise<GenerateResult> {
    const client = this.requireClient();
    this.guardIdle();
    this.busy = true;
    this.stopRequested = false;
    const t0 = performance.now();
    try {
      const s = await this.stream(client, req.prompt, req.continueFrom, req.maxTokens, req.sampling, 1, (_i, text, count, id) => onEvent({ type: 'token', text, id, count }));
      const stats = this.stats(s, t0);
      onEvent({ type: 'stats', stats });
      const stop = s.error ? (s.error.name === 'Aborted' ? 'aborted' : 'error') : stopOf(s.finish[0]);
      const error: ErrorInfo | undefined = s.error && s.error.name !== 'Aborted' ? s.error.toInfo() : undefined;
      return { text: s.texts[0], ids: s.ids[0], stop, stats, ...(error ? { error } : {}) };
    } finally {
      this.busy = false;
    }
  }

  async generateHeavy(req: HeavyRequest, onEvents: (events: HeavyEvent[]) => void = () => {}): Promise<HeavyResult> {
    const client = this.requireClient();
    const n = req.samples;
    if (!Number.isInteger(n) || n < 1 || n > SERVER_MAX_SAMPLES) throw new BoxedError('InvalidRequest', `samples must be an integer in 1..${SERVER_MAX_SAMPLES}, got ${n}`);
    if (req.select !== 'vote' && req.select !== 'genselect') throw new BoxedError('InvalidRequest', `select must be vote or genselect, got ${String(req.select)}`);
    const prefixes = req.continueFrom ?? [];
    if (prefixes.length > n) throw new BoxedError('InvalidRequest', `continueFrom has ${prefixes.length} texts for ${n} candidates`);
    this.guardIdle();
    this.busy = true;
    this.stopRequested = false;
    try {
      return await this.heavy(client, req, onEvents);
    } finally {
      this.busy = false;
    }
  }

  private async heavy(client: OpenAiClient, req: HeavyRequest, emit: (events: HeavyEvent[]) => void): Promise<HeavyResult> {
    const n = req.samples;
    const prefixes = req.continueFrom ?? [];
    const perRequest = Math.max(1, Math.floor(this.opts.maxNPerRequest ?? 16));
    // candidates that continue a text each need their own request; the others share requests of up to perRequest
    // candidates that had already ended before a Continue (continueDone) are kept as they are, not requested
    const kept = (i: number) => {
      const d = req.continueDone?.[i];
      return d !== undefined && d !== null && d !== 'aborted';
    };
    const groups: number[][] = [];
    const fresh: number[] = [];
    for (let i = 0; i < n; i++) {
      if (kept(i)) continue;
      if (prefixes[i]) groups.push([i]);
      else fresh.push(i);
    }
    for (let k = 0; k < fresh.length; k += perRequest) groups.push(fresh.slice(k, k + perRequest));
    const texts = Array.from({ length: n }, (_, i) => prefixes[i] ?? '');
    const answers = new Array<string | null>(n).fill(null);
    const ended = new Array<boolean>(n).fill(false);
    const counts = new Array<number>(n).fill(0);
    const t0 = performance.now();
    const end = (seq: number, stop: StopReason) => {
      if (ended[seq]) return;
      ended[seq] = true;
      answers[seq] = extractAnswer(req.mode, texts[seq]);
      emit([{ type: 'candidate-end', seq, stop, answer: answers[seq] }]);
    };
    // request g samples with seed + (its first candidate): one candidate per request gives candidate i seed + i
    let refused: BoxedError | null = null;
    const streams = await Promise.all(
      groups.map((members) =>
        this.stream(
          client,
          req.prompt,
          prefixes[members[0]] || undefined,
          req.maxTokens,
          { ...req.sampling, seed: (req.sampling.seed + members[0]) >>> 0 },
          members.length,
          (j, text, count) => {
            const seq = members[j];
            texts[seq] += text;
            counts[seq] = count;
            emit([{ type: 'token', seq, text, count }]);
          },
          (j, reason) => end(members[j], stopOf(reason)),
        ).catch((e: unknown) => {
          // a request the server refused (401, an overflow, n above its limit): the run cannot be whole, so the
          // other requests are stopped and the refusal is the run's error
          refused ??= e instanceof BoxedError ? e : new BoxedError('ServerError', toErrorInfo(e).message, { cause: e });
          for (const a of this.aborts) a.abort();
          return null;
        }),
      ),
    );
    if (refused) throw refused;
    const candidates: HeavyCandidate[] = new Array(n);
    for (let seq = 0; seq < n; seq++) {
      if (!kept(seq)) continue;
      const stop = req.continueDone![seq]!;
      end(seq, stop);
      candidates[seq] = { text: texts[seq], ids: [], answer: answers[seq], stop };
    }
    groups.forEach((members, g) => {
      const s = streams[g]!;
      members.forEach((seq, j) => {
        const stop = s.finish[j] !== undefined && s.finish[j] !== null ? stopOf(s.finish[j]) : s.error?.name === 'Aborted' ? 'aborted' : 'error';
        end(seq, stop);
        candidates[seq] = { text: texts[seq], ids: s.ids[j], answer: answers[seq], stop };
      });
    });
    const { vote, tally, selection, chosen, selectionTokens } = await combineCandidates(
      this.selectionModel(client),
      { shouldStop: () => this.stopRequested, emit },
      { req, texts, answers },
      candidates.map((c) => c.stop),
    );
    const done = streams.filter((s) => s !== null);
    const firstAt = Math.min(...done.map((s) => s.firstAt || Infinity));
    const generated = done.reduce((a, s) => a + (s.usage?.completion_tokens ?? s.counts.reduce((x, y) => x + y, 0)), 0);
    const spanMs = performance.now() - (Number.isFinite(firstAt) ? firstAt : t0);
    const stats = {
      promptTokens: done[0]?.usage?.prompt_tokens ?? 0,
      prefilledTokens: done.reduce((a, s) => a + (s.usage?.prompt_tokens ?? 0), 0),
      timeToFirstTokenMs: Number.isFinite(firstAt) ? firstAt - t0 : 0,
      decodeSteps: Math.max(0, ...counts),
      decodeRows: generated,
      aggregateTokensPerSecond: spanMs > 0 ? (generated * 1000) / spanMs : 0,
      // the server's own kernels: no dispatches or readbacks on this side
      dispatchesPerStep: 0,
      readbacksPerStep: 0,
      selectionTokens,
    };
    emit([{ type: 'stats', stats }]);
    return { candidates, vote, tally, selection, chosen, answer: chosen === null ? null : answers[chosen], stats };
  }

  /** GenSelect's rounds on the server: chat requests; prompt lengths are estimated from characters. */
  private selectionModel(client: OpenAiClient): SelectionModel {
    return {
      context: this.info?.server?.maxModelLen ?? Infinity,
      promptTokens: (messages) => this.estimateTokens(messages.map((m) => m.content).join('\n')) + 8 * messages.length,
      generate: async (messages: ChatMessage[], o) => {
        const s = await this.stream(client, { kind: 'chat', messages }, undefined, o.maxTokens, o.sampling, 1, (_i, text, count) => o.onText(text, count));
        if (s.error && s.error.name !== 'Aborted' && s.texts[0] === '') throw s.error;
        const stop = s.error ? (s.error.name === 'Aborted' ? 'aborted' : 'error') : stopOf(s.finish[0]);
        return { text: s.texts[0], tokens: s.usage?.completion_tokens ?? s.counts[0], stop };
      },
    };
  }

  /**
   * One streamed request with `n` choices. Tokens go to onText as they arrive; a stream that fails after the
   * request was accepted (cut, stopped) returns what it had with `error` set; a refused request throws, unless
   * it is an abort.
   */
  private async stream(
    client: OpenAiClient,
    prompt: GenerateRequest['prompt'],
    continueFrom: string | undefined,
    maxTokens: number,
    sampling: SamplingParams,
    n: number,
    onText: (index: number, text: string, count: number, id: number) => void,
    onFinish: (index: number, reason: OpenAiFinishReason) => void = () => {},
  ): Promise<Stream> {
    if (!(Number.isInteger(maxTokens) && maxTokens >= 1)) throw new BoxedError('InvalidRequest', `maxTokens must be a positive integer, got ${maxTokens}`);
    const s: Stream = { texts: new Array<string>(n).fill(''), ids: Array.from({ length: n }, () => []), counts: new Array<number>(n).fill(0), finish: new Array(n).fill(undefined), usage: null, error: null, firstAt: 0 };
    const abort = this.newAbort();
    if (this.stopRequested) abort.abort();
    const fields = { ...samplingFields(client.target.model, maxTokens, sampling, n), ...(this.opts.tokenIds ? { return_token_ids: true } : {}) };
    const piece = (index: number, text: string, ids: number[] | null | undefined, reason: OpenAiFinishReason | undefined) => {
      if (!(index >= 0 && index < n)) return;
      // ids come per chunk (vLLM) or all at once on the choice's last chunk (Boxed's serve), text or not
      if (ids && ids.length > 0) s.ids[index].push(...ids);
      if (text) {
        s.firstAt ||= performance.now();
        s.texts[index] += text;
        s.counts[index] = Math.max(s.counts[index] + 1, s.ids[index].length);
        onText(index, text, s.counts[index], ids && ids.length === 1 ? ids[0] : -1);
      }
      if (reason) {
        s.finish[index] = reason;
        onFinish(index, reason);
      }
    };
    try {
      if (prompt.kind === 'raw') {
        for await (const c of client.streamCompletion({ ...fields, prompt: prompt.text + (continueFrom ?? '') }, abort.signal)) {
          if (c.usage) s.usage = c.usage;
          for (const ch of c.choices ?? []) piece(ch.index, ch.text ?? '', ch.token_ids, ch.finish_reason ?? undefined);
        }
      } else {
        const messages: OpenAiChatMessage[] = prompt.messages.map((m) => ({ role: m.role, content: m.content }));
        const cont = continueFrom ? { add_generation_prompt: false, continue_final_message: true } : {};
        if (continueFrom) messages.push({ role: 'assistant', content: continueFrom });
        for await (const c of client.streamChat({ ...fields, messages, ...cont }, abort.signal)) {
          if (c.usage) s.usage = c.usage;
          for (const ch of c.choices ?? []) piece(ch.index, ch.delta?.content ?? '', ch.token_ids, ch.finish_reason ?? undefined);
        }
      }
    } catch (e) {
      const err = e instanceof BoxedError ? e : new BoxedError(toErrorInfo(e).name, toErrorInfo(e).message, { cause: e });
      // refused before streaming anything: the caller hears it as an error (an abort is a stop, not a failure)
      const streamed = s.texts.some((t) => t !== '') || s.finish.some((f) => f !== undefined);
      if (err.name !== 'Aborted' && err.name !== 'StreamCut' && !streamed) throw err;
      // a stream that ends without [DONE] after every choice finished lost nothing
      if (!(err.name === 'StreamCut' && s.finish.every((f) => f !== undefined && f !== null))) {
        s.error = err.name === 'StreamCut' ? new BoxedError('StreamCut', err.message, { detail: { textSoFar: s.texts.reduce((a, t) => a + t.length, 0) }, cause: err }) : err;
      }
    } finally {
      this.aborts.delete(abort);
    }
    return s;
  }

  private stats(s: Stream, t0: number): GenerateStats {
    const generated = s.usage?.completion_tokens ?? s.counts[0];
    const now = performance.now();
    const decodeMs = s.firstAt ? now - s.firstAt : 0;
    return {
      promptTokens: s.usage?.prompt_tokens ?? 0,
      generatedTokens: generated,
      timeToFirstTokenMs: s.firstAt ? s.firstAt - t0 : 0,
      // the server prefills before the first token: its time is inside the time to first token
      prefillTokensPerSecond: s.firstAt && s.usage ? (s.usage.prompt_tokens * 1000) / Math.max(1, s.firstAt - t0) : 0,
      decodeTokensPerSecond: decodeMs > 0 && generated > 1 ? ((generated - 1) * 1000) / decodeMs : 0,
      dispatchesPerToken: 0,
      readbacksPerToken: 0,
    };
  }

  async stop(): Promise<void> {
    this.stopRequested = true;
    for (const a of this.aborts) a.abort();
  }

  async unload(): Promise<void> {
    await this.stop();
    this.client = null;
    this.info = null;
  }

  private newAbort(): AbortController {
    const a = new AbortController();
    this.aborts.add(a);
    return a;
  }

  private estimateTokens(text: string): number {
    return Math.ceil(text.length / (this.opts.charsPerToken ?? 3));
  }

  private requireClient(): OpenAiClient {
    if (!this.client) throw new BoxedError('InvalidRequest', 'no server model is loaded');
    return this.client;
  }

  private guardIdle(): void {
    if (this.busy) throw new BoxedError('InvalidRequest', 'the engine is busy generating; stop it first');
  }
}

export function createServerEngine(opts: ServerEngineOptions = {}): ServerEngine {
  return new ServerEngine(opts);
}
