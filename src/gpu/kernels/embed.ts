// Embedding gather (shaders/embed.wgsl): x[r, :] = dequantized row tokens[r] of a GpuWeight
// [vocab, dim] in any format; one dispatch per weight chunk, rows whose token is elsewhere skip.
import source from '../../../shaders/embed.wgsl?raw';
import formatsSource from '../../../shaders/weight-formats.wgsl?raw';
import type { GpuContext } from '../context';
import type { BindingKind, PipelineHandle } from '../pipelines';
import { UNIFORM, createBuffer, writeBuffer } from '../buffers';
import { formatDefines, gpuRowLayout, type GpuFormat, type GpuWeight } from '../weights';
import { BoxedError } from '../../protocol/errors';

export interface EmbedOptions {
  dim: number;
  vocab: number;
  format: GpuFormat;
  maxRows: number;
}

export interface EmbedBinding {
  /** one bind group per weight chunk, each in a one-element list */
  groups: GPUBindGroup[][];
  params: GPUBuffer;
}

const PARAMS_BYTES = 32;

export class EmbedKernel {
  readonly pipeline: PipelineHandle;
  private readonly layout: GPUBindGroupLayout;
  private readonly paramsStride: number;
  /** the params buffers of the bindings this kernel made */
  private readonly bound: GPUBuffer[] = [];
  private readonly wg: number;
  /** bytes of one packed embedding row (data + scales) */
  private readonly rowBytes: number;

  constructor(
    private readonly ctx: GpuContext,
    readonly opts: EmbedOptions,
  ) {
    const { dim, vocab, maxRows } = opts;
    if (!(dim > 0 && vocab > 0 && maxRows > 0) || ![dim, vocab, maxRows].every(Number.isInteger)) {
      throw new BoxedError('Internal', `embed: bad shape dim=${dim} vocab=${vocab} maxRows=${maxRows}`);
    }
    const lim = ctx.caps.limits;
    if (maxRows > lim.maxComputeWorkgroupsPerDimension) {
      throw new BoxedError('Internal', `embed: maxRows ${maxRows} exceeds maxComputeWorkgroupsPerDimension ${lim.maxComputeWorkgroupsPerDimension}`);
    }
    const wg = Math.min(64, lim.maxComputeInvocationsPerWorkgroup, lim.maxComputeWorkgroupSizeX);
    this.wg = wg;
    const { wordsPerRow, groupsPerRow } = gpuRowLayout(dim, opts.format);
    this.rowBytes = (wordsPerRow + groupsPerRow) * 4;
    const defines = formatDefines(opts.format);
    // binding 3 (scales) exists only in q8's shader (q4's scales are in its words)
    const bindings: Record<number, BindingKind> = { 0: 'uniform', 1: 'read-only-storage', 2: 'read-only-storage', 4: 'storage' };
    if (defines.scale_buf) bindings[3] = 'read-only-storage';
    const layout = ctx.pipelines.layout('embed', [bindings]);
    this.layout = layout.groups[0];
    this.pipeline = ctx.pipelines.request({
      shader: 'embed',
      source: `${source}\n${formatsSource}`,
      defines,
      constants: { WG: wg },
      layout: layout.pipeline,
    });
    this.paramsStride = Math.max(256, lim.minUniformBufferOffsetAlignment);
  }

  /** Bind once at load: w [vocab, dim], tokens [maxRows] u32, x [maxRows, dim] f32. */
  bind(w: GpuWeight, tokens: GPUBuffer, x: GPUBuffer): EmbedBinding {
    const { dim, vocab, format, maxRows } = this.opts;
    if (w.format !== format || w.rows !== vocab || w.cols !== dim) {
      throw new BoxedError('Internal', `embed: weight ${w.label} is ${w.format} [${w.rows}, ${w.cols}], kernel wants ${format} [${vocab}, ${dim}]`);
    }
    if (tokens.size < maxRows * 4 || x.size < maxRows * dim * 4) throw new BoxedError('Internal', `embed: tokens or x buffer smaller than ${maxRows} rows`);
    if (w.chunks.length === 0) throw new BoxedError('Internal', `embed: weight ${w.label} was destroyed`);
    const stride = this.paramsStride;
    const params = createBuffer(this.ctx, 'embed.params', w.chunks.length * stride, UNIFORM);
    this.bound.push(params);
    const raw = new Uint32Array((w.chunks.length * stride) / 4);
    const layout = this.layout;
    const groups = w.chunks.map((c, i) => {
      raw.set([dim, c.wordsPerRow, c.groupsPerRow, c.rows, c.rowStart], (i * stride) / 4);
      const entries: GPUBindGroupEntry[] = [
        { binding: 0, resource: { buffer: params, offset: i * stride, size: PARAMS_BYTES } },
        { binding: 1, resource: { buffer: tokens } },
        { binding: 2, resource: { buffer: c.data } },
      ];
      if (c.scales) entries.push({ binding: 3, resource: { buffer: c.scales } });
      entries.push({ binding: 4, resource: { buffer: x } });
      return [this.ctx.device.createBindGroup({ label: `embed#${i}`, layout, entries })];
    });
    writeBuffer(this.ctx, params, 0, raw);
    return { groups, params };
  }

  /** Frees every binding's params buffer (the kernel has no other buffers). */
  destroy(): void {
    for (const b of this.bound.splice(0)) b.destroy();
  }

  /** Records x[r, :] = embedding[tokens[r], :] for r < rows. Allocates nothing. */
  encode(pass: GPUComputePassEncoder, b: EmbedBinding, rows: number): void {
    if (!(rows >= 1 && rows <= this.opts.maxRows && Number.isInteger(rows))) {
      throw new BoxedError('Internal', `embed: rows ${rows} outside 1..${this.opts.maxRows}`);
    }
    for (let c = 0; c < b.groups.length; c++) {
      // a row's words are read by the chunk that holds its token (one chunk per row; the others exit)
      this.ctx.trace?.push({ kernel: 'embed', workgroups: rows, threads: this.wg, bytesRead: c === 0 ? rows * (this.rowBytes + 4) : rows * 4, bytesWritten: c === 0 ? rows * this.opts.dim * 4 : 0, flops: 0, chain: 1 });
      this.ctx.dispatch(pass, this.pipeline, b.groups[c], rows);
    }
  }
}
