// Heavy mode on the loaded model: N candidates of one prompt decoded together (batch.ts), streamed as
// events tagged with the candidate's index, their answers read per mode, majority-voted (exact strings)
// and tallied by equivalence for display, then, with `select: 'genselect'`, judged by the model itself
// (select.ts). Stop ends the candidates and the selection alike.
import type { GenerateRequest, HeavyCandidate, StopReason, HeavyEvent, HeavyRequest, HeavyResult } from '../protocol/engine';
import { BoxedError } from '../protocol/errors';
import { GPU_MAX_SAMPLES } from '../protocol/lists';
import type { GpuModel } from '../gpu/model';
import type { Tokenizer } from '../tokenizer/tokenizer';
import { StreamingDetokenizer } from '../tokenizer/detokenizer';
import type { ChatMessage } from '../chat/template';
import { extractAnswer } from '../reasoning/answer';
import { generateBatch, type BatchResult } from './batch';
import { combineCandidates, gpuSelectionModel } from './select';

/** The most candidates one heavy run decodes at once. */
export const MAX_SAMPLES = GPU_MAX_SAMPLES;

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
  const doneIn = req.continueDone ?? [];
  if (doneIn.length > n) throw new BoxedError('InvalidRequest', `continueDone has ${doneIn.length} entries for ${n} candidates`);
  // candidates that had ended before a Stop are kept as they are; the others (batch sequence j is candidate live[j]) are decoded
  const done = Array.from({ length: n }, (_, i) => (doneIn[i] && doneIn[i] !== 'aborted' ? doneIn[i] : null));
  const live = done.flatMap((d, i) => (d === null ? [i] : []));
  const rendered = deps.render(req.prompt);
  const promptIds = tokenizer.encode(rendered);
  const seqIds = live.map((i) => (prefixes[i] ? tokenizer.encode(rendered + prefixes[i]) : promptIds));
  const budget = Math.max(1, Math.min(req.maxTokens, model.opts.context - Math.max(0, ...seqIds.map((p) => p.length))));
  const detoks = Array.from({ length: n }, () => new StreamingDetokenizer(tokenizer));
  const texts = Array.from({ length: n }, (_, i) => prefixes[i] ?? '');
  const answers = texts.map((t, i) => (done[i] === null ? null : extractAnswer(req.mode, t)));
  const counts = new Array<number>(n).fill(0);
  const t0 = performance.now();
  let tFirst = 0;
  const batch = live.length === 0 ? emptyBatch() : await generateBatch(model, {
    sequences: live.map((i, j) => ({ promptIds: seqIds[j], seed: (req.sampling.seed + i) >>> 0 })),
    maxTokens: budget,
    sampling: req.sampling,
    eosIds: deps.eosIds,
    shouldStop: deps.shouldStop,
    onPrefill: (done, total) => emit([{ type: 'prefill', done, total }]),
    onStep: (tokens, ended) => {
      if (tFirst === 0) tFirst = performance.now();
      const events: HeavyEvent[] = [];
      for (const t of tokens) {
        const seq = live[t.seq];
        const piece = detoks[seq].push(t.id);
        texts[seq] += piece;
        counts[seq] = t.count;
        events.push({ type: 'token', seq, text: piece, count: t.count });
      }
      for (const e of ended) {
        const seq = live[e.seq];
        const tail = detoks[seq].flush();
        if (tail) {
          texts[seq] += tail;
          events.push({ type: 'token', seq, text: tail, count: counts[seq] });
        }
        answers[seq] = extractAnswer(req.mode, texts[seq]);
        events.push({ type: 'candidate-end', seq, stop: e.stop, answer: answers[seq] });
      }
      if (events.length > 0) emit(events);
    },
  });
  const candidates: HeavyCandidate[] = texts.map((text, i) => {
    const j = live.indexOf(i);
    const s: { ids: number[]; stop: StopReason } = j >= 0 ? batch.sequences[j] : { ids: [], stop: done[i] ?? 'aborted' };
    return { text, ids: s.ids, answer: answers[i], stop: s.stop };
  });
  const selectDeps = { model, tokenizer, eosIds: deps.eosIds, renderChat: (messages: ChatMessage[]) => deps.render({ kind: 'chat', messages }), shouldStop: deps.shouldStop, emit };
  const { vote, tally, selection, chosen, selectionTokens } = await combineCandidates(
    gpuSelectionModel(selectDeps),
    selectDeps,
    { req, texts, answers },
    candidates.map((c) => c.stop),
  );
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

/** The batch of a continued run whose candidates had all ended (only the selection runs again). */
function emptyBatch(): BatchResult {
  return {
    sequences: [],
    stats: { prefilledTokens: 0, prefillMs: 0, decodeMs: 0, decodeSteps: 0, decodeRows: 0, decodeTokens: 0, aggregateTokensPerSecond: 0, dispatchesPerStep: 0, readbacksPerStep: 0, cpuMsPerStep: 0 },
  };
}
