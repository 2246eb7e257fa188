// The engine: implements EngineApi over WebGPU. The browser's worker creates it with navigator.gpu,
// the Node CLI with Dawn's GPU object. Owns the device, the loaded model and the tokenizer; generates
// one request at a time.
import type { EngineApi, GenerateEvent, GenerateRequest, GenerateResult, GpuReport, HeavyEvent, HeavyRequest, HeavyResult, LoadEvent, LoadRequest, ModelInfo, TrialRequest, TrialResult } from '../protocol/engine';
import type { ModelConfig } from '../model/config';
import { BoxedError, toErrorInfo } from '../protocol/errors';
import { openDevice, type BoxedDevice, type DeviceOptions } from '../gpu/device';
import { GpuContext } from '../gpu/context';
import { GpuModel } from '../gpu/model';
import { openCheckpoint, type Checkpoint } from '../loader/checkpoint';
import type { FileProvider } from '../loader/checkpoint';
import { hubFileProvider, hubFileUrl } from '../loader/hub';
import type { CacheStore } from '../loader/cache-store';
import { openCachedModel, type CachedModelOptions } from '../loader/model-cache';
import { blobSource } from '../loader/source';
import { GGUF_FILE, openGgufCheckpoint, type GgmlTensors } from '../loader/gguf/checkpoint';
import { httpRangeSource } from '../loader/gguf/remote';
import { authHeaders } from '../loader/hub-api';
import { Tokenizer } from '../tokenizer/tokenizer';
import { StreamingDetokenizer } from '../tokenizer/detokenizer';
import { renderChat } from '../chat/template';
import { generateSequence } from './generate';
import { MAX_SAMPLES, runHeavy, type HeavyDeps } from './heavy';
import { checkBatchLimits, probeLargestBatch, trialAllocation } from './memory';
import { ggufInfo } from './gguf-info';
import { shapeInfo } from '../model/config-sizes';
import { runMany, type ManyRequest, type ManyResult, type ManyStep } from './many';

export interface EngineOptions {
  device?: DeviceOptions;
  fetch?: typeof fetch;
  /** Rows per prefill chunk (default 128). */
  prefillChunk?: number;
  /** Where hub models are kept (OPFS in the browser, a folder in the CLI); none: downloads stay in memory. */
  cache?: () => Promise<CacheStore | null>;
  /** Retry, parallelism and progress settings of cache downloads. */
  transfer?: CachedModelOptions['transfer'];
}

type HubInfo = NonNullable<ModelInfo['hub']>;

interface Loaded {
  model: GpuModel;
  tokenizer: Tokenizer;
  checkpoint: Checkpoint;
  chatTemplate: string | null;
  eosIds: Set<number>;
  info: ModelInfo;
}

export class Engine implements EngineApi {
  private boxed: BoxedDevice | null = null;
  private ctx: GpuContext | null = null;
  private loaded: Loaded | null = null;
  private stopRequested = false;
  private busy = false;
  private lostInfo: string | null = null;
  private loadAbort: AbortController | null = null;
  /** The in-memory hub provider of the last load without a cache: a retry reuses the files it finished. */
  private memoryHub: { key: string; provider: FileProvider; emit: (e: LoadEvent) => void } | null = null;

  constructor(
    private readonly gpu: GPU | undefined,
    private readonly opts: EngineOptions = {},
  ) {}

  /** The GPU context (the CLI's bench reads its counters). */
  get context(): GpuContext | null {
    return this.ctx;
  }
  get model(): GpuModel | null {
    return this.loaded?.model ?? null;
  }
  get tokenizer(): Tokenizer | null {
    return this.loaded?.tokenizer ?? null;
  }

  private async device(): Promise<GpuContext> {
    if (this.ctx && !this.lostInfo) return this.ctx;
    this.boxed = await openDevice(this.gpu, this.opts.device);
    this.ctx = new GpuContext(this.boxed);
    this.lostInfo = null;
    const ctx = this.ctx;
    void this.boxed.lost.then((info) => {
      if (this.ctx === ctx) {
        this.lostInfo = info.message || info.reason || 'device lost';
        this.loaded = null;
      }
    });
    return ctx;
  }

  async probe(): Promise<GpuReport> {
    return (await this.device()).boxed.report;
  }

