// Batched generation: N sequences (1..slots) advance together, one forward pass per step over the rows of
// the sequences still running. Each distinct prompt is prefilled once (in chunks) into the slot of its
// first sequence and its KV copied to the other sequences' slots; the first token of every sequence is
// sampled on the CPU from the prompt's last logits (one readback per distinct prompt), each with its own
// seeded coin. Decode steps are pipelined as in generate.ts: step t+1 is queued before t's ids are read,
// continuing from the ids the GPU sampled into its tokens buffer. When a sequence finishes, the next step
// is submitted with the surviving rows only (compaction) and their ids passed explicitly.
import type { SamplingParams, StopReason } from '../protocol/engine';
import { BoxedError } from '../protocol/errors';
import type { GpuModel, RowSampling, RowSpec, StepHandle } from '../gpu/model';
import { Rng } from '../sampler/rng';
import { sample } from '../sampler/sample';

export interface BatchSequence {
  promptIds: readonly number[];
  /** Seeds this sequence's coins (its own RNG). */
  seed: number;
}

export interface BatchTokenEvent {
  seq: number;
  id: number;
  /** Tokens this sequence has generated so far, this one included. */
  count: number;
}

export interface BatchRequest {
  sequences: readonly BatchSequence[];
  /** New tokens per sequence at most. */
  maxTokens: number;
  sampling: Omit<SamplingParams, 'seed'>;
  eosIds: ReadonlySet<number>;
  /** Checked after every step; true ends every sequence with reason 'aborted'. */
  shouldStop?: () => boolean;
  onPrefill?: (done: number, total: number) => void;
  /** Once per step: the tokens it produced (stop tokens excluded) and the sequences that ended. */
  onStep?: (tokens: readonly BatchTokenEvent[], ended: readonly { seq: number; stop: StopReason }[]) => void;
}

export interface BatchStats {
  /** Prompt tokens actually prefilled (each distinct prompt once). */
  prefilledTokens: number;
  prefillMs: number;
  decodeMs: number;
  /** Decode steps submitted, and the rows they carried in total. */
  decodeSteps: number;
  decodeRows: number;
  /** Tokens produced by decode steps (every sequence's tokens after its first). */
  decodeTokens: number;
  aggregateTokensPerSecond: number;
  dispatchesPerStep: number;
  readbacksPerStep: number;
  /** Decode wall time per step not spent waiting for the sampled ids (recording, submitting, the loop's own work). */
  cpuMsPerStep: number;
}

export interface BatchResult {
  sequences: { ids: number[]; stop: StopReason }[];
  stats: BatchStats;
}

interface SeqState {
  index: number;
  slot: number;
  promptLen: number;
  rng: Rng;
  ids: number[];
  stop: StopReason | null;
}

interface Pending {
  handle: StepHandle;
  /** The sequence of each row, in row order. */
  rows: SeqState[];
}

const now = () => performance.now();

