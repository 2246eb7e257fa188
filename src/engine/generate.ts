// The generation loop for one sequence: prefill the prompt in chunks, then decode token by token.
// Up to model.stepsInFlight decode steps are queued before the oldest one's token is read back (each step
// takes its input token from the tokens buffer the step before it sampled into, on the GPU), so the CPU's
// wait for a readback overlaps the GPU's work on the next steps. The only readback per token is the sampled
// id (4 bytes).
import type { GenerateStats, SamplingParams, StopReason } from '../protocol/engine';
import { BoxedError } from '../protocol/errors';
import type { GpuModel, RowSampling, StepHandle } from '../gpu/model';
import { Rng } from '../sampler/rng';
import { prefill } from './prefill';

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

  // prefill, a chunk at a time (the next chunk queued while the GPU runs one); the last chunk samples the first token
  const t0 = now();
  const pre = await prefill(model, { slot, ids: req.promptIds, sampleLast: rowSampling, onChunk: req.onPrefill, shouldStop: req.shouldStop });
  if (pre.stopped || !pre.handle) {
    await model.ctx.device.queue.onSubmittedWorkDone();
    return finish([], 'aborted', t0, now(), now(), 0, 0, P);
  }

  const ids: number[] = [];
  let stop: StopReason;
  // steps submitted and not yet read, oldest first; the first is the prefill's last chunk
  const inflight: StepHandle[] = [pre.handle];
  let nextPos = P; // the position the next submitted step writes (it embeds the token sampled before it)
  const depth = model.stepsInFlight;
  let tFirst = 0;
  // counters of the decode steps alone: dispatches recorded by them, readbacks of their ids
  let decodeDispatches = 0;
  let decodeSubmits = 0;
  let decodeReadbacks = 0;
  let decodeReads = 0;
  for (;;) {
    // keep up to `depth` steps queued before waiting: each embeds the token the step before it samples on
    // the GPU, so the CPU's wait for one id overlaps the GPU's work on the next steps. Steps queued past an
    // end-of-sequence are wasted work, never wrong output: their ids are not read.
    while (inflight.length < depth && ids.length + inflight.length < req.maxTokens && nextPos < context) {
      const d = stats.dispatches;
      inflight.push(model.submitStep([{ slot, pos: nextPos }], { lastRowOnly: false, sampling: rowSampling() }));
      nextPos++;
      decodeDispatches += stats.dispatches - d;
      decodeSubmits++;
    }
    const r = stats.readbacks;
    const id = (await model.readTokens(inflight.shift()!))[0];
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
    if (inflight.length === 0 && !(ids.length < req.maxTokens && nextPos < context)) {
      stop = ids.length >= req.maxTokens ? 'max-tokens' : 'context-full';
      break;
    }
  }
  // let the speculative steps finish before the caller reuses the buffers
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
