// RoPE + KV-cache append kernel (shaders/rope-kv.wgsl): q rotated into qOut, k rotated and v written
// into one layer's cache at each row's (slot, pos). The (cos, sin) table is built once, in float64. The q8 cache
// takes entry `q8`: one workgroup per head vector (its amax sets the vector's scale).
import source from '../../../shaders/rope-kv.wgsl?raw';
import type { GpuContext } from '../context';
import type { PipelineHandle } from '../pipelines';
import type { KvFormat } from '../../protocol/engine';
import { BoxedError } from '../../protocol/errors';
import { kvRowBytes } from '../../model/memory-plan';
import { UNIFORM, createBuffer, uploadBuffer, writeBuffer } from '../buffers';

export interface RopeKvShape {
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  ropeTheta: number;
  /** positions per slot of the cache (and rows of the angle table) */
  context: number;
  kvFormat: KvFormat;
  maxRows: number;
}

export interface RopeKvBinding {
  group: GPUBindGroup;
  /** this binding's uniform (the slot count comes from the cache buffer's size) */
  params: GPUBuffer;
}

/** (cos, sin) of pos * theta^(-2i/headDim) for pos < context, i < headDim/2: [context, half, 2] f32, angles in f64. */
export function ropeTable(headDim: number, theta: number, context: number): Float32Array {
  const half = headDim / 2;
  const invFreq = new Float64Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = Math.pow(theta, (-2 * i) / headDim);
  const t = new Float32Array(context * half * 2);
  for (let p = 0; p < context; p++) {
    for (let i = 0; i < half; i++) {
      const a = p * invFreq[i];
      t[(p * half + i) * 2] = Math.cos(a);
      t[(p * half + i) * 2 + 1] = Math.sin(a);
    }
  }
  return t;
}

export class RopeKvKernel {
  readonly pipeline: PipelineHandle;
  private readonly layout: GPUBindGroupLayout;
  private readonly table: GPUBuffer;
  /** the params buffers of the bindings this kernel made */
  private readonly bound: GPUBuffer[] = [];
  private readonly width: number;
  private readonly wg: number;

  constructor(
    private readonly ctx: GpuContext,
    readonly shape: RopeKvShape,
  ) {
    const { nHeads, nKvHeads, headDim, ropeTheta, context, kvFormat } = shape;
    if (headDim % 2 !== 0 || nHeads % nKvHeads !== 0) throw new BoxedError('ModelFormat', `RoPE needs an even headDim and nHeads a multiple of nKvHeads (got ${headDim}, ${nHeads}/${nKvHeads})`);
    const tableBytes = context * headDim * 4;
    const limit = ctx.caps.limits.maxStorageBufferBindingSize;
    if (tableBytes > limit) throw new BoxedError('OutOfMemory', `RoPE table needs ${tableBytes} bytes, more than the ${limit}-byte binding limit`, { detail: { neededBytes: tableBytes, limitBytes: limit } });
    this.wg = Math.min(64, ctx.caps.limits.maxComputeInvocationsPerWorkgroup);
    const layout = ctx.pipelines.layout('rope-kv', [{ 0: 'uniform', 1: 'read-only-storage', 2: 'read-only-storage', 3: 'read-only-storage', 4: 'storage', 5: 'storage', 6: 'storage' }]);
    this.layout = layout.groups[0];
    if (kvFormat === 'q8' && headDim % 4 !== 0) throw new BoxedError('ModelFormat', `the q8 KV cache needs a head dimension that is a multiple of 4, got ${headDim}`);
    this.pipeline = ctx.pipelines.request({
      shader: 'rope-kv',
      source,
      entryPoint: kvFormat === 'q8' ? 'q8' : 'main',
      constants: kvFormat === 'q8' ? { WG: this.wg } : { WG: this.wg, KV_F16: kvFormat === 'f16' ? 1 : 0 },
      layout: layout.pipeline,
    });
    this.width = nHeads * headDim + 2 * nKvHeads * headDim;
    // [context, headDim/2] vec2 (cos, sin)
    this.table = uploadBuffer(ctx, 'rope-kv.table', ropeTable(headDim, ropeTheta, context));
  }

  /** Bind once at load: qkv [maxRows, qDim+2kvDim], meta [maxRows] (pos, slot), qOut [maxRows, qDim], the layer's K and V cache. */
  bind(qkv: GPUBuffer, meta: GPUBuffer, qOut: GPUBuffer, kCache: GPUBuffer, vCache: GPUBuffer): RopeKvBinding {
    const { nHeads, nKvHeads, headDim, context, kvFormat } = this.shape;
    const slotBytes = context * kvRowBytes({ kvDim: nKvHeads * headDim, heads: nKvHeads, format: kvFormat });
    const slots = Math.floor(Math.min(kCache.size, vCache.size) / slotBytes);
    // q8: the scales follow the slots' values
    const scaleWord = kvFormat === 'q8' ? (slots * context * nKvHeads * headDim) / 4 : 0;
    const params = createBuffer(this.ctx, 'rope-kv.params', 32, UNIFORM);
    this.bound.push(params);
    writeBuffer(this.ctx, params, 0, new Uint32Array([nHeads, nKvHeads, headDim, context, slots, scaleWord, 0, 0]));
    const group = this.ctx.device.createBindGroup({
      label: 'rope-kv',
      layout: this.layout,
      entries: [
        { binding: 0, resource: { buffer: params } },
        { binding: 1, resource: { buffer: qkv } },
        { binding: 2, resource: { buffer: meta } },
        { binding: 3, resource: { buffer: this.table } },
        { binding: 4, resource: { buffer: qOut } },
        { binding: 5, resource: { buffer: kCache } },
        { binding: 6, resource: { buffer: vCache } },
      ],
    });
    return { group, params };
  }

  encode(pass: GPUComputePassEncoder, b: RopeKvBinding, rows: number): void {
    if (rows > this.shape.maxRows) throw new BoxedError('Internal', `rope-kv: ${rows} rows > maxRows ${this.shape.maxRows}`);
    const { nHeads, nKvHeads, headDim, kvFormat } = this.shape;
    // q8: a workgroup per head vector; else a thread per pair of elements
    const wgs = kvFormat === 'q8' ? nHeads + 2 * nKvHeads : Math.ceil(this.width / 2 / this.wg);
    const kvBytes = 2 * rows * kvRowBytes({ kvDim: nKvHeads * headDim, heads: nKvHeads, format: kvFormat });
    // q8: the amax reduction, then the quantized writes (two steps, a barrier between)
    this.ctx.trace?.push({ kernel: 'rope-kv', workgroups: wgs * rows, threads: this.wg, bytesRead: rows * this.width * 4 * 1.5, bytesWritten: rows * (this.width - 2 * nKvHeads * headDim) * 4 + kvBytes, flops: 6 * rows * this.width, chain: kvFormat === 'q8' ? 2 : 1 });
    this.ctx.dispatch(pass, this.pipeline, [b.group], wgs, rows);
  }

  /** Frees the table and every binding's params buffer. */
  destroy(): void {
    this.table.destroy();
    for (const b of this.bound.splice(0)) b.destroy();
  }
}
