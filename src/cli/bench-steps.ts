// Decode-step timings for `bench`: the GPU time of a decode step of R rows (one token of each of R sequences,
// every row sampled), the CPU time to record one (no submit), and the JS heap growth per recorded step.
import type { GpuModel, RowSampling, RowSpec } from '../gpu/model';

export interface RowsTiming {
  rows: number;
  /** wall time per step with `steps` steps queued back to back (the GPU's time when it is the bottleneck) */
  step_ms: number;
  /** CPU time to record one step, without submitting it */
  encode_ms: number;
  /** JS heap growth per recorded step (V8's used heap, over many steps; 0 when nothing is retained or collected) */
  js_heap_bytes_per_step: number;
}

const now = () => performance.now();

/** Times decode steps of each row count in `rowCounts` at positions from `pos0` (the slots' prompts must be filled). */
export async function timeDecodeRows(model: GpuModel, rowCounts: readonly number[], pos0: number, steps: number): Promise<RowsTiming[]> {
  const out: RowsTiming[] = [];
  const heap = await heapReader();
  for (const R of rowCounts) {
    const sampling: RowSampling[] = Array.from({ length: R }, (_, i) => ({ temperature: 0.6, topP: 0.95, topK: 0, coin: (i + 0.5) / (R + 1) }));
    const specs: RowSpec[][] = Array.from({ length: steps + 2 }, (_, t) => Array.from({ length: R }, (_, slot) => ({ slot, pos: pos0 + t })));
    const tokens = Array.from({ length: R }, (_, i) => 100 + i);
    // warm-up: pipelines of this row count, then a step that continues from sampled ids
    model.submitStep(specs[0], { tokens, lastRowOnly: false, sampling });
    model.submitStep(specs[1], { lastRowOnly: false, sampling });
    await model.ctx.device.queue.onSubmittedWorkDone();
    const t0 = now();
    for (let t = 0; t < steps; t++) model.submitStep(specs[t + 2], { lastRowOnly: false, sampling });
    await model.ctx.device.queue.onSubmittedWorkDone();
    const stepMs = (now() - t0) / steps;
    // recording alone: the command buffers are dropped unsubmitted
    const h0 = heap();
    const t1 = now();
    for (let t = 0; t < steps; t++) model.recordStep(specs[t + 2], { lastRowOnly: false, sampling });
    const encodeMs = (now() - t1) / steps;
    const grown = heap() - h0;
    out.push({ rows: R, step_ms: stepMs, encode_ms: encodeMs, js_heap_bytes_per_step: Math.max(0, Math.round(grown / steps)) });
  }
  return out;
}

async function heapReader(): Promise<() => number> {
  const v8 = await import('node:v8');
  return () => v8.getHeapStatistics().used_heap_size;
}
