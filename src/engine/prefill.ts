// A prompt prefilled in chunks of model.rowsPerStep rows, one sequence slot. Chunk i+1 is recorded and
// submitted while the GPU still runs chunk i: the CPU waits only for the chunk before the one just
// submitted, so the queue never runs dry between chunks, and progress (and Stop) is still reported
// chunk by chunk as the GPU finishes them. The last chunk may also sample (the first generated token).
import type { GpuModel, RowSampling, StepHandle } from '../gpu/model';

export interface PrefillRequest {
  slot: number;
  /** Positions [from, from + ids.length) of the slot receive these tokens. */
  ids: readonly number[];
  from?: number;
  /** Sampling for the last chunk's last row (the first new token); none: no sampling. */
  sampleLast?: () => RowSampling[];
  /** Called as the GPU finishes each chunk: positions done so far (of ids.length). */
  onChunk?: (done: number, total: number) => void;
  /** Checked after each finished chunk; true stops submitting (what was submitted still runs). */
  shouldStop?: () => boolean;
}

export interface PrefillResult {
  /** The last chunk's handle (its sampled id when sampleLast was given), or null when stopped early. */
  handle: StepHandle | null;
  /** Positions submitted. */
  submitted: number;
  stopped: boolean;
}

export async function prefill(model: GpuModel, req: PrefillRequest): Promise<PrefillResult> {
  const from = req.from ?? 0;
  const total = req.ids.length;
  const chunk = model.rowsPerStep;
  // the chunk in flight before the last one submitted: [its end, a promise for its completion]
  let previous: { end: number; done: Promise<void> } | null = null;
  let handle: StepHandle | null = null;
  let start = 0;
  const finishPrevious = async (): Promise<boolean> => {
    if (!previous) return false;
    await previous.done;
    req.onChunk?.(previous.end, total);
    previous = null;
    return req.shouldStop?.() ?? false;
  };
  while (start < total) {
    const n = Math.min(chunk, total - start);
    const last = start + n >= total;
    const rows = Array.from({ length: n }, (_, i) => ({ slot: req.slot, pos: from + start + i }));
    handle = model.submitStep(rows, { tokens: req.ids.slice(start, start + n), lastRowOnly: true, sampling: last && req.sampleLast ? req.sampleLast() : undefined });
    // resolves once everything submitted so far, this chunk included, has run
    const done = model.ctx.device.queue.onSubmittedWorkDone();
    start += n;
    if (await finishPrevious()) return { handle: null, submitted: start, stopped: true };
    previous = { end: start, done };
  }
  if (await finishPrevious()) return { handle: null, submitted: start, stopped: true };
  return { handle, submitted: start, stopped: false };
}