  async load(req: LoadRequest, onEvent: (e: LoadEvent) => void = () => {}): Promise<ModelInfo> {
    this.guardIdle();
    await this.unload();
    await this.device(); // no GPU: say so before downloading gigabytes
    // nor when it cannot hold the model (a GGUF file's block types are known only from its header: a hub file
    // to download has its header read by Range and tried before the download (provider's beforeDownload), and
    // not again after it; a cached one, or one from a server that ignores Range, is tried in loadFrom once its
    // header is read)
    const gguf = req.source.kind === 'hub' && req.source.file !== undefined;
    if (req.expect && !gguf) await this.trialAllocation({ shape: req.expect, weights: req.weights, context: req.context, batch: req.batch, kv: req.kv });
    const abort = new AbortController();
    this.loadAbort = abort;
    try {
      const { provider, hub, tried } = await this.provider(req, onEvent, abort.signal);
      const info = await this.loadFrom(provider, req, onEvent, sourceName(req), tried);
      if (!hub) return info;
      const withHub = { ...info, hub: req.source.kind === 'hub' && req.source.file !== undefined ? { ...hub, file: req.source.file } : hub };
      if (this.loaded) this.loaded.info = withHub;
      return withHub;
    } finally {
      if (this.loadAbort === abort) this.loadAbort = null;
    }
  }

  async trialAllocation(req: TrialRequest): Promise<TrialResult> {
    const ctx = await this.device();
    const s = req.shape;
    const cfg: ModelConfig = {
      architecture: 'Qwen2ForCausalLM',
      dim: s.hiddenSize,
      ffnDim: s.intermediateSize,
      nLayers: s.layers,
      nHeads: s.heads,
      nKvHeads: s.kvHeads,
      headDim: s.headDim,
      kvDim: s.kvHeads * s.headDim,
      vocab: s.vocabSize,
      normEps: 1e-6,
      ropeTheta: 1e6,
      maxPositions: req.context,
      tiedEmbeddings: s.tiedEmbeddings,
      torchDtype: 'bfloat16',
      bosTokenId: null,
      eosTokenIds: [],
    };
    const batch = req.batch ?? 1;
    return trialAllocation(ctx, cfg, { weights: req.weights, kv: req.kv ?? 'f16', context: req.context, slots: batch, chunk: this.opts.prefillChunk ?? 128 });
  }

  /**
   * Loads from any FileProvider (the CLI passes a local directory). `tried`: the GGUF trial allocation already
   * passed for these settings before the download (trialBeforeDownload), so it is not made a second time.
   */
  async loadFrom(provider: FileProvider, req: Omit<LoadRequest, 'source'>, onEvent: (e: LoadEvent) => void = () => {}, name = 'model', tried = false): Promise<ModelInfo> {
    this.guardIdle();
    this.release();
    const ctx = await this.device();
    onEvent({ type: 'phase', phase: 'download' });
    const checkpoint = await openCheckpoint(provider);
    const tokenizer = Tokenizer.fromFiles(checkpoint.tokenizerJson, checkpoint.tokenizerConfig);
    const cfg = checkpoint.config;
    const { modelOpts, withLargestBatch } = await this.checkFits(ctx, cfg, req, checkpoint.ggml, tried);
    const { context, slots: batch } = modelOpts;
    onEvent({ type: 'phase', phase: 'convert' });
    // the pipelines compile asynchronously once the weights are on the GPU (src/gpu/pipelines.ts): the
    // 'compile' events count them as they finish (0 of 0 when an earlier load on this device compiled them)
    const onCompile = (done: number, total: number) => {
      if (done === 0) onEvent({ type: 'phase', phase: 'compile' });
      onEvent({ type: 'compile', done, total });
    };
    const model = await GpuModel.load(ctx, cfg, checkpoint, modelOpts, tokenizer.size, (tensor, done, total) => onEvent({ type: 'convert', tensor, done, total }), onCompile).catch(withLargestBatch);
    // Warm-up: one prefill chunk (the prefill paths) and one decode step that samples (the decode paths and
    // the sampler), so the first answer pays for no first-use costs. On lavapipe they are most of the load
    // (measured with Mesa's shader cache off): it generates a pipeline's machine code at its first dispatch,
    // not when the pipeline is created.
    onEvent({ type: 'phase', phase: 'warmup' });
    onEvent({ type: 'warmup', done: 0, total: 2 });
    const pad = tokenizer.eosIds()[0] ?? 0;
    const warmRows = Math.min(model.rowsPerStep, context - 1);
    model.submitStep(
      Array.from({ length: warmRows }, (_, pos) => ({ slot: 0, pos })),
      { tokens: new Array<number>(warmRows).fill(pad), lastRowOnly: true },
    );
    await ctx.device.queue.onSubmittedWorkDone();
    onEvent({ type: 'warmup', done: 1, total: 2 });
    const h = model.submitStep([{ slot: 0, pos: 0 }], { tokens: [pad], lastRowOnly: true, sampling: [{ temperature: 0, topP: 1, topK: 0, coin: 0 }] });
    await model.readTokens(h);
    onEvent({ type: 'warmup', done: 2, total: 2 });
    const tplCfg = checkpoint.tokenizerConfig as { chat_template?: unknown };
    const chatTemplate = typeof tplCfg.chat_template === 'string' ? tplCfg.chat_template : null;
    const eosIds = new Set<number>([...cfg.eosTokenIds, ...(checkpoint.generation?.eosTokenIds ?? []), ...tokenizer.eosIds()]);
    const info: ModelInfo = {
      name,
      config: { ...shapeInfo(cfg), maxPositions: cfg.maxPositions },
      memory: model.memory,
      gpu: ctx.boxed.report,
      weights: req.weights,
      context,
      batch,
    };
    const gguf = ggufInfo(checkpoint);
    if (gguf) info.gguf = gguf;
    this.loaded = { model, tokenizer, checkpoint, chatTemplate, eosIds, info };
    return info;
  }

