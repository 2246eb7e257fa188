// Between the app's answers and share records: the record for the answer on screen (what it was, with
// which model and settings), and a received record as a history entry of the person who opened it.
import type { ModelInfo } from '../protocol/engine';
import type { ShareInput, ShareModel, ShareRecord } from '../share/record';
import type { HistoryEntry } from '../state/history';
import type { Run } from '../state/run';
import { SAMPLE_CHOICES, type Samples, type Settings } from '../state/settings';
import { readAnswer } from '../reasoning/answer';
import { heavyRecord } from '../share/heavy';
import type { HeavyRun } from '../state/heavy';

/**
 * The revision and .gguf file in what follows a hub model's '@': 'main', or 'main/Q4/x.gguf' for a GGUF file
 * (the revision is one part, or three for 'refs/pr/N'; the rest is the file).
 */
function revisionAndFile(rest: string): { revision: string; file?: string } {
  if (!rest.toLowerCase().endsWith('.gguf')) return { revision: rest };
  const parts = rest.split('/');
  const n = parts[0] === 'refs' ? 3 : 1;
  return parts.length > n ? { revision: parts.slice(0, n).join('/'), file: parts.slice(n).join('/') } : { revision: rest };
}

/** The engine names a hub model 'repo@revision' or 'repo@revision/FILE.gguf' (and local files 'local files'). */
function modelOf(name: string | undefined, settings: Settings): ShareModel | undefined {
  if (!name) return undefined;
  const at = name.lastIndexOf('@');
  const named = at > 0 ? { repo: name.slice(0, at), ...revisionAndFile(name.slice(at + 1)) } : name === settings.repo ? { repo: name, revision: settings.revision } : null;
  if (!named) return undefined;
  // a revision that is a full commit id names the commit itself
  return /^[0-9a-f]{40}$/.test(named.revision) ? { endpoint: settings.endpoint, ...named, commit: named.revision } : { endpoint: settings.endpoint, ...named };
}

/** The model that wrote an answer: the loaded hub model's resolved commit when it is that one, else the named one. */
function sourceModel(model: ModelInfo | null, entryModel: string | undefined, settings: Settings): ShareModel | undefined {
  const hub = model?.hub;
  if (hub && (entryModel === undefined || entryModel === model.name)) return { endpoint: hub.endpoint, repo: hub.repo, revision: hub.revision, commit: hub.commit, ...(hub.file ? { file: hub.file } : {}) };
  return modelOf(entryModel ?? model?.name, settings);
}

export interface ShareSource {
  run: Run;
  settings: Settings;
  /** The loaded model, if any. */
  model: ModelInfo | null;
  /** The model named in the run's history entry (the model that wrote it). */
  entryModel?: string;
}

/** The record for a finished answer; null while it has no answer (still thinking, or cut off before). */
export function recordFromRun({ run, settings, model, entryModel }: ShareSource): ShareInput | null {
  if (!run.stop) return null;
  const view = readAnswer(run.mode, run.text);
  if (view.answer === null) return null;
  const record: ShareInput = {
    problem: run.problem,
    mode: run.mode,
    answer: view.answer,
    reasoning: view.thinking,
    extracted: view.final?.value ?? null,
    weights: model?.weights ?? settings.weights,
    sampling: { ...run.request.sampling },
    maxTokens: run.request.maxTokens,
    context: model?.context ?? settings.context,
    stop: run.stop,
    tokens: run.tokens,
    createdAt: Math.round(run.startedAt),
  };
  const named = sourceModel(model, entryModel, settings);
  if (named) record.model = named;
  return record;
}

/**
 * The record for a finished heavy run: the chosen candidate is the record's answer and reasoning, and the
 * `heavy` field carries every candidate's answer, the tally, the method and GenSelect's last judgment.
 * Candidate i was sampled with seed `sampling.seed + i`; the record keeps the run's base seed.
 */
