// Matmul kernel: y[rows, N] = x[rows, K] · Wᵀ for a packed GpuWeight W [N, K] in any format, with
// fused prologue/epilogues chosen at construction (norm, gain, bias, residual, swiglu, rope). Two code paths:
// decode (rows <= DECODE_MAX_ROWS: matrix-vector, shaders/matmul-decode.wgsl) and prefill (tiled,
// shaders/matmul-prefill.wgsl). One dispatch per weight chunk. The row count reaches the shaders through
// bind group 1: a small uniform per possible count, made once, so different counts can be recorded
// into one command buffer without any queue write.
// Pipeline requests (compiled later by ctx.pipelines.compile()), layouts and the row-count bind groups are
// made in the constructor; bind groups of a weight/buffer set in bind(); encode() only records.
import decodeSource from '../../../shaders/matmul-decode.wgsl?raw';
import prefillSource from '../../../shaders/matmul-prefill.wgsl?raw';
import formatsSource from '../../../shaders/weight-formats.wgsl?raw';
import ropeSource from '../../../shaders/rope-epilogue.wgsl?raw';
import type { GpuContext } from '../context';
import type { PipelineHandle } from '../pipelines';
import { UNIFORM, createBuffer, uploadBuffer, writeBuffer } from '../buffers';
import { formatDefines, gpuRowLayout, type GpuFormat, type GpuWeight } from '../weights';
import type { DispatchCost } from '../context';
import type { KvFormat } from '../../protocol/engine';
import { ropeTable } from './ropeKv';
import { BoxedError } from '../../protocol/errors';
import { DECODE_MAX_ROWS, DECODE_UNIT, NAMED_ADAPTERS, decodeTiling, decodeWorkgroups, type DecodeTiling } from './matmul-tiling';
import { PREFILL_ADAPTERS, PREFILL_TK, prefillStorage, prefillTiling, prefillWorkgroups, type PrefillAdapter, type PrefillTiling } from './prefill-tiling';

export { DECODE_MAX_ROWS, decodeTiling, type DecodeTiling } from './matmul-tiling';
export { prefillTiling, type PrefillTiling } from './prefill-tiling';

export interface MatmulOptions {
  /** Output width (weight rows); for swiglu 2 * F with gate/up rows interleaved. */
  N: number;
  /** Input width (weight columns). */
  K: number;
  /** the weight's format (a weight stacked from parts of other formats gets their pipelines at bind()) */
  format: GpuFormat;
  /** y += b[N] (f32 buffer given to bind()) */
  bias?: boolean;
  /** y += result (y is read, then written) */
  residual?: boolean;
  /** Rows of x are RMS-normalized on the fly (the gain is folded into W's columns by the caller). */
  norm?: { eps: number };
  /** Output h[rows, N/2], h[j] = silu(acc[2j]) * acc[2j+1]. */
  swiglu?: boolean;
  /**
   * W's columns scaled by a gain vector [K] as they are decoded (given to bind()): a norm gain that cannot be
   * folded into W at load (the final norm's, when the LM head is the embedding's matrix).
   */
  gain?: boolean;
  /**
   * The qkv projection with RoPE and the KV append as its epilogue (shaders/rope-epilogue.wgsl): W's rows (and
   * the bias) are stacked q/k/v in the RoPE-quad order of ropeQuadRows (src/model/fused.ts); y is the rotated
   * q [rows, qDim]; k and v go into the caches given to bind(). N = qDim + 2 * kvDim, headDim % 4 == 0.
   */
  rope?: RopeEpilogue;
  /**
   * Layer 0's qkv in a decode step: x's rows are gathered from the embedding table given to bind() (row
   * tokens[r], in the weight's format and row layout) as they are loaded, and the first workgroup writes them to
   * x for the later residual adds, so no embed dispatch runs. Decode only (maxRows <= DECODE_MAX_ROWS), the
   * project's own formats (q4, q8, f16, f32), not with anyFormat or gain.
   */
  embed?: boolean;
  /** Largest row count encode() will be asked for. */
  maxRows: number;
  label: string;
  /** bind() takes weights of any format, each chunk through its format's pipelines (a GGUF model's layers mix types). */
  anyFormat?: boolean;
  /** Tests and benchmarks: force the decode tiling instead of the one decodeTiling() picks for this adapter. */
  decodeTiling?: DecodeTiling;
  /**
   * Tests and benchmarks: force the prefill tile shape and buffering instead of what prefillTiling() picks (wf16 is
   * still applied only where shader-f16 is on and the W values are exact in f16).
   */
  prefillTiling?: PrefillTiling;
}

