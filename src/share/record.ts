// The share record: what a shared link holds, and its strict validation. A link is untrusted input, so every
// field is checked for type, range and length; unknown fields are refused; URLs must be absolute http(s).
// Text fields are kept as plain strings: the views render them as text (or through the safe Markdown
// component), never as markup.
// Formats: 1 is the record below without `model.file`; 2 adds `model.file` (the one .gguf file of the
// repository that was loaded). A record is written in the lowest format that holds it, so a link without a
// file still opens in a Boxed that reads only format 1, and one with a file is refused there as "made by a
// newer Boxed" rather than as a damaged link.
import { MODES } from '../chat/prompts';
import { checkRepo, checkRevision, normalizeEndpoint } from '../loader/hub';
import { checkGgufFile, MAX_GGUF_PATH } from '../loader/hub-api';
import type { Mode, SamplingParams, StopReason, WeightFormat } from '../protocol/engine';
import { BoxedError } from '../protocol/errors';
import { SETTING_RANGES } from '../protocol/lists';

/** The newest format this Boxed writes and reads. */
export const SHARE_VERSION = 2;
/** Every format this Boxed reads. */
export const SHARE_FORMATS = [1, 2] as const;
export type ShareFormat = (typeof SHARE_FORMATS)[number];

/** The lowest format that holds a record: 2 when its model names a file, else 1. */
export function formatFor(r: { model?: { file?: unknown } }): ShareFormat {
  return r.model?.file !== undefined ? 2 : 1;
}

/** The modes a shared record may name: the chat modes the app can re-run ('raw' has no app view). */
export type ShareMode = Exclude<Mode, 'raw'>;
const SHARE_MODES = (Object.keys(MODES) as Mode[]).filter((m): m is ShareMode => m !== 'raw');

const WEIGHTS: Record<WeightFormat, true> = { q4: true, q8: true, f16: true, f32: true };
const STOPS: Record<StopReason, true> = { eos: true, 'max-tokens': true, 'context-full': true, aborted: true, error: true };
export const HEAVY_METHODS = ['majority', 'genselect'] as const;
export type HeavyMethod = (typeof HEAVY_METHODS)[number];

/** Length limits, in UTF-16 code units. A record within them still has to fit the URL cap (codec.ts). */
export const LIMITS = {
  problem: 32_768,
  answer: 262_144,
  reasoning: 524_288,
  extracted: 8_192,
  endpoint: 2_048,
  repo: 200,
  revision: 255,
  file: MAX_GGUF_PATH,
  /** Heavy mode: candidates per record, a candidate's extracted answer, the GenSelect judgment. */
  candidates: 64,
  candidateAnswer: 1_024,
  judgment: 4_000,
} as const;

/** Sampling and length ranges: the app's settings' (SETTING_RANGES), and the tokens a record may count. */
const RANGES = { ...SETTING_RANGES, tokens: [0, 1 << 24] } as const;

export interface ShareModel {
  /** The hub endpoint the model loads from (http or https). */
  endpoint: string;
  /** 'owner/name' */
  repo: string;
  /** The branch, tag or commit that was loaded. */
  revision: string;
  /** The commit the revision resolved to (40 hex digits), when known. */
  commit?: string;
  /** Format 2: the one .gguf file of the repository that was loaded (a relative path); absent: the safetensors. */
  file?: string;
}

export interface HeavyCandidate {
  /** The candidate's extracted answer, or null when it gave none. */
  answer: string | null;
  stop: StopReason;
}

/** A heavy-mode result: N candidates, their tally, and which one was chosen and how. */
export interface ShareHeavy {
  n: number;
  candidates: HeavyCandidate[];
  /** Each distinct answer with its votes, largest group first. */
  tally: { answer: string; votes: number }[];
  method: HeavyMethod;
  /** Index into candidates of the chosen solution (the record's answer and reasoning are its text). */
  chosen: number;
  /** GenSelect's judgment text, cut to LIMITS.judgment. */
  judgment?: string;
}

export interface ShareRecord {
  /** The record's format: formatFor(record). */
  v: ShareFormat;
  problem: string;
  mode: ShareMode;
  /** The final answer text (after the reasoning). */
  answer: string;
  /** The reasoning; cut in the middle with a visible marker when the whole did not fit the link. */
  reasoning: string;
  /** Characters of reasoning left out (0 or absent when it is whole). */
  reasoningCut?: number;
  /** The extracted answer (boxed expression, choice letter, code), null when there was none. */
  extracted?: string | null;
  model?: ShareModel;
  weights?: WeightFormat;
  sampling?: SamplingParams;
  maxTokens?: number;
  context?: number;
  stop?: StopReason;
  tokens?: number;
  /** When the answer was made (ms since the epoch). */
  createdAt?: number;
  heavy?: ShareHeavy;
}

