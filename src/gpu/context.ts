// What every kernel needs: the device, its capabilities, the pipeline cache, the counters that benchmarks
// report (dispatches, API calls, writes, submits and readbacks per token) and, when a benchmark turns it on,
// a trace of each dispatch's cost (src/gpu/roofline.ts turns it into predicted times).
import type { BoxedDevice, GpuCaps } from './device';
import { PipelineCache, type PipelineHandle } from './pipelines';

export interface GpuStats {
  dispatches: number;
  readbacks: number;
  submits: number;
  /** queue.writeBuffer calls */
  writes: number;
  /** WebGPU calls made while recording and submitting (setPipeline, setBindGroup, dispatch, copies, passes, ...) */
  apiCalls: number;
}

/** What one dispatch costs, as its kernel states it (the roofline's input). */
export interface DispatchCost {
  /** kernel and variant, e.g. "matmul-decode qkv" */
  kernel: string;
  workgroups: number;
  /** threads per workgroup */
  threads: number;
  bytesRead: number;
  bytesWritten: number;
  flops: number;
  /** dependent memory round trips one lane makes in sequence (loop iterations that each wait on a load) */
  chain: number;
  /** the same dispatch with the tiling a discrete GPU gets, where it differs from this adapter's */
  gpu?: { workgroups: number; threads: number; chain: number };
}

export class GpuContext {
  readonly device: GPUDevice;
  readonly caps: GpuCaps;
  readonly pipelines: PipelineCache;
  readonly stats: GpuStats = { dispatches: 0, readbacks: 0, submits: 0, writes: 0, apiCalls: 0 };
  /** When set, kernels push the cost of every dispatch they record (benchmarks; null otherwise, allocating nothing). */
  trace: DispatchCost[] | null = null;

  constructor(readonly boxed: BoxedDevice) {
    this.device = boxed.device;
    this.caps = boxed.caps;
    this.pipelines = new PipelineCache(boxed.device, boxed.caps);
  }

  /**
   * Records one dispatch and counts it. Every kernel dispatches through here. The handle's pipeline must be
   * compiled (ctx.pipelines.compile()); a pipeline still compiling is a clear Internal error.
   */
  dispatch(pass: GPUComputePassEncoder, handle: PipelineHandle, bindGroups: readonly GPUBindGroup[], x: number, y = 1, z = 1): void {
    const pipeline = handle.pipeline;
    if (x === 0 || y === 0 || z === 0) return;
    const max = this.caps.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) throw new Error(`dispatch ${x}x${y}x${z} exceeds maxComputeWorkgroupsPerDimension ${max} (${handle.label})`);
    pass.setPipeline(pipeline);
    for (let i = 0; i < bindGroups.length; i++) pass.setBindGroup(i, bindGroups[i]);
    pass.dispatchWorkgroups(x, y, z);
    this.stats.dispatches++;
    this.stats.apiCalls += 2 + bindGroups.length;
  }

  submit(buffers: GPUCommandBuffer[]): void {
    this.device.queue.submit(buffers);
    this.stats.submits++;
    this.stats.apiCalls++;
  }

  /** Splits a workgroup count that may exceed the per-dimension limit into (x, y); shaders fold it back as id.y * nx + id.x. */
  grid(workgroups: number): [number, number] {
    const max = this.caps.limits.maxComputeWorkgroupsPerDimension;
    if (workgroups <= max) return [workgroups, 1];
    const y = Math.ceil(workgroups / max);
    return [Math.ceil(workgroups / y), y];
  }
}
