// The app's commands: each one talks to the engine (through the worker connection) and moves the store
// through its phases. Plain async functions, usable without React; the UI gets them from a context.
import type { EngineApi, GenerateRequest, HeavyRequest, ModelSource, TrialRequest, TrialResult } from '../protocol/engine';
import { shapeInfo, sizeOfRepo } from '../model/config-sizes';
import { BoxedError, toErrorInfo } from '../protocol/errors';
import { entryFromHeavy, entryFromRun, heavyFromEntry, runFromEntry, type HistoryEntry } from '../state/history';
import { canContinueHeavy, continueHeavyRequest, type HeavyRun } from '../state/heavy';
import { heavyPrefixesForTests } from './e2e-hooks';
import type { HistoryDb } from '../state/history-db';
import type { Run } from '../state/run';
import { LOCAL_MAX_SAMPLES, type UiMode } from '../state/settings';
import type { BoxedStore } from '../state/store';
import type { EngineConnection } from './engine-client';
import { promptFor } from './prompt';

/** How often a running answer is written to the history while tokens stream. */
export const SAVE_INTERVAL_MS = 1000;

export interface ControllerDeps {
  connect(): EngineConnection;
  store: BoxedStore;
  openHistory(): Promise<HistoryDb>;
  now?: () => number;
  newId?: () => string;
  /** The access token saved for a hub endpoint (gated or private repositories). */
  hubToken?: (endpoint: string) => string | undefined;
  /** The API key saved for an OpenAI-compatible server endpoint (sent only to that server). */
  serverKey?: (endpoint: string) => string | undefined;
  /** Asks the browser to keep the model cache (navigator.storage.persist()); called when a hub load starts. */
  askPersist?: () => Promise<void>;
}

export interface Controller {
  probe(): Promise<void>;
  /** Loads the model named in the settings (hub), or the given local files. */
  load(files?: ReadonlyArray<File>): Promise<void>;
  /** Loads the newest commit of the loaded model's branch (the hub moved it since it was cached). */
  loadUpdate(): Promise<void>;
  unload(): Promise<void>;
  /** Allocates (and frees) the buffers a model of these shapes needs on this GPU; rejects with OutOfMemory. */
  trialAllocation(req: TrialRequest): Promise<TrialResult>;
  /** Loads the same model again with the current settings (e.g. more parallel solutions). */
  reload(): Promise<void>;
  renderPrompt(mode: UiMode, problem: string): Promise<{ text: string; tokens: number }>;
  solve(): Promise<void>;
  stop(): Promise<void>;
  regenerate(): Promise<void>;
  /** Continues the answer on screen from its text so far (after a stop, or an interrupted entry); a stopped heavy run continues its stopped candidates. */
  continueAnswer(): Promise<void>;
  /** After a lost device: a fresh worker and device, the same model, then continue the answer. */
  recover(): Promise<void>;
  initHistory(): Promise<void>;
  openEntry(id: string): void;
  deleteEntry(id: string): Promise<void>;
  /** Adds an entry made elsewhere (a shared solution) to the history. */
  saveEntry(entry: HistoryEntry): Promise<void>;
}