/** What a person or the CLI hands in: a record without its version (the encoder adds it). */
export type ShareInput = Omit<ShareRecord, 'v'> & { v?: number };

export function badLink(reason: string, message: string): BoxedError {
  return new BoxedError('InvalidRequest', message, { detail: { share: reason } });
}

type Obj = Record<string, unknown>;

function isObj(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function fields(o: Obj, where: string, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw badLink('field', `${where} has an unknown field ${JSON.stringify(k.slice(0, 40))}`);
}

function str(o: Obj, key: string, max: number, where = 'the record'): string {
  const v = o[key];
  if (typeof v !== 'string') throw badLink('type', `${where}: '${key}' must be text`);
  if (v.length > max) throw badLink('length', `${where}: '${key}' is longer than ${max.toLocaleString('en-US')} characters`);
  return v;
}

function num(o: Obj, key: keyof typeof RANGES, integer: boolean, where = 'the record'): number {
  const v = o[key];
  const [lo, hi] = RANGES[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < lo || v > hi) {
    throw badLink('type', `${where}: '${key}' must be ${integer ? 'an integer' : 'a number'} in [${lo}, ${hi}]`);
  }
  return v;
}

function oneOf<T extends string>(o: Obj, key: string, allowed: readonly T[], where = 'the record'): T {
  const v = o[key];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw badLink('type', `${where}: '${key}' must be one of ${allowed.join(', ')}`);
  return v as T;
}

const has = (o: Obj, key: string) => o[key] !== undefined;

/** A URL a link may name: absolute http(s), no credentials, query or fragment. */
export function checkEndpoint(url: string): string {
  try {
    return normalizeEndpoint(url);
  } catch (e) {
    throw badLink('endpoint', `the model endpoint must be an http(s) URL without credentials: ${(e as Error).message}`);
  }
}

function model(x: unknown): ShareModel {
  if (!isObj(x)) throw badLink('type', "'model' must be an object");
  const w = "'model'";
  fields(x, w, ['endpoint', 'repo', 'revision', 'commit', 'file']);
  const endpoint = checkEndpoint(str(x, 'endpoint', LIMITS.endpoint, w));
  const repo = str(x, 'repo', LIMITS.repo, w);
  const revision = str(x, 'revision', LIMITS.revision, w);
  try {
    checkRepo(repo);
    checkRevision(revision);
  } catch (e) {
    throw badLink('model', `the model is not a valid hub name: ${(e as Error).message}`);
  }
  const out: ShareModel = { endpoint, repo, revision };
  if (has(x, 'commit')) {
    const commit = str(x, 'commit', 40, w);
    if (!/^[0-9a-f]{40}$/.test(commit)) throw badLink('model', "'model.commit' must be 40 lowercase hex digits");
    out.commit = commit;
  }
  if (has(x, 'file')) {
    const file = str(x, 'file', LIMITS.file, w);
    try {
      checkGgufFile(file);
    } catch (e) {
      throw badLink('model', `'model.file' must be a relative path to a .gguf file: ${(e as Error).message}`);
    }
    out.file = file;
  }
  return out;
}

function sampling(x: unknown): SamplingParams {
  if (!isObj(x)) throw badLink('type', "'sampling' must be an object");
  const w = "'sampling'";
  fields(x, w, ['temperature', 'topP', 'topK', 'seed']);
  return { temperature: num(x, 'temperature', false, w), topP: num(x, 'topP', false, w), topK: num(x, 'topK', true, w), seed: num(x, 'seed', true, w) };
}

function heavy(x: unknown): ShareHeavy {
  if (!isObj(x)) throw badLink('type', "'heavy' must be an object");
  const w = "'heavy'";
  fields(x, w, ['n', 'candidates', 'tally', 'method', 'chosen', 'judgment']);
  const n = x.n;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 2 || n > LIMITS.candidates) throw badLink('type', `${w}: 'n' must be an integer in [2, ${LIMITS.candidates}]`);
  const cs = x.candidates;
  if (!Array.isArray(cs) || cs.length !== n) throw badLink('type', `${w}: 'candidates' must be a list of n entries`);
  const candidates = cs.map((c, i): HeavyCandidate => {
    const cw = `heavy candidate ${i + 1}`;
    if (!isObj(c)) throw badLink('type', `${cw} must be an object`);
    fields(c, cw, ['answer', 'stop']);
    return { answer: c.answer === null ? null : str(c, 'answer', LIMITS.candidateAnswer, cw), stop: oneOf(c, 'stop', Object.keys(STOPS) as StopReason[], cw) };
  });
  const ts = x.tally;
  if (!Array.isArray(ts) || ts.length > n) throw badLink('type', `${w}: 'tally' must be a list of at most n entries`);
  let total = 0;
  const tally = ts.map((t, i) => {
    const tw = `heavy tally entry ${i + 1}`;
    if (!isObj(t)) throw badLink('type', `${tw} must be an object`);
    fields(t, tw, ['answer', 'votes']);
    const votes = t.votes;
    if (typeof votes !== 'number' || !Number.isInteger(votes) || votes < 1 || votes > n) throw badLink('type', `${tw}: 'votes' must be an integer in [1, n]`);
    total += votes;
    return { answer: str(t, 'answer', LIMITS.candidateAnswer, tw), votes };
  });
  if (total > n) throw badLink('type', `${w}: the tally counts more votes than candidates`);
  const chosen = x.chosen;
  if (typeof chosen !== 'number' || !Number.isInteger(chosen) || chosen < 0 || chosen >= n) throw badLink('type', `${w}: 'chosen' must be a candidate index in [0, n)`);
  const out: ShareHeavy = { n, candidates, tally, method: oneOf(x, 'method', HEAVY_METHODS, w), chosen };
  if (has(x, 'judgment')) out.judgment = str(x, 'judgment', LIMITS.judgment, w);
  return out;
}

