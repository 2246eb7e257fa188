// The roofline: predicted time of a recorded step on named GPUs, from the cost each dispatch states
// (GpuContext.trace). A dispatch takes the longer of moving its bytes at the bandwidth its workgroups can
// draw (a dispatch of w workgroups on a GPU of S SMs gets min(1, w / S) of it) and its lanes' chain of
// dependent memory round trips, plus a fixed gap between dependent dispatches:
//   t = Σ_d max(bytes_d / (bandwidth × min(1, w_d / S)), chain_d × latency) + dispatches × gap
// Workgroups and chains are those of the tiling a discrete GPU gets (DispatchCost.gpu) where it differs.
// The trace lists a discrete GPU's dispatches: the sampler is one on a CPU adapter and two (stage 1, stage 2) there.
// Constants: ~2 µs per dependent dispatch inside one compute pass on a discrete GPU, ~0.6 µs memory latency.
// Bandwidths: NVIDIA H200 4.8 TB/s peak (4.1 achievable), RTX 4090 1.0 TB/s, Apple M3 Max 0.4 TB/s.
// A dispatch with fewer workgroups than the GPU has SMs (cores) leaves some idle: it is flagged.
// Prefill's matmuls do rows x 2 FLOPs per weight, which bytes do not bound: compute_ms is the FP32 ALU time alone,
//   Σ_d flops_d / (fp32 peak × min(1, w_d / S)), reported beside predicted_ms (not added to it): a prefill chunk
//   takes at least max(predicted_ms, compute_ms). FP32 peaks (FMA = 2 FLOPs, no tensor cores): H200 67 TFLOP/s,
//   RTX 4090 82.6 TFLOP/s, M3 Max (40 cores) 16.4 TFLOP/s.
import type { DispatchCost } from './context';

export interface GpuTarget {
  /** bytes per second a streaming kernel reaches */
  bandwidth: number;
  /** streaming multiprocessors (NVIDIA), GPU cores (Apple) */
  sms: number;
  /** FP32 FLOP/s at peak (no tensor cores) */
  flops: number;
}

export const ROOFLINE_TARGETS: Readonly<Record<'h200' | 'rtx4090' | 'm3max', GpuTarget>> = {
  h200: { bandwidth: 4.1e12, sms: 132, flops: 67e12 },
  rtx4090: { bandwidth: 1.0e12, sms: 128, flops: 82.6e12 },
  m3max: { bandwidth: 0.4e12, sms: 40, flops: 16.4e12 },
};
export type TargetName = keyof typeof ROOFLINE_TARGETS;

/** seconds between two dependent dispatches */
export const DISPATCH_GAP_S = 2e-6;
/** seconds of one dependent memory round trip */
export const MEMORY_LATENCY_S = 0.6e-6;

export interface StepCounts {
  /** a discrete GPU's: the trace's entries (a kernel that dispatches fewer times on a CPU adapter states the GPU's dispatches) */
  dispatches: number;
  apiCalls: number;
  submits: number;
  writes: number;
  readbacks: number;
}

export interface RooflineReport {
  /** rows of the step (1 for a decode step of one sequence, the chunk for prefill) */
  rows: number;
  counts: StepCounts;
  bytes_read: number;
  bytes_written: number;
  /** what any implementation must move: weights + KV read + logits */
  min_bytes: number;
  /** (bytes read + written) / min_bytes */
  bytes_over_min: number;
  flops: number;
  predicted_ms: Record<TargetName, number>;
  /** rows / predicted time */
  predicted_tokens_per_s: Record<TargetName, number>;
  /** the FP32 ALU time alone: Σ flops / (peak × the dispatch's SM share); a step takes at least max(predicted_ms, compute_ms) */
  compute_ms: Record<TargetName, number>;
  /** dispatches with fewer workgroups than the target's SMs, by kernel: count */
  under_filled: Record<TargetName, Record<string, number>>;
  /** the costs summed by kernel: dispatches, workgroups, threads and chain (of one, as a discrete GPU runs it), bytes, FLOPs, H200 µs */
  by_kernel: Record<string, { dispatches: number; workgroups: number; threads: number; bytes_read: number; bytes_written: number; flops: number; chain: number; h200_us: number }>;
  per_dispatch: DispatchCost[];
}

/** Seconds the FP32 ALUs of a target need for one dispatch, at the share of SMs its workgroups fill. */
export function computeSeconds(d: DispatchCost, t: GpuTarget): number {
  return d.flops / (t.flops * Math.min(1, (d.gpu ?? d).workgroups / t.sms));
}

/** Predicted seconds of one dispatch on a target (without the gap). */
export function dispatchSeconds(d: DispatchCost, t: GpuTarget): number {
  const g = d.gpu ?? d;
  const share = Math.min(1, g.workgroups / t.sms);
  return Math.max((d.bytesRead + d.bytesWritten) / (t.bandwidth * share), g.chain * MEMORY_LATENCY_S);
}

export function roofline(trace: readonly DispatchCost[], rows: number, counts: StepCounts, minBytes: number): RooflineReport {
  const names = Object.keys(ROOFLINE_TARGETS) as TargetName[];
  const predicted_ms = {} as Record<TargetName, number>;
  const predicted_tokens_per_s = {} as Record<TargetName, number>;
  const under_filled = {} as Record<TargetName, Record<string, number>>;
  const compute_ms = {} as Record<TargetName, number>;
  for (const n of names) {
    const t = ROOFLINE_TARGETS[n];
    let s = trace.length * DISPATCH_GAP_S;
    const flagged: Record<string, number> = {};
    for (const d of trace) {
      s += dispatchSeconds(d, t);
      if ((d.gpu ?? d).workgroups < t.sms) flagged[d.kernel] = (flagged[d.kernel] ?? 0) + 1;
    }
    predicted_ms[n] = s * 1e3;
    compute_ms[n] = trace.reduce((sum, d) => sum + computeSeconds(d, t), 0) * 1e3;
    predicted_tokens_per_s[n] = rows / s;
    under_filled[n] = flagged;
  }
  const by_kernel: RooflineReport['by_kernel'] = {};
  let bytesRead = 0;
  let bytesWritten = 0;
  let flops = 0;
  for (const d of trace) {
    bytesRead += d.bytesRead;
    bytesWritten += d.bytesWritten;
    flops += d.flops;
    const g = d.gpu ?? d;
    const k = (by_kernel[d.kernel] ??= { dispatches: 0, workgroups: g.workgroups, threads: g.threads, bytes_read: 0, bytes_written: 0, flops: 0, chain: g.chain, h200_us: 0 });
    k.dispatches++;
    k.bytes_read += d.bytesRead;
    k.bytes_written += d.bytesWritten;
    k.flops += d.flops;
    k.h200_us += (dispatchSeconds(d, ROOFLINE_TARGETS.h200) + DISPATCH_GAP_S) * 1e6;
  }
  return {
    rows,
    counts,
    bytes_read: bytesRead,
    bytes_written: bytesWritten,
    min_bytes: minBytes,
    bytes_over_min: (bytesRead + bytesWritten) / minBytes,
    flops,
    predicted_ms,
    predicted_tokens_per_s,
    compute_ms,
    under_filled,
    by_kernel,
    per_dispatch: [...trace],
  };
}
