// GenSelect on the loaded model (rules in docs/heavy-mode.md): skip when every answer agrees; else judge
// the candidates in rounds (one round up to 16 candidates, random subsets beyond), each round a single
// sequence in slot 0: the selection prompt (every candidate reduced to its summary, code candidates as
// their code) prefilled in chunks, then the model's own reasoning, ending in `Judgment: IDX`. A missing
// or out-of-range judgment falls back to a random candidate; several rounds' picks are majority-voted.
//
// The selection prompt must fit one slot's context with room to reason: summaries keep their last 5000
// characters unless the context cannot hold that, in which case they are cut further (the round reports
// the cut); a context too small for even short summaries is refused with a typed error.
import type { HeavyEvent, HeavyRequest, HeavySelection, SamplingParams, SelectionRound, StopReason, Tally, VoteResult } from '../protocol/engine';
import { BoxedError, toErrorInfo } from '../protocol/errors';
import type { GpuModel } from '../gpu/model';
import type { Tokenizer } from '../tokenizer/tokenizer';
import { StreamingDetokenizer } from '../tokenizer/detokenizer';
import { userTurn } from '../chat/prompts';
import type { ChatMessage } from '../chat/template';
import { Rng } from '../sampler/rng';
import { majorityVote } from '../reasoning/vote';
import { tallyAnswers } from '../reasoning/tally';
import { loadSymbolicEquivalence } from '../reasoning/equivalence';
import {
  SUMMARY_MAX_CHARS,
  candidateSummary,
  codeCandidateSummary,
  genselectPrompt,
  needsSelection,
  parseJudgment,
  pickCandidate,
  selectionRounds,
  voteOfPicks,
} from '../reasoning/genselect';
import { generateSequence } from './generate';

/** Summaries are never cut below this many characters to make a prompt fit. */
const MIN_SUMMARY_CHARS = 200;

export interface SelectDeps {
  model: GpuModel;
  tokenizer: Tokenizer;
  eosIds: ReadonlySet<number>;
  /** The text the model receives for chat messages (the model's chat template). */
  renderChat(messages: ChatMessage[]): string;
  shouldStop(): boolean;
  emit(events: HeavyEvent[]): void;
}

/**
 * What a selection round needs from a model, whichever runs it: the GPU model here (gpuSelectionModel), or
 * an OpenAI-compatible server (src/remote), whose chat template and tokenizer are its own.
 */
export interface SelectionModel {
  /** Tokens one sequence may hold (prompt + answer); Infinity when unknown. */
  readonly context: number;
  /** The prompt's length in tokens for these messages (an estimate where the tokenizer is the server's). */
  promptTokens(messages: ChatMessage[]): number | Promise<number>;
  /** Streams one sequence for these messages. */
  generate(
    messages: ChatMessage[],
    opts: { maxTokens: number; sampling: SamplingParams; shouldStop(): boolean; onPrefill(done: number, total: number): void; onText(text: string, count: number): void },
  ): Promise<{ text: string; tokens: number; stop: StopReason }>;
}

/** The GPU model as a SelectionModel: the chat template and tokenizer are the engine's own. */
export function gpuSelectionModel(deps: SelectDeps): SelectionModel {
  const { model, tokenizer } = deps;
  let last: { text: string; ids: number[] } | null = null;
  const encode = (messages: ChatMessage[]) => {
    const text = deps.renderChat(messages);
    if (last?.text !== text) last = { text, ids: tokenizer.encode(text) };
    return last.ids;
  };
  return {
    context: model.opts.context,
    promptTokens: (messages) => encode(messages).length,
    async generate(messages, opts) {
      const detok = new StreamingDetokenizer(tokenizer);
      let text = '';
      const r = await generateSequence(model, {
        promptIds: encode(messages),
        maxTokens: opts.maxTokens,
        sampling: opts.sampling,
        eosIds: deps.eosIds,
        shouldStop: opts.shouldStop,
        onPrefill: opts.onPrefill,
        onToken: (id, count) => {
          const piece = detok.push(id);
          text += piece;
          opts.onText(piece, count);
        },
      });
      const tail = detok.flush();
      if (tail) {
        text += tail;
        opts.onText(tail, r.ids.length);
      }
      return { text, tokens: r.ids.length, stop: r.stop };
    },
  };
}

/** How a selection reports and stops. */
export type SelectFlow = Pick<SelectDeps, 'shouldStop' | 'emit'>;

export interface SelectInput {
  req: HeavyRequest;
  texts: readonly string[];
  answers: ReadonlyArray<string | null>;
}

export interface SelectOutput {
  selection: HeavySelection;
  /** The chosen candidate, or null when no candidate has an answer. */
  chosen: number | null;
  tokens: number;
}

/** The first candidate with an answer among `ids`, else the first of them. */
function firstAnswered(ids: readonly number[], answers: ReadonlyArray<string | null>): number {
  return ids.find((i) => answers[i] !== null) ?? ids[0];
}

export function runGenSelect(deps: SelectDeps, input: SelectInput): Promise<SelectOutput> {
  return runGenSelectWith(gpuSelectionModel(deps), deps, input);
}

export interface Combined {
  vote: VoteResult;
  tally: Tally;
  selection: HeavySelection;
  /** The candidate the result comes from, or null when none has an answer. */
  chosen: number | null;
  selectionTokens: number;
}

/**
 * Heavy mode's ending, the same on every engine: the majority vote (exact strings), the tally by equivalence
 * (display only: with the symbolic comparison when it loads, else the literal rules), then, when asked and no
 * candidate was stopped, GenSelect on `model`. A selection that fails with a typed error (a lost device aside)
 * leaves the vote's choice and reports the reason in `selection.error`.
 */