export interface RopeEpilogue {
  headDim: number;
  nHeads: number;
  nKvHeads: number;
  ropeTheta: number;
  /** KV positions per slot (and rows of the angle table) */
  context: number;
  kvFormat: KvFormat;
}

/** What bind() needs besides x, W, y and the bias. */
export interface MatmulExtras {
  /** the gain vector [K] f32 (gain kernels) */
  gain?: GPUBuffer;
  /** the rope epilogue's buffers: each row's (pos, slot), and one layer's K and V caches */
  rope?: { meta: GPUBuffer; kCache: GPUBuffer; vCache: GPUBuffer };
  /** the embedding table (one chunk) and the step's token ids [maxRows] u32 (embed kernels) */
  embed?: { table: GpuWeight; tokens: GPUBuffer };
}

/** Storage buffers one decode dispatch of these options binds in a format (against maxStorageBuffersPerShaderStage). */
export function matmulStorageBuffers(opts: Pick<MatmulOptions, 'bias' | 'gain' | 'rope' | 'embed'>, format: GpuFormat): number {
  const scaled = Boolean(formatDefines(format).scaled);
  // x, W words, (scales), (bias), y; rope: meta, table, K, V; gain; embed: tokens, table words, (table scales)
  return 3 + (scaled ? 1 : 0) + (opts.bias ? 1 : 0) + (opts.rope ? 4 : 0) + (opts.gain ? 1 : 0) + (opts.embed ? 2 + (scaled ? 1 : 0) : 0);
}

export interface MatmulBinding {
  /** one bind group per weight chunk, each in its own one-element list (what ctx.dispatch takes) */
  groups: GPUBindGroup[][];
  /** weight rows per chunk (for the dispatch sizes) */
  chunkRows: number[];
  /** the per-chunk Params uniform buffer (rope: and the RopeParams after them) */
  params: GPUBuffer;
  /** each chunk's pipelines (its format's) and prefill tiling */
  pipelines: { decode: PipelineHandle; prefill: PipelineHandle | null; tiling: PrefillTiling | null }[];
  /** each chunk's format */
  formats: GpuFormat[];
}

interface Variant {
  decode: PipelineHandle;
  prefill: PipelineHandle | null;
  /** the prefill path's tiling for this format (null without a prefill path) */
  tiling: PrefillTiling | null;
  layouts: Layouts;
}

/**
 * Whether a prefill W tile of this format holds values exact in f16 (shaders/matmul-prefill.wgsl, wf16): q4/q8
 * integers (their scales applied in f32 after each step's sums) and f16 values; not with a gain on the columns.
 */
function f16Exact(f: GpuFormat, gain: boolean): boolean {
  return (f === 'q4' || f === 'q8' || f === 'f16') && !gain;
}
const PARAMS_BYTES = 32;

interface Layouts {
  group0: GPUBindGroupLayout;
  rows: GPUBindGroupLayout;
  pipeline: GPUPipelineLayout;
}

// Layouts shared by every kernel of the same variant on a device (pipelines are cached by layout label).
const layoutCache = new WeakMap<GPUDevice, Map<string, Layouts>>();

