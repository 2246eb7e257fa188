// Matmul kernel: y[rows, N] = x[rows, K] · Wᵀ for a packed GpuWeight W [N, K] in any format, with
// fused prologue/epilogues chosen at construction (norm, bias, residual, swiglu). Two code paths:
// decode (rows <= DECODE_MAX_ROWS: matrix-vector, shaders/matmul-decode.wgsl) and prefill (tiled,
// shaders/matmul-prefill.wgsl). One dispatch per weight chunk. The row count reaches the shaders through
// bind group 1: a small uniform per possible count, made once, so different counts can be recorded
// into one command buffer without any queue write.
// Pipelines, layouts and the row-count bind groups are made in the constructor; bind groups of a
// weight/buffer set in bind(); encode() only records.
import decodeSource from '../../../shaders/matmul-decode.wgsl?raw';
import prefillSource from '../../../shaders/matmul-prefill.wgsl?raw';
import formatsSource from '../../../shaders/weight-formats.wgsl?raw';
import type { GpuContext } from '../context';
import { UNIFORM, createBuffer, writeBuffer } from '../buffers';
import { formatDefines, type GpuWeight } from '../weights';
import { rowLayout } from '../../loader/quant';
import type { DispatchCost } from '../context';
import type { WeightFormat } from '../../protocol/engine';
import { BoxedError } from '../../protocol/errors';
import { DECODE_MAX_ROWS, DECODE_UNIT, NAMED_ADAPTERS, decodeTiling, decodeWorkgroups, type DecodeTiling } from './matmul-tiling';

export { DECODE_MAX_ROWS, decodeTiling, type DecodeTiling } from './matmul-tiling';

export interface MatmulOptions {
  /** Output width (weight rows); for swiglu 2 * F with gate/up rows interleaved. */
  N: number;
  /** Input width (weight columns). */
  K: number;
  format: WeightFormat;
  /** y += b[N] (f32 buffer given to bind()) */
  bias?: boolean;
  /** y += result (y is read, then written) */
  residual?: boolean;
  /** Rows of x are RMS-normalized on the fly (the gain is folded into W's columns by the caller). */
  norm?: { eps: number };
  /** Output h[rows, N/2], h[j] = silu(acc[2j]) * acc[2j+1]. */
  swiglu?: boolean;
  /** Largest row count encode() will be asked for. */
  maxRows: number;
  label: string;
  /** Tests and benchmarks: force the decode tiling instead of the one decodeTiling() picks for this adapter. */
  decodeTiling?: DecodeTiling;
}

export interface MatmulBinding {
  /** one bind group per weight chunk, each in its own one-element list (what ctx.dispatch takes) */
  groups: GPUBindGroup[][];
  /** weight rows per chunk (for the dispatch sizes) */
  chunkRows: number[];
  /** the per-chunk Params uniform buffer */
  params: GPUBuffer;
}

// Prefill tiling: 16 x 16 threads, 64 x 64 output tile, K steps of 32.
const PREFILL_WX = 16;
const PREFILL_WY = 16;
// the prefill tile's workgroup-memory swizzles need 64-wide tiles' property: 4 * WX and 4 * WY multiples of 32
if ((4 * PREFILL_WX) % 32 !== 0 || (4 * PREFILL_WY) % 32 !== 0) throw new Error('prefill tile sides must be multiples of 32');
const PARAMS_BYTES = 32;

interface Layouts {
  group0: GPUBindGroupLayout;
  rows: GPUBindGroupLayout;
  pipeline: GPUPipelineLayout;
}

// Layouts shared by every kernel of the same variant on a device (pipelines are cached by layout label).
const layoutCache = new WeakMap<GPUDevice, Map<string, Layouts>>();

function layoutsFor(device: GPUDevice, key: string, scaled: boolean, bias: boolean): Layouts {
  let perDevice = layoutCache.get(device);
  if (!perDevice) layoutCache.set(device, (perDevice = new Map()));
  let l = perDevice.get(key);
  if (l) return l;
  const C = 0x4; // GPUShaderStage.COMPUTE (a literal: Node's GPU* globals appear only after Dawn is created)
  const entries: GPUBindGroupLayoutEntry[] = [
    { binding: 0, visibility: C, buffer: { type: 'uniform' } }, // Params
    { binding: 1, visibility: C, buffer: { type: 'read-only-storage' } }, // x [rows, K]
    { binding: 2, visibility: C, buffer: { type: 'read-only-storage' } }, // W words [nChunk, wordsPerRow]
  ];
  if (scaled) entries.push({ binding: 3, visibility: C, buffer: { type: 'read-only-storage' } }); // scales [nChunk, groupsPerRow]
  if (bias) entries.push({ binding: 4, visibility: C, buffer: { type: 'read-only-storage' } }); // bias [N]
  entries.push({ binding: 5, visibility: C, buffer: { type: 'storage' } }); // y [rows, outStride]
  const group0 = device.createBindGroupLayout({ label: `${key}.g0`, entries });
  const rows = device.createBindGroupLayout({ label: `${key}.rows`, entries: [{ binding: 0, visibility: C, buffer: { type: 'uniform' } }] });
  l = { group0, rows, pipeline: device.createPipelineLayout({ label: `${key}.layout`, bindGroupLayouts: [group0, rows] }) };
  perDevice.set(key, l);
  return l;
}

