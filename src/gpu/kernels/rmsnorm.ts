// RMSNorm kernel (shaders/rmsnorm.wgsl): one workgroup per row.
import source from '../../../shaders/rmsnorm.wgsl?raw';
import type { GpuContext } from '../context';
import type { PipelineHandle } from '../pipelines';
import { UNIFORM, createBuffer, writeBuffer } from '../buffers';

export interface RmsnormBinding {
  group: GPUBindGroup;
}

export class RmsnormKernel {
  readonly pipeline: PipelineHandle;
  private readonly layout: GPUBindGroupLayout;
  private readonly params: GPUBuffer;
  private readonly wg: number;

  constructor(
    private readonly ctx: GpuContext,
    readonly dim: number,
    eps: number,
  ) {
    const wg = Math.min(256, ctx.caps.limits.maxComputeInvocationsPerWorkgroup);
    this.wg = wg;
    const layout = ctx.pipelines.layout('rmsnorm', [{ 0: 'uniform', 1: 'read-only-storage', 2: 'read-only-storage', 3: 'storage' }]);
    this.layout = layout.groups[0];
    this.pipeline = ctx.pipelines.request({ shader: 'rmsnorm', source, constants: { WG: wg }, layout: layout.pipeline });
    this.params = createBuffer(ctx, 'rmsnorm.params', 16, UNIFORM);
    const p = new ArrayBuffer(16);
    new Uint32Array(p, 0, 1)[0] = dim;
    new Float32Array(p, 4, 1)[0] = eps;
    writeBuffer(ctx, this.params, 0, new Uint8Array(p));
  }

  /** Bind once at load: x [rows, dim], g [dim], y [rows, dim]. */
  bind(x: GPUBuffer, g: GPUBuffer, y: GPUBuffer): RmsnormBinding {
    const group = this.ctx.device.createBindGroup({
      label: 'rmsnorm',
      layout: this.layout,
      entries: [
        { binding: 0, resource: { buffer: this.params } },
        { binding: 1, resource: { buffer: x } },
        { binding: 2, resource: { buffer: g } },
        { binding: 3, resource: { buffer: y } },
      ],
    });
    return { group };
  }

  destroy(): void {
    this.params.destroy();
  }

  encode(pass: GPUComputePassEncoder, b: RmsnormBinding, rows: number): void {
    const d = this.dim;
    this.ctx.trace?.push({ kernel: 'rmsnorm', workgroups: rows, threads: this.wg, bytesRead: (rows + 1) * d * 4, bytesWritten: rows * d * 4, flops: 4 * rows * d, chain: Math.ceil(d / this.wg) + Math.log2(this.wg) });
    this.ctx.dispatch(pass, this.pipeline, [b.group], rows);
  }
}
