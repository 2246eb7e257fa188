// The generation loop for one sequence: prefill the prompt in chunks, then decode token by token.
// Each decode step is submitted before the previous step's token is read back (the GPU already has
// that token in its tokens buffer), so the CPU's wait overlaps the next step's work. The only
// readback per token is the sampled id (4 bytes).
import type { GenerateStats, SamplingParams, StopReason } from '../protocol/engine';
import { BoxedError } from '../protocol/errors';
import type { GpuModel, RowSampling, StepHandle } from '../gpu/model';
import { Rng } from '../sampler/rng';

export interface SequenceRequest {
  promptIds: readonly number[];
  maxTokens: number;
  sampling: SamplingParams;
  /** Token ids that end the answer. */
  eosIds: ReadonlySet<number>;
  slot?: number;
  /** Checked between steps; true stops with reason 'aborted'. */
  shouldStop?: () => boolean;
  onPrefill?: (done: number, total: number) => void;
  /** Called for every generated token (not for the stop token). */
  onToken?: (id: number, count: number) => void;
}

export interface SequenceResult {
  ids: number[];
  stop: StopReason;
  stats: GenerateStats;
}

const now = () => performance.now();

export async function generateSequence(model: GpuModel, req: SequenceRequest): Promise<SequenceResult> {
  const slot = req.slot ?? 0;
  const P = req.promptIds.length;
  const context = model.opts.context;
  if (P < 1) throw new BoxedError('InvalidRequest', 'the prompt is empty');
  if (P >= context) {
    throw new BoxedError('InvalidRequest', `the prompt has ${P} tokens but the context holds ${context}: raise the context length`, { detail: { promptTokens: P, context } });
  }
  if (!(req.maxTokens >= 1)) throw new BoxedError('InvalidRequest', `maxTokens must be at least 1, got ${req.maxTokens}`);
  const rng = new Rng(req.sampling.seed);
  const rowSampling = (): RowSampling[] => [{ temperature: req.sampling.temperature, topP: req.sampling.topP, topK: req.sampling.topK, coin: rng.next() }];
  const stats = model.ctx.stats;

  // prefill, a chunk at a time; the last chunk samples the first token
  const t0 = now();
  const chunk = model.rowsPerStep;
  let handle: StepHandle | null = null;
  for (let start = 0; start < P; start += chunk) {
    const n = Math.min(chunk, P - start);
    const rows = Array.from({ length: n }, (_, i) => ({ slot, pos: start + i }));
    const last = start + n >= P;
    handle = model.submitStep(rows, { tokens: req.promptIds.slice(start, start + n), lastRowOnly: true, sampling: last ? rowSampling() : undefined });
    if (!last) await model.ctx.device.queue.onSubmittedWorkDone();
    req.onPrefill?.(start + n, P);
    if (req.shouldStop?.()) return finish([], 'aborted', t0, now(), now(), 0, 0, P);
  }

  const ids: number[] = [];
  let stop: StopReason;
  let pos = P;
  let pending = handle!;
  let tFirst = 0;
  // counters of the decode steps alone: dispatches recorded by them, readbacks of their ids
  let decodeDispatches = 0;
  let decodeSubmits = 0;
  let decodeReadbacks = 0;
  let decodeReads = 0;
  for (;;) {
    // queue the next step before waiting: it embeds the token the pending step is sampling
    const canContinue = ids.length + 1 < req.maxTokens && pos < context;
    const d = stats.dispatches;
    const next = canContinue ? model.submitStep([{ slot, pos }], { lastRowOnly: false, sampling: rowSampling() }) : null;
    if (next) {
      decodeDispatches += stats.dispatches - d;
      decodeSubmits++;
    }
    const r = stats.readbacks;
    const id = (await model.readTokens(pending))[0];
    if (ids.length > 0) {
      decodeReadbacks += stats.readbacks - r;
      decodeReads++;
    }
    if (ids.length === 0) {
      tFirst = now();
    }
    if (req.eosIds.has(id)) {
      stop = 'eos';
      break;
    }
    ids.push(id);
    req.onToken?.(id, ids.length);
    if (req.shouldStop?.()) {
      stop = 'aborted';
      break;
    }
    if (!next) {
      stop = ids.length >= req.maxTokens ? 'max-tokens' : 'context-full';
      break;
    }
    pending = next;
    pos++;
  }
  // let a speculative step finish before the caller reuses the buffers
  await model.ctx.device.queue.onSubmittedWorkDone();
  const decodeSteps = Math.max(0, ids.length - 1);
  const perStep = (n: number, steps: number) => (steps > 0 ? n / steps : 0);
  return finish(ids, stop, t0, tFirst, now(), perStep(decodeDispatches, decodeSubmits), perStep(decodeReadbacks, decodeReads), P, decodeSteps);
}

function finish(ids: number[], stop: StopReason, t0: number, tFirst: number, tEnd: number, dispatchesPerToken: number, readbacksPerToken: number, promptTokens: number, decodeSteps = 0): SequenceResult {
  const prefillS = Math.max(1e-9, (tFirst - t0) / 1000);
  const decodeS = Math.max(1e-9, (tEnd - tFirst) / 1000);
  return {
    ids,
    stop,
    stats: {
      promptTokens,
      generatedTokens: ids.length,
      timeToFirstTokenMs: tFirst - t0,
      prefillTokensPerSecond: promptTokens / prefillS,
      decodeTokensPerSecond: decodeSteps > 0 ? decodeSteps / decodeS : 0,
      dispatchesPerToken,
      readbacksPerToken,
    },
  };
}