/** Dependent iterations of one lane of the decode matvec: its rows times its units of a row. */
function decodeChain(K: number, t: DecodeTiling): number {
  return t.nr * Math.ceil(Math.ceil(K / DECODE_UNIT) / t.tpr);
}

/** The decode dispatch as an NVIDIA GPU runs it (the roofline's predictions). */
function gpuDecode(K: number, n: number, swiglu?: boolean): DispatchCost['gpu'] {
  const t = decodeTiling(K, n, NAMED_ADAPTERS.nvidia, swiglu);
  return { workgroups: decodeWorkgroups(n, t), threads: t.wg, chain: decodeChain(K, t) };
}

export class MatmulKernel {
  readonly decodePipeline: GPUComputePipeline;
  readonly prefillPipeline: GPUComputePipeline | null = null;
  readonly outWidth: number;
  /** the decode path's tiling */
  readonly decodeTilingUsed: DecodeTiling;
  private readonly layouts: Layouts;
  private readonly rowsPerWorkgroup: number;
  private readonly paramsStride: number;
  private readonly rowsBuffer: GPUBuffer;
  /** row-count bind groups, index rows - 1 */
  private readonly rowsGroups: GPUBindGroup[] = [];

  constructor(
    private readonly ctx: GpuContext,
    readonly opts: MatmulOptions,
  ) {
    const { N, K, format, maxRows, swiglu, residual, label } = opts;
    const bad = (msg: string) => new BoxedError('Internal', `matmul ${label}: ${msg}`);
    if (!(N > 0 && K > 0 && maxRows > 0) || ![N, K, maxRows].every(Number.isInteger)) throw bad(`bad shape N=${N} K=${K} maxRows=${maxRows}`);
    if (swiglu && N % 2 !== 0) throw bad(`swiglu needs an even N (interleaved gate/up), got ${N}`);
    if (swiglu && residual) throw bad('swiglu and residual cannot be combined');
    this.outWidth = swiglu ? N / 2 : N;
    const lim = ctx.caps.limits;
    const defines = {
      ...formatDefines(format),
      bias: Boolean(opts.bias),
      residual: Boolean(residual),
      norm: Boolean(opts.norm),
      swiglu: Boolean(swiglu),
    };
    const variant = `matmul:${Object.entries(defines)
      .filter(([, v]) => v)
      .map(([k]) => k)
      .join(',')}`;
    this.layouts = layoutsFor(ctx.device, variant, defines.scaled, defines.bias);
    this.paramsStride = Math.max(256, lim.minUniformBufferOffsetAlignment);

    // decode: lane groups of TPR threads per output row pair (tiling from K and the adapter); x read as vec4s
    // when rows are whole blocks of 8
    const info = ctx.device.adapterInfo as GPUAdapterInfo | undefined;
    const t = opts.decodeTiling ?? decodeTiling(K, N, {
      maxWorkgroup: Math.min(lim.maxComputeInvocationsPerWorkgroup, lim.maxComputeWorkgroupSizeX),
      subgroupMin: ctx.caps.subgroups ? (info?.subgroupMinSize ?? 0) : 0,
      fallback: info?.isFallbackAdapter ?? false,
    }, swiglu);
    this.decodeTilingUsed = t;
    const pow2 = (v: number) => Number.isInteger(v) && v > 0 && (v & (v - 1)) === 0;
    if (!(pow2(t.wg) && pow2(t.tpr) && t.tpr <= t.wg && Number.isInteger(t.nr) && t.nr >= 1 && (!swiglu || t.nr % 2 === 0))) {
      throw bad(`bad decode tiling ${JSON.stringify(t)}`);
    }
    if (t.wg > lim.maxComputeInvocationsPerWorkgroup || t.wg > lim.maxComputeWorkgroupSizeX) throw bad(`decode workgroup ${t.wg} exceeds the adapter's limits`);
    this.rowsPerWorkgroup = (t.nr * t.wg) / t.tpr;
    const storage = 16 * t.wg + 4;
    if (storage > lim.maxComputeWorkgroupStorageSize) throw bad(`decode needs ${storage} B of workgroup storage, limit ${lim.maxComputeWorkgroupStorageSize}`);
    this.decodePipeline = ctx.pipelines.get({
      shader: 'matmul-decode',
      source: `${decodeSource}\n${formatsSource}`,
      defines: { ...defines, xvec: K % 8 === 0, wvec: format === 'q4' },
      constants: { WG: t.wg, TPR: t.tpr, NR: t.nr },
      layout: this.layouts.pipeline,
    });

    // prefill: 16 x 16 tile threads (256 is every adapter's minimum), row count from a small uniform
    if (maxRows > DECODE_MAX_ROWS) {
      const storage = 4 * 32 * 4 * (PREFILL_WX + PREFILL_WY);
      if (PREFILL_WX * PREFILL_WY > lim.maxComputeInvocationsPerWorkgroup || storage > lim.maxComputeWorkgroupStorageSize) {
        throw bad('the adapter cannot run a 16 x 16 workgroup with 16 KiB of workgroup storage');
      }
      this.prefillPipeline = ctx.pipelines.get({
        shader: 'matmul-prefill',
        source: `${prefillSource}\n${formatsSource}`,
        defines,
        constants: { WX: PREFILL_WX, WY: PREFILL_WY },
        layout: this.layouts.pipeline,
      });
    }

    // the row-count table: rows r at offset (r - 1) * stride, one bind group each
    const stride = Math.max(16, lim.minUniformBufferOffsetAlignment);
    this.rowsBuffer = createBuffer(ctx, `${label}.rows`, maxRows * stride, UNIFORM);
    const table = new Uint32Array((maxRows * stride) / 4);
    for (let i = 0; i < maxRows; i++) {
      table[(i * stride) / 4] = i + 1;
      this.rowsGroups.push(
        ctx.device.createBindGroup({
          label: `${label}.rows${i + 1}`,
          layout: this.layouts.rows,
          entries: [{ binding: 0, resource: { buffer: this.rowsBuffer, offset: i * stride, size: 16 } }],
        }),
      );
    }
    writeBuffer(ctx, this.rowsBuffer, 0, table);
  }

