// Heavy mode on the loaded model: N candidates of one prompt decoded together (batch.ts), streamed as
// events tagged with the candidate's index, their answers read per mode, majority-voted (exact strings)
// and tallied by equivalence for display, then, with `select: 'genselect'`, judged by the model itself
// (select.ts). Stop ends the candidates and the selection alike.
import type { GenerateRequest, HeavyCandidate, HeavyEvent, HeavyRequest, HeavyResult, HeavySelection } from '../protocol/engine';
import { BoxedError, toErrorInfo } from '../protocol/errors';
import type { GpuModel } from '../gpu/model';
import type { Tokenizer } from '../tokenizer/tokenizer';
import { StreamingDetokenizer } from '../tokenizer/detokenizer';
import type { ChatMessage } from '../chat/template';
import { extractAnswer } from '../reasoning/answer';
import { majorityVote } from '../reasoning/vote';
import { tallyAnswers } from '../reasoning/tally';
import { loadSymbolicEquivalence } from '../reasoning/equivalence';
import { generateBatch } from './batch';
import { runGenSelect } from './select';

/** The most candidates one heavy run decodes at once. */
export const MAX_SAMPLES = 16;

export interface HeavyDeps {
  model: GpuModel;
  tokenizer: Tokenizer;
  eosIds: ReadonlySet<number>;
  /** The text the model receives for a prompt (chat messages through the model's chat template). */
  render(prompt: GenerateRequest['prompt']): string;
  shouldStop(): boolean;
}

export async function runHeavy(deps: HeavyDeps, req: HeavyRequest, emit: (events: HeavyEvent[]) => void): Promise<HeavyResult> {
  const { model, tokenizer } = deps;
  const n = req.samples;
  if (!Number.isInteger(n) || n < 1 || n > MAX_SAMPLES) throw new BoxedError('InvalidRequest', `samples must be an integer in 1..${MAX_SAMPLES}, got ${n}`);
  if (req.select !== 'vote' && req.select !== 'genselect') throw new BoxedError('InvalidRequest', `select must be vote or genselect, got ${String(req.select)}`);
  const prefixes = req.continueFrom ?? [];
  if (prefixes.length > n) throw new BoxedError('InvalidRequest', `continueFrom has ${prefixes.length} texts for ${n} candidates`);
  const rendered = deps.render(req.prompt);
  const promptIds = tokenizer.encode(rendered);
  const seqIds = Array.from({ length: n }, (_, i) => (prefixes[i] ? tokenizer.encode(rendered + prefixes[i]) : promptIds));
  const budget = Math.max(1, Math.min(req.maxTokens, model.opts.context - Math.max(...seqIds.map((p) => p.length))));
  const detoks = Array.from({ length: n }, () => new StreamingDetokenizer(tokenizer));
  const texts = Array.from({ length: n }, (_, i) => prefixes[i] ?? '');
  const answers = new Array<string | null>(n).fill(null);
  const counts = new Array<number>(n).fill(0);
  const t0 = performance.now();
  let tFirst = 0;
  const batch = await generateBatch(model, {
    sequences: seqIds.map((ids, i) => ({ promptIds: ids, seed: (req.sampling.seed + i) >>> 0 })),
    maxTokens: budget,
    sampling: req.sampling,
    eosIds: deps.eosIds,
    shouldStop: deps.shouldStop,
    onPrefill: (done, total) => emit([{ type: 'prefill', done, total }]),
    onStep: (tokens, ended) => {
      if (tFirst === 0) tFirst = performance.now();
      const events: HeavyEvent[] = [];
      for (const t of tokens) {
        const piece = detoks[t.seq].push(t.id);
        texts[t.seq] += piece;
        counts[t.seq] = t.count;
        events.push({ type: 'token', seq: t.seq, text: piece, count: t.count });
      }
      for (const e of ended) {
        const tail = detoks[e.seq].flush();
        if (tail) {
          texts[e.seq] += tail;
          events.push({ type: 'token', seq: e.seq, text: tail, count: counts[e.seq] });
        }
        answers[e.seq] = extractAnswer(req.mode, texts[e.seq]);
        events.push({ type: 'candidate-end', seq: e.seq, stop: e.stop, answer: answers[e.seq] });
      }
      if (events.length > 0) emit(events);
    },
  });
  const candidates: HeavyCandidate[] = batch.sequences.map((s, i) => ({ text: texts[i], ids: s.ids, answer: answers[i], stop: s.stop }));
  const vote = majorityVote(answers);
  // the tally groups with the full (symbolic) comparison; it is display-only, so a failed load leaves the literal rules
  await loadSymbolicEquivalence().catch(() => undefined);
  const tally = tallyAnswers(answers);
  const stopped = candidates.some((c) => c.stop === 'aborted');
  let selection: HeavySelection = { method: req.select, skipped: req.select === 'genselect', rounds: [] };
  let chosen: number | null = vote.indices[0] ?? null;
  let selectionTokens = 0;
  if (req.select === 'genselect' && !stopped) {
    const out = await runGenSelect(
      {
        model,
        tokenizer,
        eosIds: deps.eosIds,
        renderChat: (messages: ChatMessage[]) => deps.render({ kind: 'chat', messages }),
        shouldStop: deps.shouldStop,
        emit,
      },
      { req, texts, answers },
    ).catch((e: unknown) => {
      // the candidates are kept: a selection that cannot run leaves the vote's choice, with the reason
      const error = toErrorInfo(e);
      if (error.name === 'DeviceLost' || !(e instanceof BoxedError)) throw e;
      return { selection: { method: 'genselect' as const, skipped: false, rounds: [], error }, chosen, tokens: 0 };
    });
    selection = out.selection;
    chosen = out.chosen;
    selectionTokens = out.tokens;
  }
  const bs = batch.stats;
  const stats = {
    promptTokens: promptIds.length,
    prefilledTokens: bs.prefilledTokens,
    timeToFirstTokenMs: tFirst > 0 ? tFirst - t0 : 0,
    decodeSteps: bs.decodeSteps,
    decodeRows: bs.decodeRows,
    aggregateTokensPerSecond: bs.aggregateTokensPerSecond,
    dispatchesPerStep: bs.dispatchesPerStep,
    readbacksPerStep: bs.readbacksPerStep,
    selectionTokens,
  };
  emit([{ type: 'stats', stats }]);
  return { candidates, vote, tally, selection, chosen, answer: chosen === null ? null : answers[chosen], stats };
}
