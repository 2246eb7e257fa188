// `bench --samples ... --breakdown`: where a decode step's time goes, per kernel kind, for each row count.
// A step of R rows is timed whole, then with only one kind's dispatches recorded (the others left out; the
// kind runs on whatever the buffers hold, which changes no kernel's amount of work except the sampler's
// search passes, which depend on the logits). Kinds: the layers' matmuls, the LM head, attention, the
// sampler, and the rest (embedding, RMS norm, RoPE/KV). Each figure is the MINIMUM over `reps` steps, each
// submitted alone and waited for: on a shared, loaded CPU the minimum is the least disturbed. The CPU's
// share is encode_ms (recording a step, no submit); the batch loop's own per-step work is in
// generateBatch's stats (cpuMsPerStep). A kind is recognised by the dispatch trace each kernel pushes just
// before it dispatches (ctx.trace).
import type { GpuModel, RowSampling, RowSpec } from '../gpu/model';

export const KINDS = ['matmul', 'lm_head', 'attention', 'sample', 'other'] as const;
export type Kind = (typeof KINDS)[number];

export interface StepBreakdown {
  rows: number;
  /** the whole step */
  step_ms: number;
  /** recording one step on the CPU, without submitting it */
  encode_ms: number;
  /** a step with only this kind's dispatches */
  only_ms: Record<Kind, number>;
  /** dispatches per step of each kind */
  dispatches: Record<Kind, number>;
}

function kindOf(kernel: string): Kind {
  if (kernel.includes('lm_head')) return 'lm_head';
  if (kernel.startsWith('matmul')) return 'matmul';
  if (kernel.startsWith('attention')) return 'attention';
  if (kernel.startsWith('sample')) return 'sample';
  return 'other';
}

const now = () => performance.now();

/** Times decode steps of each row count (slots 0..R-1 at positions from pos0) whole and one kind at a time. */
export async function breakdownDecodeRows(model: GpuModel, rowCounts: readonly number[], pos0: number, reps: number): Promise<StepBreakdown[]> {
  const ctx = model.ctx;
  const dispatch = ctx.dispatch.bind(ctx);
  let only: Kind | null = null;
  const counts: Record<Kind, number> = { matmul: 0, lm_head: 0, attention: 0, sample: 0, other: 0 };
  const trace: NonNullable<typeof ctx.trace> = [];
  ctx.trace = trace;
  ctx.dispatch = (pass, pipeline, groups, x, y, z) => {
    const last = trace[trace.length - 1];
    trace.length = 0;
    const kind = last ? kindOf(last.kernel) : 'other';
    counts[kind]++;
    if (only !== null && kind !== only) return;
    dispatch(pass, pipeline, groups, x, y, z);
  };
  const out: StepBreakdown[] = [];
  try {
    for (const R of rowCounts) {
      const sampling: RowSampling[] = Array.from({ length: R }, (_, i) => ({ temperature: 0.6, topP: 0.95, topK: 0, coin: (i + 0.5) / (R + 1) }));
      const rows: RowSpec[] = Array.from({ length: R }, (_, slot) => ({ slot, pos: pos0 }));
      const tokens = Array.from({ length: R }, (_, i) => 100 + i);
      const minStep = async (): Promise<number> => {
        let best = Infinity;
        for (let i = 0; i <= reps; i++) {
          const t0 = now();
          model.submitStep(rows, { tokens, lastRowOnly: false, sampling });
          await ctx.device.queue.onSubmittedWorkDone();
          if (i > 0) best = Math.min(best, now() - t0); // the first one warms up
        }
        return best;
      };
      only = null;
      const stepMs = await minStep();
      for (const k of KINDS) counts[k] = 0;
      let encodeMs = Infinity;
      for (let t = 0; t < reps; t++) {
        const t1 = now();
        model.recordStep(rows, { tokens, lastRowOnly: false, sampling });
        encodeMs = Math.min(encodeMs, now() - t1);
      }
      const dispatches = Object.fromEntries(KINDS.map((k) => [k, counts[k] / reps])) as Record<Kind, number>;
      const onlyMs = {} as Record<Kind, number>;
      for (const k of KINDS) {
        only = k;
        onlyMs[k] = await minStep();
      }
      only = null;
      out.push({ rows: R, step_ms: stepMs, encode_ms: encodeMs, only_ms: onlyMs, dispatches });
    }
  } finally {
    ctx.dispatch = dispatch;
    ctx.trace = null;
  }
  return out;
}
