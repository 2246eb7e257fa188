// What every kernel needs: the device, its capabilities, the pipeline cache and the counters that
// benchmarks report (dispatches and readbacks per token).
import type { BoxedDevice, GpuCaps } from './device';
import { PipelineCache } from './pipelines';

export interface GpuStats {
  dispatches: number;
  readbacks: number;
  submits: number;
}

export class GpuContext {
  readonly device: GPUDevice;
  readonly caps: GpuCaps;
  readonly pipelines: PipelineCache;
  readonly stats: GpuStats = { dispatches: 0, readbacks: 0, submits: 0 };

  constructor(readonly boxed: BoxedDevice) {
    this.device = boxed.device;
    this.caps = boxed.caps;
    this.pipelines = new PipelineCache(boxed.device, boxed.caps);
  }

  /** Records one dispatch and counts it. Every kernel dispatches through here. */
  dispatch(pass: GPUComputePassEncoder, pipeline: GPUComputePipeline, bindGroups: readonly GPUBindGroup[], x: number, y = 1, z = 1): void {
    if (x === 0 || y === 0 || z === 0) return;
    const max = this.caps.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) throw new Error(`dispatch ${x}x${y}x${z} exceeds maxComputeWorkgroupsPerDimension ${max} (${pipeline.label})`);
    pass.setPipeline(pipeline);
    bindGroups.forEach((g, i) => pass.setBindGroup(i, g));
    pass.dispatchWorkgroups(x, y, z);
    this.stats.dispatches++;
  }

  submit(buffers: GPUCommandBuffer[]): void {
    this.device.queue.submit(buffers);
    this.stats.submits++;
  }

  /** Splits a workgroup count that may exceed the per-dimension limit into (x, y); shaders fold it back as id.y * nx + id.x. */
  grid(workgroups: number): [number, number] {
    const max = this.caps.limits.maxComputeWorkgroupsPerDimension;
    if (workgroups <= max) return [workgroups, 1];
    const y = Math.ceil(workgroups / max);
    return [Math.ceil(workgroups / y), y];
  }
}