export async function generateBatch(model: GpuModel, req: BatchRequest): Promise<BatchResult> {
  const n = req.sequences.length;
  const { slots, context } = model.opts;
  if (n < 1 || n > slots) {
    throw new BoxedError('InvalidRequest', `${n} sequences requested but the model was loaded with ${slots} slot(s): load it with a batch of at least ${n}`, {
      detail: { sequences: n, slots },
    });
  }
  if (!(req.maxTokens >= 1)) throw new BoxedError('InvalidRequest', `maxTokens must be at least 1, got ${req.maxTokens}`);
  const seqs: SeqState[] = req.sequences.map((s, i) => {
    const P = s.promptIds.length;
    if (P < 1) throw new BoxedError('InvalidRequest', `sequence ${i}: the prompt is empty`);
    if (P >= context) {
      throw new BoxedError('InvalidRequest', `sequence ${i}: the prompt has ${P} tokens but the context holds ${context}: raise the context length`, {
        detail: { promptTokens: P, context },
      });
    }
    return { index: i, slot: i, promptLen: P, rng: new Rng(s.seed), ids: [], stop: null };
  });
  const stats = model.ctx.stats;
  const rowSampling = (s: SeqState): RowSampling => ({ temperature: req.sampling.temperature, topP: req.sampling.topP, topK: req.sampling.topK, coin: s.rng.next() });
  const endAll = (reason: StopReason) => seqs.filter((s) => s.stop === null).map((s) => ((s.stop = reason), { seq: s.index, stop: reason }));

  // ---- prefill: each distinct prompt once, then its KV copied to the other sequences with that prompt
  const t0 = now();
  const groups = new Map<string, SeqState[]>();
  for (const s of seqs) {
    const key = req.sequences[s.index].promptIds.join(',');
    const g = groups.get(key);
    if (g) g.push(s);
    else groups.set(key, [s]);
  }
  const totalPrefill = [...groups.values()].reduce((a, g) => a + g[0].promptLen, 0);
  let prefilled = 0;
  const firstTokens: BatchTokenEvent[] = [];
  const firstEnded: { seq: number; stop: StopReason }[] = [];
  for (const group of groups.values()) {
    const lead = group[0];
    const ids = req.sequences[lead.index].promptIds;
    const P = lead.promptLen;
    const chunk = model.rowsPerStep;
    for (let start = 0; start < P; start += chunk) {
      const rows = Math.min(chunk, P - start);
      model.submitStep(
        Array.from({ length: rows }, (_, i) => ({ slot: lead.slot, pos: start + i })),
        { tokens: ids.slice(start, start + rows), lastRowOnly: true },
      );
      await model.ctx.device.queue.onSubmittedWorkDone();
      prefilled += rows;
      req.onPrefill?.(prefilled, totalPrefill);
      if (req.shouldStop?.()) {
        const ended = endAll('aborted');
        req.onStep?.([], ended);
        return result(seqs, t0, now(), now(), 0, 0, 0, 0, prefilled);
      }
    }
    for (const s of group.slice(1)) model.copySlot(lead.slot, s.slot, P);
    const logits = await model.readLogits(1);
    for (const s of group) {
      const id = sample(logits, req.sampling, s.rng.next(), model.validVocab);
      accept(s, id, req, context, firstTokens, firstEnded);
    }
  }
  req.onStep?.(firstTokens, firstEnded);
  const tFirst = now();

  // ---- decode
  let steps = 0;
  let rowsTotal = 0;
  let dispatches = 0;
  let readbacks = 0;
  let waitMs = 0;
  let pending: Pending | null = null;
  const submit = (rows: SeqState[], specs: RowSpec[], tokens?: number[]): Pending => {
    const d = stats.dispatches;
    const handle = model.submitStep(specs, { tokens, lastRowOnly: false, sampling: rows.map(rowSampling) });
    dispatches += stats.dispatches - d;
    steps++;
    rowsTotal += rows.length;
    return { handle, rows };
  };
  for (;;) {
    if (req.shouldStop?.()) {
      req.onStep?.([], endAll('aborted'));
      break;
    }
    if (!pending) {
      // every live sequence's last id is known: submit them as the rows, ids passed explicitly
      const live = seqs.filter((s) => s.stop === null);
      if (live.length === 0) break;
      pending = submit(
        live,
        live.map((s) => ({ slot: s.slot, pos: s.promptLen + s.ids.length - 1 })),
        live.map((s) => s.ids[s.ids.length - 1]),
      );
      continue;
    }
    // queue the next step over the same rows when none of them can have ended (it reads the ids the
    // pending step is sampling straight from the GPU's tokens buffer)
    const rows: SeqState[] = pending.rows;
    const same = rows.every((s) => s.stop === null && s.ids.length + 1 < req.maxTokens && s.promptLen + s.ids.length < context);
    const next = same ? submit(rows, rows.map((s) => ({ slot: s.slot, pos: s.promptLen + s.ids.length }))) : null;
    const r = stats.readbacks;
    const w0 = now();
    const ids = await model.readTokens(pending.handle);
    waitMs += now() - w0;
    readbacks += stats.readbacks - r;
    const tokens: BatchTokenEvent[] = [];
    const ended: { seq: number; stop: StopReason }[] = [];
    rows.forEach((s, i) => {
      if (s.stop === null) accept(s, ids[i], req, context, tokens, ended);
    });
    req.onStep?.(tokens, ended);
    pending = next;
  }
  // let a speculative step finish before the caller reuses the buffers
  await model.ctx.device.queue.onSubmittedWorkDone();
  return result(seqs, t0, tFirst, now(), steps, rowsTotal, dispatches, readbacks, prefilled, waitMs);
}

/** Takes one sampled id into a sequence: the stop token ends it; else the id is kept and the limits checked. */
function accept(s: SeqState, id: number, req: BatchRequest, context: number, tokens: BatchTokenEvent[], ended: { seq: number; stop: StopReason }[]): void {
  if (req.eosIds.has(id)) {
    s.stop = 'eos';
  } else {
    s.ids.push(id);
    tokens.push({ seq: s.index, id, count: s.ids.length });
    // the next step would feed this id at position promptLen + ids.length - 1
    if (s.ids.length >= req.maxTokens) s.stop = 'max-tokens';
    else if (s.promptLen + s.ids.length - 1 >= context) s.stop = 'context-full';
  }
  if (s.stop !== null) ended.push({ seq: s.index, stop: s.stop });
}

function result(seqs: SeqState[], t0: number, tFirst: number, tEnd: number, steps: number, rows: number, dispatches: number, readbacks: number, prefilled: number, waitMs = 0): BatchResult {
  const decodeTokens = seqs.reduce((a, s) => a + Math.max(0, s.ids.length - 1), 0);
  const decodeMs = tEnd - tFirst;
  return {
    sequences: seqs.map((s) => ({ ids: s.ids, stop: s.stop ?? 'aborted' })),
    stats: {
      prefilledTokens: prefilled,
      prefillMs: tFirst - t0,
      decodeMs,
      decodeSteps: steps,
      decodeRows: rows,
      decodeTokens,
      aggregateTokensPerSecond: decodeMs > 0 ? (decodeTokens * 1000) / decodeMs : 0,
      dispatchesPerStep: steps > 0 ? dispatches / steps : 0,
      readbacksPerStep: steps > 0 ? readbacks / steps : 0,
      cpuMsPerStep: steps > 0 ? (decodeMs - waitMs) / steps : 0,
    },
  };
}