function layoutsFor(device: GPUDevice, key: string, scaled: boolean, bias: boolean, gain: boolean, rope: boolean, embed: boolean): Layouts {
  let perDevice = layoutCache.get(device);
  if (!perDevice) layoutCache.set(device, (perDevice = new Map()));
  let l = perDevice.get(key);
  if (l) return l;
  const C = 0x4; // GPUShaderStage.COMPUTE (a literal: Node's GPU* globals appear only after Dawn is created)
  const entries: GPUBindGroupLayoutEntry[] = [
    { binding: 0, visibility: C, buffer: { type: 'uniform' } }, // Params
    { binding: 1, visibility: C, buffer: { type: embed ? 'storage' : 'read-only-storage' } }, // x [rows, K] (embed: written)
    { binding: 2, visibility: C, buffer: { type: 'read-only-storage' } }, // W words [nChunk, wordsPerRow]
  ];
  if (scaled) entries.push({ binding: 3, visibility: C, buffer: { type: 'read-only-storage' } }); // scales [nChunk, groupsPerRow]
  if (bias) entries.push({ binding: 4, visibility: C, buffer: { type: 'read-only-storage' } }); // bias [N]
  entries.push({ binding: 5, visibility: C, buffer: { type: 'storage' } }); // y [rows, outStride]
  if (rope) {
    entries.push({ binding: 6, visibility: C, buffer: { type: 'read-only-storage' } }); // (pos, slot) [rows]
    entries.push({ binding: 7, visibility: C, buffer: { type: 'read-only-storage' } }); // (cos, sin) [context, half]
    entries.push({ binding: 8, visibility: C, buffer: { type: 'storage' } }); // K cache
    entries.push({ binding: 9, visibility: C, buffer: { type: 'storage' } }); // V cache
    entries.push({ binding: 10, visibility: C, buffer: { type: 'uniform' } }); // RopeParams
  }
  if (gain) entries.push({ binding: 11, visibility: C, buffer: { type: 'read-only-storage' } }); // gain [K]
  if (embed) {
    entries.push({ binding: 12, visibility: C, buffer: { type: 'read-only-storage' } }); // token ids [rows]
    entries.push({ binding: 13, visibility: C, buffer: { type: 'read-only-storage' } }); // embedding words
    if (scaled) entries.push({ binding: 14, visibility: C, buffer: { type: 'read-only-storage' } }); // embedding scales
  }
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

/** The prefill dispatch as an NVIDIA GPU runs it (the roofline's predictions): the tiling it would pick. */
function gpuPrefill(rows: number, maxRows: number, K: number, n: number, format: GpuFormat, gain: boolean, quads: boolean): DispatchCost['gpu'] {
  const t = prefillTiling(maxRows, n, PREFILL_ADAPTERS.nvidia, f16Exact(format, gain));
  return { workgroups: prefillWorkgroups(rows, n, t), threads: t.wx * t.wy, chain: Math.ceil(K / PREFILL_TK) + (quads ? 2 : 0) };
}

/** The decode dispatch as an NVIDIA GPU runs it (the roofline's predictions). */
function gpuDecode(K: number, n: number, swiglu?: boolean, quads?: boolean): DispatchCost['gpu'] {
  const t = decodeTiling(K, n, NAMED_ADAPTERS.nvidia, swiglu, quads);
  return { workgroups: decodeWorkgroups(n, t), threads: t.wg, chain: decodeChain(K, t) + (quads ? 2 : 0) };
}

export class MatmulKernel {
  readonly decodePipeline: PipelineHandle;
  readonly prefillPipeline: PipelineHandle | null = null;
  /** the prefill path's tiling for the kernel's format (null without a prefill path) */
  readonly prefillTilingUsed: PrefillTiling | null = null;
  readonly outWidth: number;
  /** the decode path's tiling */
  readonly decodeTilingUsed: DecodeTiling;
  private readonly layouts: Layouts;
  private readonly variants = new Map<GpuFormat, Variant>();
  private readonly makeVariant: (format: GpuFormat) => Variant;
  private readonly rowsPerWorkgroup: number;
  private readonly paramsStride: number;
  private readonly rowsBuffer: GPUBuffer;
  /** row-count bind groups, index rows - 1 */
  private readonly rowsGroups: GPUBindGroup[] = [];
  /** rope: the (cos, sin) table [context, headDim / 2], built once in float64 */
  private readonly ropeTable: GPUBuffer | null = null;
  /** the params buffers of the bindings this kernel made (destroy() frees them with the tables) */
  private readonly bound: GPUBuffer[] = [];

  constructor(
    private readonly ctx: GpuContext,
    readonly opts: MatmulOptions,
  ) {
    const { N, K, format, maxRows, swiglu, residual, rope, label } = opts;
    const bad = (msg: string) => new BoxedError('Internal', `matmul ${label}: ${msg}`);
    if (!(N > 0 && K > 0 && maxRows > 0) || ![N, K, maxRows].every(Number.isInteger)) throw bad(`bad shape N=${N} K=${K} maxRows=${maxRows}`);
    if (swiglu && N % 2 !== 0) throw bad(`swiglu needs an even N (interleaved gate/up), got ${N}`);
    if (swiglu && residual) throw bad('swiglu and residual cannot be combined');
    if (rope) {
      const { headDim: hd, nHeads, nKvHeads } = rope;
      if (swiglu || residual) throw bad('rope cannot be combined with swiglu or residual');
      if (!(hd > 0 && hd % 4 === 0 && N === (nHeads + 2 * nKvHeads) * hd)) throw bad(`rope needs headDim % 4 == 0 and N = qDim + 2 * kvDim (headDim ${hd}, N ${N})`);
    }
    if (opts.embed) {
      if (maxRows > DECODE_MAX_ROWS) throw bad(`embed is decode only: maxRows ${maxRows} > ${DECODE_MAX_ROWS}`);
      if (opts.anyFormat || opts.gain || !['q4', 'q8', 'f16', 'f32'].includes(format)) throw bad(`embed needs one of q4, q8, f16, f32 without gain (got ${format})`);
    }
    this.outWidth = swiglu ? N / 2 : rope ? rope.nHeads * rope.headDim : N;
    const lim = ctx.caps.limits;
    if (rope) {
      // checked before any buffer is made
      const tableBytes = rope.context * rope.headDim * 4;
      const limit = lim.maxStorageBufferBindingSize;
      if (tableBytes > limit) throw new BoxedError('OutOfMemory', `RoPE table needs ${tableBytes} bytes, more than the ${limit}-byte binding limit`, { detail: { neededBytes: tableBytes, limitBytes: limit } });
    }
    const definesFor = (f: GpuFormat) => ({
      ...formatDefines(f),
      bias: Boolean(opts.bias),
      residual: Boolean(residual),
      norm: Boolean(opts.norm),
      swiglu: Boolean(swiglu),
      gain: Boolean(opts.gain),
      rope: Boolean(rope),
      kv_f16: rope?.kvFormat === 'f16',
      embed: Boolean(opts.embed),
    });
    const layoutsOf = (f: GpuFormat) => {
      const defines = definesFor(f);
      const variant = `matmul:${Object.entries(defines)
        .filter(([, v]) => v)
        .map(([k]) => k)
        .join(',')}`;
      return layoutsFor(ctx.device, variant, defines.scaled, defines.bias, defines.gain, defines.rope, defines.embed);
    };
    this.layouts = layoutsOf(format);
    const epilogue = rope ? `\n${ropeSource}` : '';
    this.paramsStride = Math.max(256, lim.minUniformBufferOffsetAlignment);

    // decode: lane groups of TPR threads per NR output rows (tiling from K and the adapter); x read as vec4s
    // when rows are whole blocks of 8
    const info = ctx.device.adapterInfo as GPUAdapterInfo | undefined;
    const t = opts.decodeTiling ?? decodeTiling(K, N, {
      maxWorkgroup: Math.min(lim.maxComputeInvocationsPerWorkgroup, lim.maxComputeWorkgroupSizeX),
      subgroupMin: ctx.caps.subgroups ? (info?.subgroupMinSize ?? 0) : 0,
      fallback: info?.isFallbackAdapter ?? false,
    }, swiglu, Boolean(rope));
    this.decodeTilingUsed = t;
    const pow2 = (v: number) => Number.isInteger(v) && v > 0 && (v & (v - 1)) === 0;
    if (!(pow2(t.wg) && pow2(t.tpr) && t.tpr <= t.wg && Number.isInteger(t.nr) && t.nr >= 1 && (!swiglu || t.nr % 2 === 0) && (!rope || ((t.nr * t.wg) / t.tpr) % 4 === 0))) {
      throw bad(`bad decode tiling ${JSON.stringify(t)}`);
    }
    if (t.wg > lim.maxComputeInvocationsPerWorkgroup || t.wg > lim.maxComputeWorkgroupSizeX) throw bad(`decode workgroup ${t.wg} exceeds the adapter's limits`);
    this.rowsPerWorkgroup = (t.nr * t.wg) / t.tpr;
    const storage = 16 * t.wg + 4 + (rope ? 4 * 16 * this.rowsPerWorkgroup : 0); // red, sgCount (rope: staged)
    if (storage > lim.maxComputeWorkgroupStorageSize) throw bad(`decode needs ${storage} B of workgroup storage, limit ${lim.maxComputeWorkgroupStorageSize}`);
    // prefill: the tile shape from the chunk's rows, N and the adapter (prefill-tiling.ts), row count from a
    // small uniform
    const prefillAdapter: PrefillAdapter = {
      maxInvocations: Math.min(lim.maxComputeInvocationsPerWorkgroup, lim.maxComputeWorkgroupSizeX),
      maxStorage: lim.maxComputeWorkgroupStorageSize,
      f16: ctx.caps.shaderF16,
      fallback: info?.isFallbackAdapter ?? false,
    };
    const prefillFor = (f: GpuFormat): PrefillTiling => {
      const forced = opts.prefillTiling;
      const exact = f16Exact(f, Boolean(opts.gain));
      const pt = forced ? { ...forced, wf16: forced.wf16 && ctx.caps.shaderF16 && exact } : prefillTiling(maxRows, N, prefillAdapter, exact);
      const shapeOk = [8, 16].includes(pt.wx) && [8, 16].includes(pt.wy);
      if (!shapeOk || pt.wx * pt.wy > prefillAdapter.maxInvocations || prefillStorage(pt) > prefillAdapter.maxStorage) {
        throw bad(`the adapter cannot run the prefill tiling ${JSON.stringify(pt)} (${prefillStorage(pt)} B of workgroup storage)`);
      }
      return pt;
    };
    this.makeVariant = (f: GpuFormat): Variant => {
      const defines = definesFor(f);
      const layouts = f === format ? this.layouts : layoutsOf(f);
      const decode = ctx.pipelines.request({
        shader: 'matmul-decode',
        source: `${decodeSource}\n${formatsSource}${epilogue}`,
        defines: { ...defines, xvec: K % 8 === 0 && !opts.embed, wvec: f === 'q4' },
        constants: { WG: t.wg, TPR: t.tpr, NR: t.nr },
        layout: layouts.pipeline,
      });
      const tiling = maxRows > DECODE_MAX_ROWS ? prefillFor(f) : null;
      const prefill = tiling
        ? ctx.pipelines.request({
            shader: 'matmul-prefill',
            source: `${prefillSource}\n${formatsSource}${epilogue}`,
            defines: { ...defines, double: tiling.double, wf16: tiling.wf16 },
            constants: { WX: tiling.wx, WY: tiling.wy },
            layout: layouts.pipeline,
          })
        : null;
      return { decode, prefill, tiling, layouts };
    };
    const main = this.variant(format);
    this.decodePipeline = main.decode;
    this.prefillPipeline = main.prefill;
    this.prefillTilingUsed = main.tiling;

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

    if (rope) {
      this.ropeTable = uploadBuffer(ctx, `${label}.ropeTable`, ropeTable(rope.headDim, rope.ropeTheta, rope.context));
    }
  }

  /** The pipelines and layouts of one weight format (made once per kernel and format). */
  private variant(f: GpuFormat): Variant {
    let v = this.variants.get(f);
    if (!v) this.variants.set(f, (v = this.makeVariant(f)));
    return v;
  }

  /**
   * Bind once at load: w [N, K], x [maxRows, K] f32, y [maxRows, N] f32 ([maxRows, N/2] for swiglu, [maxRows, qDim]
   * for rope), bias [N] f32; the gain [K] f32 and the rope buffers in `extras`. A weight stacked from parts of
   * other formats (anyFormat) requests their pipelines here: bind before ctx.pipelines.compile().
   */
  bind(w: GpuWeight, x: GPUBuffer, y: GPUBuffer, bias?: GPUBuffer, extras: MatmulExtras = {}): MatmulBinding {
    const { N, K, format, maxRows, label, rope } = this.opts;
    const bad = (msg: string) => new BoxedError('Internal', `matmul ${label}: ${msg}`);
    if ((w.format !== format && !this.opts.anyFormat) || w.rows !== N || w.cols !== K) throw bad(`weight ${w.label} is ${w.format} [${w.rows}, ${w.cols}], kernel wants ${format} [${N}, ${K}]`);
    if (Boolean(bias) !== Boolean(this.opts.bias)) throw bad(this.opts.bias ? 'a bias buffer is required' : 'this kernel has no bias');
    if (bias && bias.size < N * 4) throw bad(`bias buffer ${bias.size} B < ${N * 4}`);
    if (x.size < maxRows * K * 4) throw bad(`x buffer ${x.size} B < [${maxRows}, ${K}] f32`);
    if (y.size < maxRows * this.outWidth * 4) throw bad(`y buffer ${y.size} B < [${maxRows}, ${this.outWidth}] f32`);
    if (w.chunks.length === 0) throw bad(`weight ${w.label} was destroyed`);
    if (Boolean(extras.gain) !== Boolean(this.opts.gain)) throw bad(this.opts.gain ? 'a gain buffer is required' : 'this kernel has no gain');
    if (extras.gain && extras.gain.size < K * 4) throw bad(`gain buffer ${extras.gain.size} B < ${K * 4}`);
    if (Boolean(extras.rope) !== Boolean(rope)) throw bad(rope ? 'the rope buffers are required' : 'this kernel has no rope epilogue');
    if (Boolean(extras.embed) !== Boolean(this.opts.embed)) throw bad(this.opts.embed ? 'the embedding table and tokens are required' : 'this kernel has no embed prologue');
    const table = extras.embed?.table.chunks[0];
    if (extras.embed) {
      const t = extras.embed.table;
      if (t.chunks.length !== 1 || t.format !== format || t.cols !== K) throw bad(`embedding ${t.label} must be one ${format} chunk of ${K} columns (is ${t.chunks.length} ${t.format} of ${t.cols})`);
      if (extras.embed.tokens.size < maxRows * 4) throw bad(`tokens buffer ${extras.embed.tokens.size} B < ${maxRows} u32`);
    }

    const stride = this.paramsStride;
    const paramSlots = w.chunks.length + (rope ? 1 : 0);
    const params = createBuffer(this.ctx, `${label}.params`, paramSlots * stride, UNIFORM);
    this.bound.push(params);
    const raw = new ArrayBuffer(paramSlots * stride);
    const ropeEntries: GPUBindGroupEntry[] = [];
    if (rope && extras.rope) {
      const { meta, kCache, vCache } = extras.rope;
      const kvDim = rope.nKvHeads * rope.headDim;
      const slotBytes = rope.context * kvDim * (rope.kvFormat === 'f16' ? 2 : 4);
      const slots = Math.floor(Math.min(kCache.size, vCache.size) / slotBytes);
      if (slots < 1) throw bad(`KV cache buffers of ${Math.min(kCache.size, vCache.size)} B hold no slot of ${slotBytes} B`);
      if (meta.size < maxRows * 8) throw bad(`meta buffer ${meta.size} B < ${maxRows} (pos, slot) pairs`);
      const o = w.chunks.length * stride;
      new Uint32Array(raw, o, 8).set([rope.headDim, rope.nHeads * rope.headDim, kvDim, rope.context, slots]);
      ropeEntries.push(
        { binding: 6, resource: { buffer: meta } },
        { binding: 7, resource: { buffer: this.ropeTable! } },
        { binding: 8, resource: { buffer: kCache } },
        { binding: 9, resource: { buffer: vCache } },
        { binding: 10, resource: { buffer: params, offset: o, size: 32 } },
      );
    }
    const groups: GPUBindGroup[][] = [];
    const pipelines: MatmulBinding['pipelines'] = [];
    w.chunks.forEach((c, i) => {
      if (this.opts.swiglu && c.rowStart % 2 !== 0) throw bad(`chunk ${i} of ${w.label} starts at an odd row`);
      if (rope && (c.rowStart % 4 !== 0 || c.rows % 4 !== 0)) throw bad(`chunk ${i} of ${w.label} is not whole RoPE quads (rows ${c.rowStart}+${c.rows})`);
      const v = this.variant(c.format);
      pipelines.push({ decode: v.decode, prefill: v.prefill, tiling: v.tiling });
      const u = new Uint32Array(raw, i * stride, PARAMS_BYTES / 4);
      u.set([K, c.wordsPerRow, c.groupsPerRow, c.rows, c.rowStart, this.outWidth]);
      new Float32Array(raw, i * stride + 24, 1)[0] = this.opts.norm?.eps ?? 0;
      new Uint32Array(raw, i * stride + 28, 1)[0] = DECODE_UNIT / 8; // the decode shader's blocks per unit
      if (table) {
        if (table.wordsPerRow !== c.wordsPerRow || table.groupsPerRow !== c.groupsPerRow) throw bad(`embedding rows are not ${w.label}'s row layout`);
        new Uint32Array(raw, i * stride + PARAMS_BYTES, 1)[0] = table.rows;
      }
      const entries: GPUBindGroupEntry[] = [
        { binding: 0, resource: { buffer: params, offset: i * stride, size: PARAMS_BYTES + (table ? 16 : 0) } },
        { binding: 1, resource: { buffer: x } },
        { binding: 2, resource: { buffer: c.data } },
      ];
      if (c.scales) entries.push({ binding: 3, resource: { buffer: c.scales } });
      if (bias) entries.push({ binding: 4, resource: { buffer: bias } });
      entries.push({ binding: 5, resource: { buffer: y } });
      entries.push(...ropeEntries);
      if (extras.gain) entries.push({ binding: 11, resource: { buffer: extras.gain } });
      if (table && extras.embed) {
        entries.push({ binding: 12, resource: { buffer: extras.embed.tokens } }, { binding: 13, resource: { buffer: table.data } });
        if (table.scales) entries.push({ binding: 14, resource: { buffer: table.scales } });
      }
      groups.push([this.ctx.device.createBindGroup({ label: `${label}#${i}`, layout: v.layouts.group0, entries })]);
    });
    writeBuffer(this.ctx, params, 0, new Uint8Array(raw));
    return { groups, chunkRows: w.chunks.map((c) => c.rows), params, pipelines, formats: w.chunks.map((c) => c.format) };
  }

  /** What one dispatch over n weight rows costs (the roofline's input; made only while a trace is on). */
  private cost(path: 'decode' | 'prefill', rows: number, n: number, workgroups: number, format: GpuFormat, pt: PrefillTiling | null): DispatchCost {
    const { K, maxRows, bias, residual, swiglu, gain, rope, label } = this.opts;
    const { wordsPerRow, groupsPerRow } = gpuRowLayout(K, format);
    const weightBytes = n * (wordsPerRow + groupsPerRow) * 4;
    // rope: q rows as f32, k and v rows into the cache (f16 or f32), and each row's (cos, sin) pairs
    const kvBytes = rope?.kvFormat === 'f16' ? 2 : 4;
    const qRows = rope ? Math.min(n, rope.nHeads * rope.headDim) : 0;
    const outBytes = rope ? rows * (qRows * 4 + (n - qRows) * kvBytes) : rows * (swiglu ? n / 2 : n) * 4;
    const extraRead = (gain ? K * 4 : 0) + (rope ? rows * (8 + (rope.headDim / 2) * 8) : 0);
    const t = this.decodeTilingUsed;
    // decode: each weight byte once, x once per workgroup (from cache after the first); prefill: the weight
    // tile once per TM-row tile of x, x once per TN-column tile of W (the tiling an NVIDIA GPU picks)
    const gt = path === 'prefill' ? prefillTiling(maxRows, n, PREFILL_ADAPTERS.nvidia, f16Exact(format, Boolean(gain))) : null;
    const tilesM = gt ? Math.ceil(rows / (4 * gt.wy)) : 1;
    const tilesN = gt ? Math.ceil(n / (4 * gt.wx)) : 1;
    // embed: x's rows are the table's rows (and the ids); the first workgroup writes them to x
    const xRead = this.opts.embed ? rows * ((wordsPerRow + groupsPerRow) * 4 + 4) : rows * K * 4;
    const read = path === 'decode' ? weightBytes + xRead : weightBytes * tilesM + rows * K * 4 * tilesN;
    return {
      kernel: `matmul-${path} ${label}`,
      workgroups,
      threads: path === 'decode' ? t.wg : pt!.wx * pt!.wy,
      bytesRead: read + (bias ? n * 4 : 0) + (residual ? outBytes : 0) + extraRead,
      bytesWritten: outBytes + (this.opts.embed ? rows * K * 4 : 0),
      flops: 2 * rows * n * K,
      // rope: each row's (pos, slot), then its (cos, sin), are two more dependent loads after the dot products
      chain: (path === 'decode' ? decodeChain(K, t) : Math.ceil(K / PREFILL_TK)) + (rope ? 2 : 0),
      gpu: path === 'decode' ? gpuDecode(K, n, swiglu, Boolean(rope)) : gpuPrefill(rows, maxRows, K, n, format, Boolean(gain), Boolean(rope)),
    };
  }

  /** Frees the row-count table, the RoPE table and every binding's params buffer (the bindings are then unusable). */
  destroy(): void {
    this.rowsBuffer.destroy();
    this.ropeTable?.destroy();
    for (const b of this.bound.splice(0)) b.destroy();
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
      for (let c = 0; c < b.groups.length; c++) {
        const total = Math.ceil(b.chunkRows[c] / this.rowsPerWorkgroup);
        const gy = Math.ceil(total / max);
        this.ctx.trace?.push(this.cost('decode', rows, b.chunkRows[c], total, b.formats[c], null));
        this.ctx.dispatch(pass, b.pipelines[c].decode, b.groups[c], Math.ceil(total / gy), gy);
      }
      return;
    }
    for (let c = 0; c < b.groups.length; c++) {
      const pt = b.pipelines[c].tiling!;
      const total = prefillWorkgroups(rows, b.chunkRows[c], pt);
      const gy = Math.ceil(total / max);
      this.ctx.trace?.push(this.cost('prefill', rows, b.chunkRows[c], total, b.formats[c], pt));
      this.ctx.dispatch(pass, b.pipelines[c].prefill!, b.groups[c], Math.ceil(total / gy), gy);
    }
  }
}