export function createController(deps: ControllerDeps): Controller {
  const { store } = deps;
  const now = deps.now ?? (() => performance.now() + performance.timeOrigin);
  const newId = deps.newId ?? (() => crypto.randomUUID());
  let conn: EngineConnection | null = null;
  let lastSource: ModelSource | null = null;
  let db: Promise<HistoryDb> | null = null;
  const created = new Map<string, number>();
  let saving: Promise<void> = Promise.resolve();

  const engine = (): EngineApi => {
    conn ??= deps.connect();
    return conn.api;
  };
  const s = () => store.getState();
  const history = () => (db ??= deps.openHistory());

  /** Writes an entry to the history (the store at once, the database after earlier writes); never throws. */
  const put = (entry: HistoryEntry) => {
    s().upsertHistory(entry);
    saving = saving
      .then(() => history())
      .then((h) => h.put(entry))
      .catch((e: unknown) => console.warn('history write failed', e));
    return saving;
  };
  const writer = () => s().model?.name ?? s().settings.repo;

  /** Writes the run on screen to the history. */
  const save = (run: Run | null) => (run ? put(entryFromRun(run, writer(), created.get(run.id) ?? run.startedAt, now())) : saving);

  /** Writes the heavy run on screen (every candidate and the selection) to the history. */
  const saveHeavy = (run: HeavyRun | null) => (run ? put(entryFromHeavy(run, writer(), created.get(run.id) ?? run.startedAt, now())) : saving);

  /** Heavy mode: N candidates decoded together, then vote or GenSelect; saved as it streams. */
  const startHeavy = async (mode: UiMode, problem: string, seed: number) => {
    if (s().phase.kind !== 'ready' && s().phase.kind !== 'error') throw new BoxedError('InvalidRequest', 'The model is not ready.');
    const model = s().model;
    if (!model) throw new BoxedError('InvalidRequest', 'No model is loaded.');
    const { samples, select, maxTokens, temperature, topP, topK } = s().settings;
    if ((model.batch ?? 1) < samples) throw new BoxedError('InvalidRequest', `The model is loaded for ${model.batch ?? 1} parallel solution(s): load it again for ${samples}.`);
    const req: HeavyRequest = { prompt: promptFor(mode, problem), mode, problem, samples, select, maxTokens, sampling: { temperature, topP, topK, seed }, continueFrom: heavyPrefixesForTests() };
    const id = newId();
    created.set(id, now());
    s().heavyStarted(id, mode, problem, req, now());
    await generateHeavy(req);
  };

  /** Runs the heavy run already in the store (started or continued) and records its end; saved as it streams. */
  const generateHeavy = async (req: HeavyRequest) => {
    let lastSave = now();
    await saveHeavy(s().heavy);
    try {
      const result = await engine().generateHeavy(req, (events) => {
        s().heavyEvents(events, now());
        if (now() - lastSave >= SAVE_INTERVAL_MS) {
          lastSave = now();
          void saveHeavy(s().heavy);
        }
      });
      s().heavyFinished(result, now());
    } catch (e) {
      s().heavyFailed(toErrorInfo(e));
    }
    await saveHeavy(s().heavy);
  };

  /** Continues the stopped heavy run on screen: the stopped candidates from their text, then the selection again. */
  const continueHeavy = async () => {
    const run = s().heavy;
    const model = s().model;
    if (!run || !model || !canContinueHeavy(run) || s().phase.kind === 'generating') return;
    if ((model.batch ?? 1) < run.candidates.length) throw new BoxedError('InvalidRequest', `The model is loaded for ${model.batch ?? 1} parallel solution(s): load it again for ${run.candidates.length}.`);
    const req = continueHeavyRequest(run, s().settings.maxTokens);
    if (!created.has(run.id)) created.set(run.id, run.startedAt);
    s().heavyContinued(req);
    await generateHeavy(req);
  };

  const sourceFromSettings = (): ModelSource => {
    const { endpoint, repo, revision, file, engine: where, serverEndpoint, serverModel } = s().settings;
    if (where === 'server') {
      const apiKey = deps.serverKey?.(serverEndpoint);
      return { kind: 'server', endpoint: serverEndpoint, model: serverModel, ...(apiKey ? { apiKey } : {}) };
    }
    const token = deps.hubToken?.(endpoint);
    return { kind: 'hub', endpoint, repo, revision, ...(token ? { token } : {}), ...(file ? { file } : {}) };
  };

  const loadSource = async (source: ModelSource) => {
    const { weights, kv, context, samples } = s().settings;
    lastSource = source;
    s().loadStarted(now());
    try {
      const batch = source.kind === 'server' ? samples : Math.min(samples, LOCAL_MAX_SAMPLES);
      // a size from the picker's table: the engine tries the allocation before downloading
      const known = source.kind === 'hub' ? sizeOfRepo(source.repo) : null;
      const expect = known ? { expect: shapeInfo(known.config) } : {};
      const info = await engine().load({ source, weights, kv, context, batch, ...expect }, (e) => s().loadEvent(e));
      s().setModel(info);
      s().loadFinished();
    } catch (e) {
      s().loadFailed(toErrorInfo(e));
      throw e;
    }
  };

  const requestFor = (prompt: GenerateRequest['prompt'], seed: number, continueFrom?: string): GenerateRequest => {
    const { maxTokens, temperature, topP, topK } = s().settings;
    return { prompt, maxTokens, sampling: { temperature, topP, topK, seed }, continueFrom };
  };

  /** Runs one generation for the run already in the store and records its end. */
  const generate = async (req: GenerateRequest) => {
    let lastSave = now();
    await save(s().run);
    try {
      const result = await engine().generate(req, (e) => {
        s().generateEvent(e, now());
        if (e.type === 'token' && now() - lastSave >= SAVE_INTERVAL_MS) {
          lastSave = now();
          void save(s().run);
        }
      });
      s().runFinished(result, now());
    } catch (e) {
      s().runFailed(toErrorInfo(e));
    }
    await save(s().run);
  };

  const startRun = async (mode: UiMode, problem: string, seed: number) => {
    if (s().phase.kind !== 'ready' && s().phase.kind !== 'error') throw new BoxedError('InvalidRequest', 'The model is not ready.');
    if (!s().model) throw new BoxedError('InvalidRequest', 'No model is loaded.');
    const req = requestFor(promptFor(mode, problem), seed);
    const id = newId();
    created.set(id, now());
    s().runStarted(id, mode, problem, req, now());
    await generate(req);
  };

  const continueAnswer = async () => {
    if (s().run === null && s().heavy !== null) return continueHeavy();
    const run = s().run;
    if (!run || !s().model || s().phase.kind === 'generating') return;
    const req: GenerateRequest = { ...run.request, maxTokens: s().settings.maxTokens, continueFrom: run.text };
    if (!created.has(run.id)) created.set(run.id, run.startedAt);
    s().runContinued(req, now());
    await generate(req);
  };

  return {
    async probe() {
      s().setGpuProbe({ kind: 'probing' });
      try {
        s().setGpuProbe({ kind: 'ok', report: await engine().probe() });
      } catch (e) {
        s().setGpuProbe({ kind: 'unavailable', error: toErrorInfo(e) });
      }
    },
    async load(files) {
      const source: ModelSource = files ? { kind: 'files', files } : sourceFromSettings();
      if (source.kind === 'hub') void deps.askPersist?.().catch(() => undefined);
      await loadSource(source).catch(() => undefined);
    },
    async loadUpdate() {
      const hub = s().model?.hub;
      if (!hub || s().phase.kind === 'generating') return;
      const token = deps.hubToken?.(hub.endpoint);
      await loadSource({ kind: 'hub', endpoint: hub.endpoint, repo: hub.repo, revision: hub.revision, update: true, ...(token ? { token } : {}) }).catch(() => undefined);
    },
    async trialAllocation(req) {
      const api = engine();
      if (!api.trialAllocation) throw new BoxedError('InvalidRequest', 'This engine has no local GPU to try an allocation on.');
      return api.trialAllocation(req);
    },
    async unload() {
      await engine().unload().catch(() => undefined);
      s().unloaded();
    },
    async reload() {
      await loadSource(lastSource ?? sourceFromSettings()).catch(() => undefined);
    },
    renderPrompt: (mode, problem) => engine().renderPrompt(promptFor(mode, problem)),
    solve: () => {
      const { draft, settings } = s();
      if (draft.trim() === '') return Promise.resolve();
      if (settings.samples > 1) return startHeavy(settings.mode, draft, settings.seed);
      return startRun(settings.mode, draft, settings.seed);
    },
    async stop() {
      if (s().phase.kind !== 'generating') return;
      s().stopRequested();
      await engine().stop();
    },
    regenerate: () => {
      const heavy = s().heavy;
      if (heavy) return startHeavy(heavy.mode, heavy.problem, (heavy.request.sampling.seed + heavy.request.samples) % 2 ** 31);
      const run = s().run;
      if (!run) return Promise.resolve();
      // same problem and mode; the next seed, so a sampled answer differs from the last one
      return startRun(run.mode, run.problem, (run.request.sampling.seed + 1) % 2 ** 31);
    },
    continueAnswer,
    async recover() {
      conn?.close();
      conn = null;
      s().setModel(null);
      if (!lastSource) lastSource = sourceFromSettings();
      try {
        await loadSource(lastSource);
      } catch {
        return;
      }
      await continueAnswer();
    },
    async initHistory() {
      try {
        s().setHistory(await (await history()).list());
      } catch (e) {
        console.warn('history unavailable', e);
      }
    },
    openEntry(id) {
      const entry = s().history.find((e) => e.id === id);
      if (!entry || s().phase.kind === 'generating') return;
      created.set(entry.id, entry.createdAt);
      const heavy = heavyFromEntry(entry);
      if (heavy) s().showHeavy(heavy);
      else s().showRun(runFromEntry(entry, promptFor(entry.mode, entry.problem)));
      s().setDraft(entry.problem);
      s().updateSettings({ mode: entry.mode });
    },
    async deleteEntry(id) {
      if (s().phase.kind === 'generating' && (s().run?.id === id || s().heavy?.id === id)) return;
      s().removeHistory(id);
      if (s().run?.id === id) s().showRun(null);
      if (s().heavy?.id === id) s().showHeavy(null);
      await (await history()).delete(id).catch((e: unknown) => console.warn('history delete failed', e));
    },
    async saveEntry(entry) {
      await (await history()).put(entry);
      s().upsertHistory(entry);
    },
  };
}