export async function combineCandidates(model: SelectionModel, flow: SelectFlow, input: SelectInput, stops: readonly StopReason[]): Promise<Combined> {
  const { req, answers } = input;
  const vote = majorityVote(answers);
  await loadSymbolicEquivalence().catch(() => undefined);
  const tally = tallyAnswers(answers);
  let selection: HeavySelection = { method: req.select, skipped: req.select === 'genselect', rounds: [] };
  let chosen: number | null = vote.indices[0] ?? null;
  let selectionTokens = 0;
  if (req.select === 'genselect' && !stops.includes('aborted')) {
    const out = await runGenSelectWith(model, flow, input).catch((e: unknown) => {
      const error = toErrorInfo(e);
      if (error.name === 'DeviceLost' || !(e instanceof BoxedError)) throw e;
      return { selection: { method: 'genselect' as const, skipped: false, rounds: [], error }, chosen, tokens: 0 };
    });
    selection = out.selection;
    chosen = out.chosen;
    selectionTokens = out.tokens;
  }
  return { vote, tally, selection, chosen, selectionTokens };
}

/** GenSelect on any SelectionModel (the same rounds, seeds and fallbacks as runGenSelect). */
export async function runGenSelectWith(model: SelectionModel, deps: SelectFlow, input: SelectInput): Promise<SelectOutput> {
  const { req, texts, answers } = input;
  const n = texts.length;
  if (!needsSelection(answers)) {
    const chosen = answers.some((a) => a !== null) ? firstAnswered(answers.map((_, i) => i), answers) : null;
    return { selection: { method: 'genselect', skipped: true, rounds: [] }, chosen, tokens: 0 };
  }
  // subsets and fallback coins: one RNG seeded after the candidates' seeds; round r samples with the next seeds
  const rng = new Rng((req.sampling.seed + req.samples) >>> 0);
  const plan = selectionRounds(n, () => rng.next());
  const rounds: SelectionRound[] = [];
  let tokens = 0;
  for (let r = 0; r < plan.length; r++) {
    const ids = plan[r];
    if (!needsSelection(ids.map((i) => answers[i]))) {
      const pick = firstAnswered(ids, answers);
      rounds.push({ candidates: ids, skipped: true, text: '', promptTokens: 0, summaryChars: SUMMARY_MAX_CHARS, judgment: null, pick, stop: null });
      deps.emit([{ type: 'selection-end', round: r, skipped: true, judgment: null, pick }]);
      continue;
    }
    const round = await judgeRound(model, deps, req, ids, ids.map((i) => texts[i]), r, plan.length, (req.sampling.seed + req.samples + 1 + r) >>> 0);
    const local = pickCandidate(round.judgment, ids.length, rng.next());
    const pick = ids[local];
    tokens += round.tokens;
    rounds.push({ candidates: ids, skipped: false, text: round.text, promptTokens: round.promptTokens, summaryChars: round.summaryChars, judgment: round.judgment, pick, stop: round.stop });
    deps.emit([{ type: 'selection-end', round: r, skipped: false, judgment: round.judgment, pick }]);
    if (round.stop === 'aborted') break;
  }
  const picks = rounds.map((x) => x.pick);
  const chosen = picks.length === 1 ? picks[0] : voteOfPicks(picks, answers);
  return { selection: { method: 'genselect', skipped: false, rounds }, chosen, tokens };
}

interface RoundOutput {
  text: string;
  promptTokens: number;
  summaryChars: number;
  judgment: number | null;
  stop: StopReason;
  tokens: number;
}

async function judgeRound(model: SelectionModel, deps: SelectFlow, req: HeavyRequest, candidates: number[], texts: readonly string[], round: number, rounds: number, seed: number): Promise<RoundOutput> {
  const context = model.context;
  const maxNew = req.selectionMaxTokens ?? req.maxTokens;
  // room to reason: the requested tokens, but at most a quarter of the context
  const reserve = Math.max(1, Math.min(maxNew, Math.floor(context / 4)));
  const kind = req.mode === 'math' ? 'math' : 'generic';
  const summarize = req.mode === 'code' ? codeCandidateSummary : candidateSummary;
  let chars = SUMMARY_MAX_CHARS;
  let promptTokens: number;
  let messages: ChatMessage[];
  for (;;) {
    const prompt = genselectPrompt(kind, req.problem, texts.map((t) => summarize(t, chars)));
    messages = userTurn(prompt);
    promptTokens = await model.promptTokens(messages);
    if (promptTokens + reserve <= context) break;
    const longest = Math.max(...texts.map((t) => Array.from(summarize(t, chars)).length));
    if (longest <= MIN_SUMMARY_CHARS) {
      throw new BoxedError('InvalidRequest', `the selection prompt needs ${promptTokens + reserve} tokens but the context holds ${context}: load the model with a longer context`, {
        detail: { promptTokens, reserve, context },
      });
    }
    // shrink in proportion to the excess, and always by at least a tenth
    const next = Math.floor(Math.min(longest * 0.9, (longest * (context - reserve)) / (promptTokens + 1)));
    chars = Math.max(MIN_SUMMARY_CHARS, next);
  }
  deps.emit([{ type: 'selection-start', round, rounds, candidates, promptTokens, summaryChars: chars }]);
  const r = await model.generate(messages, {
    maxTokens: Math.max(1, Math.min(maxNew, context - promptTokens)),
    sampling: { ...req.sampling, seed },
    shouldStop: deps.shouldStop,
    onPrefill: (done, total) => deps.emit([{ type: 'selection-prefill', round, done, total }]),
    onText: (text, count) => deps.emit([{ type: 'selection-token', round, text, count }]),
  });
  return { text: r.text, promptTokens, summaryChars: chars, judgment: parseJudgment(r.text, texts.length), stop: r.stop, tokens: r.tokens };
}