  /** Bind once at load: w [N, K], x [maxRows, K] f32, y [maxRows, N] f32 ([maxRows, N/2] for swiglu), bias [N] f32. */
  bind(w: GpuWeight, x: GPUBuffer, y: GPUBuffer, bias?: GPUBuffer): MatmulBinding {
    const { N, K, format, maxRows, label } = this.opts;
    const bad = (msg: string) => new BoxedError('Internal', `matmul ${label}: ${msg}`);
    if (w.format !== format || w.rows !== N || w.cols !== K) throw bad(`weight ${w.label} is ${w.format} [${w.rows}, ${w.cols}], kernel wants ${format} [${N}, ${K}]`);
    if (Boolean(bias) !== Boolean(this.opts.bias)) throw bad(this.opts.bias ? 'a bias buffer is required' : 'this kernel has no bias');
    if (bias && bias.size < N * 4) throw bad(`bias buffer ${bias.size} B < ${N * 4}`);
    if (x.size < maxRows * K * 4) throw bad(`x buffer ${x.size} B < [${maxRows}, ${K}] f32`);
    if (y.size < maxRows * this.outWidth * 4) throw bad(`y buffer ${y.size} B < [${maxRows}, ${this.outWidth}] f32`);
    if (w.chunks.length === 0) throw bad(`weight ${w.label} was destroyed`);

    const stride = this.paramsStride;
    const params = createBuffer(this.ctx, `${label}.params`, w.chunks.length * stride, UNIFORM);
    const raw = new ArrayBuffer(w.chunks.length * stride);
    const groups: GPUBindGroup[][] = [];
    w.chunks.forEach((c, i) => {
      if (this.opts.swiglu && c.rowStart % 2 !== 0) throw bad(`chunk ${i} of ${w.label} starts at an odd row`);
      const u = new Uint32Array(raw, i * stride, PARAMS_BYTES / 4);
      u.set([K, w.wordsPerRow, w.groupsPerRow, c.rows, c.rowStart, this.outWidth]);
      new Float32Array(raw, i * stride + 24, 1)[0] = this.opts.norm?.eps ?? 0;
      new Uint32Array(raw, i * stride + 28, 1)[0] = DECODE_UNIT / 8; // the decode shader's blocks per unit
      const entries: GPUBindGroupEntry[] = [
        { binding: 0, resource: { buffer: params, offset: i * stride, size: PARAMS_BYTES } },
        { binding: 1, resource: { buffer: x } },
        { binding: 2, resource: { buffer: c.data } },
      ];
      if (c.scales) entries.push({ binding: 3, resource: { buffer: c.scales } });
      if (bias) entries.push({ binding: 4, resource: { buffer: bias } });
      entries.push({ binding: 5, resource: { buffer: y } });
      groups.push([this.ctx.device.createBindGroup({ label: `${label}#${i}`, layout: this.layouts.group0, entries })]);
    });
    writeBuffer(this.ctx, params, 0, new Uint8Array(raw));
    return { groups, chunkRows: w.chunks.map((c) => c.rows), params };
  }