  /**
   * The load's options checked, and for a GGUF model the trial allocation in its block types; `withLargestBatch`
   * turns an OutOfMemory with several sequences into one naming the largest batch that fits now.
   */
  private async checkFits(ctx: GpuContext, cfg: ModelConfig, req: Omit<LoadRequest, 'source'>, ggml: GgmlTensors | undefined, tried = false) {
    const context = req.context;
    if (!(Number.isInteger(context) && context >= 16)) throw new BoxedError('InvalidRequest', `context must be an integer >= 16, got ${context}`);
    const batch = req.batch ?? 1;
    if (!(Number.isInteger(batch) && batch >= 1 && batch <= MAX_SAMPLES)) throw new BoxedError('InvalidRequest', `batch must be an integer in 1..${MAX_SAMPLES}, got ${batch}`);
    const modelOpts = { weights: req.weights, kv: req.kv ?? 'f16', context, slots: batch, chunk: this.opts.prefillChunk ?? 128 } as const;
    // a GGUF model's weights count in its own block types (planMemory's GGUF path)
    checkBatchLimits(ctx, cfg, modelOpts, ggml);
    const withLargestBatch = async (e: unknown): Promise<never> => {
      if (batch <= 1 || !(e instanceof BoxedError) || e.name !== 'OutOfMemory') throw e;
      const largest = await probeLargestBatch(ctx, cfg, modelOpts, ggml);
      throw new BoxedError('OutOfMemory', `${e.message} ${largest >= 1 ? `At most ${largest} parallel solutions fit at this context.` : 'Not even one sequence fits at this context.'}`, {
        detail: { ...e.detail, largestBatch: largest },
        cause: e,
      });
    };
    if (ggml && !tried) await trialAllocation(ctx, cfg, modelOpts, ggml).catch(withLargestBatch);
    return { modelOpts, withLargestBatch };
  }

  /**
   * A hub GGUF file's trial before its download: its header, metadata and tensor infos read by Range from the
   * endpoint (the token goes with them as with the download), the config and block types built from them, and
   * the allocation tried. A server that refuses ranges (or a header read that fails on the network) skips it:
   * the download then reports what is wrong, and loadFrom tries the allocation once the file is here. True when
   * the trial ran and passed.
   */
  private async trialBeforeDownload(req: LoadRequest, url: string, name: string, token: string | undefined, signal: AbortSignal): Promise<boolean> {
    let checkpoint: Checkpoint & { ggml: GgmlTensors };
    try {
      checkpoint = await openGgufCheckpoint(await httpRangeSource(url, name, { fetch: this.fetchWithToken(token), signal }));
    } catch (e) {
      if (e instanceof BoxedError && e.name === 'Network' && !signal.aborted) return false;
      throw e;
    }
    await this.checkFits(await this.device(), checkpoint.config, req, checkpoint.ggml);
    return true;
  }