export function recordFromHeavy({ heavy, settings, model, entryModel }: { heavy: HeavyRun; settings: Settings; model: ModelInfo | null; entryModel?: string }): ShareInput | null {
  const chosen = heavy.result?.chosen ?? null;
  if (chosen === null) return null;
  const c = heavy.candidates[chosen];
  const view = readAnswer(heavy.mode, c.text);
  if (view.answer === null) return null;
  const judged = [...heavy.rounds].reverse().find((r) => r.done && !r.skipped && r.text !== '');
  const record: ShareInput = {
    problem: heavy.problem,
    mode: heavy.mode,
    answer: view.answer,
    reasoning: view.thinking,
    extracted: view.final?.value ?? null,
    weights: model?.weights ?? settings.weights,
    sampling: { ...heavy.request.sampling },
    maxTokens: heavy.request.maxTokens,
    context: model?.context ?? settings.context,
    stop: c.stop ?? 'aborted',
    tokens: c.tokens,
    createdAt: Math.round(heavy.startedAt),
    heavy: heavyRecord({
      candidates: heavy.candidates.map((x) => ({ answer: x.answer, stop: x.stop ?? 'aborted' })),
      method: heavy.select === 'vote' || heavy.result?.skipped ? 'majority' : 'genselect',
      chosen,
      judgment: judged?.text,
    }),
  };
  const named = sourceModel(model, entryModel, settings);
  if (named) record.model = named;
  return record;
}

/** The generation text a record stands for: its reasoning in think tags, then the answer. */
export function textOfRecord(r: ShareRecord): string {
  return `<think>\n${r.reasoning}\n</think>\n\n${r.answer}`;
}

/** A received record as a history entry (the id comes from the link, so saving twice keeps one). */
export function entryFromShare(r: ShareRecord, id: string, settings: Settings, now: number): HistoryEntry {
  const s = r.sampling ?? { temperature: settings.temperature, topP: settings.topP, topK: settings.topK, seed: settings.seed };
  return {
    id,
    createdAt: now,
    updatedAt: now,
    mode: r.mode,
    problem: r.problem,
    text: textOfRecord(r),
    tokens: r.tokens ?? 0,
    status: r.stop === 'aborted' ? 'stopped' : 'done',
    stop: r.stop === 'error' ? 'eos' : (r.stop ?? 'eos'),
    sampling: s,
    maxTokens: r.maxTokens ?? settings.maxTokens,
    // the engine's name for the model (a .gguf file after the revision), so sharing it again names the same
    model: r.model ? `${r.model.repo}@${r.model.commit ?? r.model.revision}${r.model.file ? `/${r.model.file}` : ''}` : 'a shared link',
  };
}

/** The settings a "solve it yourself" run uses: the record's model and sampling, the rest as they are. */
export function settingsForRecord(r: ShareRecord): Partial<Settings> {
  const change: Partial<Settings> = { mode: r.mode };
  // the model's .gguf file, or its safetensors when the link names none
  if (r.model) Object.assign(change, { endpoint: r.model.endpoint, repo: r.model.repo, revision: r.model.commit ?? r.model.revision, file: r.model.file ?? '' });
  if (r.weights) change.weights = r.weights;
  if (r.sampling) Object.assign(change, r.sampling);
  if (r.maxTokens !== undefined) change.maxTokens = r.maxTokens;
  if (r.context !== undefined) change.context = r.context;
  // a heavy-mode link re-runs heavy mode with as many solutions (when the app offers that N), a single answer one
  const n = r.heavy?.n;
  change.samples = n !== undefined && SAMPLE_CHOICES.includes(n as Samples) ? (n as Samples) : 1;
  if (r.heavy && change.samples > 1) change.select = r.heavy.method === 'majority' ? 'vote' : 'genselect';
  return change;
}

/** Whether running the record needs a (re)load: no model, or another model, format or context than loaded. */
export function needsLoad(before: Settings, after: Settings, loaded: boolean): boolean {
  if (!loaded) return true;
  // the model holds as many KV slots as it was loaded with: more parallel solutions need a new load
  return (['endpoint', 'repo', 'revision', 'file', 'weights', 'context'] as const).some((k) => before[k] !== after[k]) || after.samples > before.samples;
}