  /** What one dispatch over n weight rows costs (the roofline's input; made only while a trace is on). */
  private cost(path: 'decode' | 'prefill', rows: number, n: number, workgroups: number): DispatchCost {
    const { K, format, bias, residual, swiglu, label } = this.opts;
    const { wordsPerRow, groupsPerRow } = rowLayout(K, format);
    const weightBytes = n * (wordsPerRow + groupsPerRow) * 4;
    const outBytes = rows * (swiglu ? n / 2 : n) * 4;
    const t = this.decodeTilingUsed;
    // decode: each weight byte once, x once per workgroup (from cache after the first); prefill: the weight
    // tile once per 64-row tile of x, x once per 64-column tile of W
    const tilesM = Math.ceil(rows / (4 * PREFILL_WY));
    const tilesN = Math.ceil(n / (4 * PREFILL_WX));
    const read = path === 'decode' ? weightBytes + rows * K * 4 : weightBytes * tilesM + rows * K * 4 * tilesN;
    return {
      kernel: `matmul-${path} ${label}`,
      workgroups,
      threads: path === 'decode' ? t.wg : PREFILL_WX * PREFILL_WY,
      bytesRead: read + (bias ? n * 4 : 0) + (residual ? outBytes : 0),
      bytesWritten: outBytes,
      flops: 2 * rows * n * K,
      chain: path === 'decode' ? decodeChain(K, t) : Math.ceil(K / 32),
      gpu: path === 'decode' ? gpuDecode(K, n, this.opts.swiglu) : undefined,
    };
  }

  /** Frees the row-count table (bindings' params buffers belong to their callers). */
  destroy(): void {
    this.rowsBuffer.destroy();
  }

  /** Records y = x · Wᵀ (+ epilogues) for the first `rows` rows of x and y. Allocates nothing. */
  encode(pass: GPUComputePassEncoder, b: MatmulBinding, rows: number): void {
    if (!(rows >= 1 && rows <= this.opts.maxRows && Number.isInteger(rows))) {
      throw new BoxedError('Internal', `matmul ${this.opts.label}: rows ${rows} outside 1..${this.opts.maxRows}`);
    }
    const max = this.ctx.caps.limits.maxComputeWorkgroupsPerDimension;
    // group 1 (the row count) stays bound across the chunk dispatches, which set group 0
    pass.setBindGroup(1, this.rowsGroups[rows - 1]);
    this.ctx.stats.apiCalls++;
    if (rows <= DECODE_MAX_ROWS) {
      const pipeline = this.decodePipeline;
      for (let c = 0; c < b.groups.length; c++) {
        const total = Math.ceil(b.chunkRows[c] / this.rowsPerWorkgroup);
        const gy = Math.ceil(total / max);
        this.ctx.trace?.push(this.cost('decode', rows, b.chunkRows[c], total));
        this.ctx.dispatch(pass, pipeline, b.groups[c], Math.ceil(total / gy), gy);
      }
      return;
    }
    const pipeline = this.prefillPipeline!;
    const tilesM = Math.ceil(rows / (4 * PREFILL_WY));
    for (let c = 0; c < b.groups.length; c++) {
      const total = Math.ceil(b.chunkRows[c] / (4 * PREFILL_WX)) * tilesM;
      const gy = Math.ceil(total / max);
      this.ctx.trace?.push(this.cost('prefill', rows, b.chunkRows[c], total));
      this.ctx.dispatch(pass, pipeline, b.groups[c], Math.ceil(total / gy), gy);
    }
  }
}