  /** The engine's fetch with the hub token's Authorization header on every request (none without a token). */
  private fetchWithToken(token: string | undefined): typeof fetch {
    const base = this.opts.fetch ?? fetch;
    if (!token) return base;
    return (input, init) => base(input, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), ...authHeaders(token) } });
  }

  /** Where the files come from; `tried`: a hub GGUF's trial allocation ran and passed before its download. */
  private async provider(req: LoadRequest, onEvent: (e: LoadEvent) => void, signal: AbortSignal): Promise<{ provider: FileProvider; hub?: HubInfo; tried?: boolean }> {
    const src = req.source;
    switch (src.kind) {
      case 'hub': {
        onEvent({ type: 'phase', phase: 'download' });
        const store = (await this.opts.cache?.()) ?? null;
        if (!store) {
          // no cache: the files are downloaded into memory, once per source; a GGUF file is tried by its header
          // before that download, as on the cached path (a source already opened here is tried after, in loadFrom)
          const key = JSON.stringify([src.endpoint, src.repo, src.revision, src.token ?? '', src.file ?? '']);
          let tried = false;
          if (this.memoryHub?.key !== key) {
            if (src.file !== undefined) {
              tried = await this.trialBeforeDownload(req, hubFileUrl(src.endpoint, src.repo, src.revision, src.file), src.file, src.token, signal);
            }
            const provider = hubFileProvider({
              endpoint: src.endpoint,
              repo: src.repo,
              revision: src.revision,
              fetch: this.fetchWithToken(src.token),
              onProgress: (e) => this.memoryHub?.emit({ type: 'download', file: e.file, loaded: e.loaded, total: e.total, bytesPerSecond: e.bytesPerSecond }),
            });
            this.memoryHub = { key, provider, emit: onEvent };
          }
          this.memoryHub.emit = onEvent;
          const inner = this.memoryHub.provider;
          const file = src.file;
          return { provider: file === undefined ? inner : { open: async (name: string) => (name === GGUF_FILE ? inner.open(file) : null) }, tried };
        }
        let tried = false;
        const m = await openCachedModel({
          store,
          endpoint: src.endpoint,
          repo: src.repo,
          revision: src.revision,
          token: src.token,
          update: src.update,
          file: src.file,
          fetch: this.opts.fetch,
          signal,
          transfer: this.opts.transfer,
          beforeDownload:
            src.file === undefined
              ? undefined
              : async (f) => {
                  tried = await this.trialBeforeDownload(req, f.url, f.name, src.token, signal);
                },
          onProgress: (e) => onEvent({ type: 'download', file: e.file, loaded: e.loaded, total: e.total, bytesPerSecond: e.bytesPerSecond, state: e.state, retry: e.retry }),
        });
        const commit = m.manifest.commit;
        onEvent({ type: 'revision', revision: src.revision, commit, cached: m.downloadedBytes === 0, offline: m.offline, newerCommit: m.newerCommit });
        return { provider: m.provider, hub: { endpoint: m.manifest.endpoint, repo: src.repo, revision: src.revision, commit, offline: m.offline, newerCommit: m.newerCommit }, tried };
      }
      case 'files': {
        // one .gguf file is the whole model (the loader's GGUF_FILE)
        if (src.files.length === 1 && src.files[0].name.toLowerCase().endsWith('.gguf')) {
          const f = src.files[0];
          return { provider: { open: async (name: string) => (name === GGUF_FILE ? blobSource(f.name, f) : null) } };
        }
        const byName = new Map(src.files.map((f) => [f.name, f]));
        return { provider: { open: async (name: string) => (byName.has(name) ? blobSource(name, byName.get(name)!) : null) } };
      }
      case 'dir':
        throw new BoxedError('InvalidRequest', 'a directory source is only available in the CLI');
      case 'server':
        throw new BoxedError('InvalidRequest', 'a server model is loaded by the server engine (src/remote), not the GPU engine');
    }
  }

  async renderPrompt(prompt: GenerateRequest['prompt']): Promise<{ text: string; tokens: number }> {
    const l = this.requireLoaded();
    const text = this.promptText(l, prompt);
    return { text, tokens: l.tokenizer.encode(text).length };
  }

  private promptText(l: Loaded, prompt: GenerateRequest['prompt']): string {
    if (prompt.kind === 'raw') return prompt.text;
    if (!l.chatTemplate) throw new BoxedError('ModelFormat', 'the model has no chat_template', { file: 'tokenizer_config.json' });
    return renderChat(l.chatTemplate, [...prompt.messages], { addGenerationPrompt: true });
  }

  async generate(req: GenerateRequest, onEvent: (e: GenerateEvent) => void = () => {}): Promise<GenerateResult> {
    const l = this.requireLoaded();
    this.guardIdle();
    this.busy = true;
    this.stopRequested = false;
    const prefix = req.continueFrom ?? '';
    const promptIds = l.tokenizer.encode(this.promptText(l, req.prompt) + prefix);
    const detok = new StreamingDetokenizer(l.tokenizer);
    let text = '';
    try {
      const budget = Math.min(req.maxTokens, l.model.opts.context - promptIds.length);
      const r = await generateSequence(l.model, {
        promptIds,
        maxTokens: Math.max(1, budget),
        sampling: req.sampling,
        eosIds: l.eosIds,
        shouldStop: () => this.stopRequested || this.lostInfo !== null,
        onPrefill: (done, total) => onEvent({ type: 'prefill', done, total }),
        onToken: (id, count) => {
          const piece = detok.push(id);
          text += piece;
          onEvent({ type: 'token', text: piece, id, count });
        },
      });
      const tail = detok.flush();
      if (tail) {
        text += tail;
        onEvent({ type: 'token', text: tail, id: -1, count: r.ids.length });
      }
      onEvent({ type: 'stats', stats: r.stats });
      if (this.lostInfo) throw new BoxedError('DeviceLost', `the GPU device was lost: ${this.lostInfo}`, { detail: { textSoFar: text.length } });
      return { text, ids: r.ids, stop: r.stop, stats: r.stats };
    } catch (e) {
      if (this.lostInfo) throw new BoxedError('DeviceLost', `the GPU device was lost: ${this.lostInfo}`, { cause: e });
      throw e instanceof BoxedError ? e : new BoxedError(toErrorInfo(e).name, toErrorInfo(e).message, { cause: e });
    } finally {
      this.busy = false;
    }
  }

  /** Heavy mode: N candidates decoded together, then vote or GenSelect (heavy.ts). */
  generateHeavy(req: HeavyRequest, onEvents: (events: HeavyEvent[]) => void = () => {}): Promise<HeavyResult> {
    return this.runBatched((deps) => runHeavy(deps, req, onEvents));
  }

  /** n sequences of one prompt decoded together, no vote or selection (serve's `n`; many.ts). */
  generateMany(req: ManyRequest, onStep: (step: ManyStep) => void = () => {}): Promise<ManyResult> {
    return this.runBatched((deps) => runMany(deps, req, onStep));
  }

  /** Runs a batched generation on the loaded model, one at a time; a device lost on the way is DeviceLost. */
  private async runBatched<T>(run: (deps: HeavyDeps) => Promise<T>): Promise<T> {
    const l = this.requireLoaded();
    this.guardIdle();
    this.busy = true;
    this.stopRequested = false;
    try {
      const deps: HeavyDeps = { model: l.model, tokenizer: l.tokenizer, eosIds: l.eosIds, render: (p: GenerateRequest['prompt']) => this.promptText(l, p), shouldStop: () => this.stopRequested || this.lostInfo !== null };
      const r = await run(deps);
      if (this.lostInfo) throw new BoxedError('DeviceLost', `the GPU device was lost: ${this.lostInfo}`);
      return r;
    } catch (e) {
      if (this.lostInfo) throw new BoxedError('DeviceLost', `the GPU device was lost: ${this.lostInfo}`, { cause: e });
      throw e instanceof BoxedError ? e : new BoxedError(toErrorInfo(e).name, toErrorInfo(e).message, { cause: e });
    } finally {
      this.busy = false;
    }
  }

  async stop(): Promise<void> {
    this.stopRequested = true;
  }

  /** Stops a load in progress (its downloads too) and frees the loaded model. */
  async unload(): Promise<void> {
    this.loadAbort?.abort();
    this.loadAbort = null;
    this.release();
  }

  private release(): void {
    this.loaded?.model.destroy();
    this.loaded = null;
  }

  private requireLoaded(): Loaded {
    if (this.lostInfo) throw new BoxedError('DeviceLost', `the GPU device was lost: ${this.lostInfo}; load the model again`);
    if (!this.loaded) throw new BoxedError('InvalidRequest', 'no model is loaded');
    return this.loaded;
  }

  private guardIdle(): void {
    if (this.busy) throw new BoxedError('InvalidRequest', 'the engine is busy generating; stop it first');
  }
}

function sourceName(req: LoadRequest): string {
  const s = req.source;
  return s.kind === 'hub' ? `${s.repo}@${s.revision}${s.file ? `/${s.file}` : ''}` : s.kind === 'dir' ? s.path : 'local files';
}

export function createEngine(gpu: GPU | undefined, opts: EngineOptions = {}): Engine {
  return new Engine(gpu, opts);
}