const RECORD_FIELDS = ['v', 'problem', 'mode', 'answer', 'reasoning', 'reasoningCut', 'extracted', 'model', 'weights', 'sampling', 'maxTokens', 'context', 'stop', 'tokens', 'createdAt', 'heavy'];

/**
 * Checks an untrusted value as a share record and returns a clean copy (only known fields, normalized
 * endpoint). `requireVersion` is false for input that the encoder is about to version itself.
 */
export function validateRecord(x: unknown, requireVersion = true): ShareRecord {
  if (!isObj(x)) throw badLink('type', 'the record must be a JSON object');
  fields(x, 'the record', RECORD_FIELDS);
  if (requireVersion || has(x, 'v')) {
    if (!(SHARE_FORMATS as readonly unknown[]).includes(x.v)) {
      const newer = typeof x.v === 'number' && Number.isInteger(x.v) && x.v > SHARE_VERSION;
      throw badLink('version', newer ? `the record is format ${x.v}, made by a newer Boxed; this one reads formats up to ${SHARE_VERSION}` : `the record's version is ${JSON.stringify(x.v)?.slice(0, 20)}; this Boxed reads formats ${SHARE_FORMATS.join(' and ')}`);
    }
  }
  const out: ShareRecord = {
    v: 1,
    problem: str(x, 'problem', LIMITS.problem),
    mode: oneOf(x, 'mode', SHARE_MODES),
    answer: str(x, 'answer', LIMITS.answer),
    reasoning: str(x, 'reasoning', LIMITS.reasoning),
  };
  if (out.problem.trim() === '') throw badLink('type', "the record: 'problem' is empty");
  if (has(x, 'reasoningCut')) {
    const c = x.reasoningCut;
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c > 1 << 30) throw badLink('type', "the record: 'reasoningCut' must be a count of characters");
    if (c > 0) out.reasoningCut = c;
  }
  if (has(x, 'extracted')) out.extracted = x.extracted === null ? null : str(x, 'extracted', LIMITS.extracted);
  if (has(x, 'model')) out.model = model(x.model);
  if (has(x, 'weights')) out.weights = oneOf(x, 'weights', Object.keys(WEIGHTS) as WeightFormat[]);
  if (has(x, 'sampling')) out.sampling = sampling(x.sampling);
  if (has(x, 'maxTokens')) out.maxTokens = num(x, 'maxTokens', true);
  if (has(x, 'context')) out.context = num(x, 'context', true);
  if (has(x, 'stop')) out.stop = oneOf(x, 'stop', Object.keys(STOPS) as StopReason[]);
  if (has(x, 'tokens')) out.tokens = num(x, 'tokens', true);
  if (has(x, 'createdAt')) {
    const t = x.createdAt;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > 8.64e15) throw badLink('type', "the record: 'createdAt' must be a time in ms since 1970");
    out.createdAt = t;
  }
  if (has(x, 'heavy')) out.heavy = heavy(x.heavy);
  // the format is the one the content needs; a stated format must be that one (a file in a format-1 record is refused)
  out.v = formatFor(out);
  if (has(x, 'v') && x.v !== out.v) {
    throw badLink('version', out.v === 2 ? "the record names a model file, which format 1 does not hold" : `the record states format ${String(x.v)} but holds nothing of it beyond format ${out.v}`);
  }
  return out;
}
