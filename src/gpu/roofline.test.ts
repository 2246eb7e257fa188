import { describe, it, expect } from 'vitest';
import { roofline, dispatchSeconds, computeSeconds, ROOFLINE_TARGETS, DISPATCH_GAP_S, MEMORY_LATENCY_S } from './roofline';
import type { DispatchCost } from './context';

const counts = { dispatches: 2, apiCalls: 9, submits: 1, writes: 2, readbacks: 1 };
const d = (o: Partial<DispatchCost>): DispatchCost => ({ kernel: 'k', workgroups: 1000, threads: 256, bytesRead: 0, bytesWritten: 0, flops: 0, chain: 1, ...o });

describe('roofline', () => {
  const h200 = ROOFLINE_TARGETS.h200;
  it('a wide streaming dispatch takes its bytes over the bandwidth', () => {
    expect(dispatchSeconds(d({ bytesRead: 4.1e9 }), h200)).toBeCloseTo(1e-3, 9);
  });
  it('a dispatch with fewer workgroups than SMs gets that share of the bandwidth', () => {
    expect(dispatchSeconds(d({ bytesRead: 4.1e9, workgroups: 33 }), h200)).toBeCloseTo(4e-3, 9);
  });
  it('a long chain of dependent loads is latency-bound', () => {
    expect(dispatchSeconds(d({ bytesRead: 1e3, chain: 70 }), h200)).toBeCloseTo(70 * MEMORY_LATENCY_S, 12);
  });
  it('uses the discrete GPU tiling where the trace has one', () => {
    expect(dispatchSeconds(d({ bytesRead: 1e3, chain: 500, gpu: { workgroups: 400, threads: 64, chain: 9 } }), h200)).toBeCloseTo(9 * MEMORY_LATENCY_S, 12);
  });
  it('sums dispatches plus a gap each, per row, and flags under-filled dispatches', () => {
    const trace = [d({ kernel: 'wide', bytesRead: 4.1e9 }), d({ kernel: 'narrow', workgroups: 1, bytesRead: 1e3 })];
    const r = roofline(trace, 2, counts, 4e9);
    const s = 1e-3 + Math.max((1e3 * 132) / h200.bandwidth, MEMORY_LATENCY_S) + 2 * DISPATCH_GAP_S;
    expect(r.predicted_ms.h200).toBeCloseTo(s * 1e3, 9);
    expect(r.predicted_tokens_per_s.h200).toBeCloseTo(2 / s, 3);
    expect(r.under_filled.h200).toEqual({ narrow: 1 });
    expect(r.bytes_over_min).toBeCloseTo((4.1e9 + 1e3) / 4e9, 9);
    expect(r.by_kernel.wide.dispatches).toBe(1);
    expect(r.counts).toEqual(counts);
  });
  it('reports the FP32 ALU time at the share of SMs a dispatch fills', () => {
    // 67 GFLOP: 1 ms on all 132 SMs; 48 workgroups fill 48 of them
    expect(computeSeconds(d({ flops: 67e9 }), h200)).toBeCloseTo(1e-3, 9);
    expect(computeSeconds(d({ flops: 67e9, gpu: { workgroups: 48, threads: 256, chain: 1 } }), h200)).toBeCloseTo((1e-3 * 132) / 48, 9);
    const r = roofline([d({ flops: 67e9, bytesRead: 1e3 }), d({ flops: 67e9, workgroups: 66 })], 2, counts, 1e3);
    expect(r.compute_ms.h200).toBeCloseTo(3, 6);
    expect(r.predicted_ms.h200).toBeLessThan(0.01); // bytes and latency only
  });
});
