// The model's GPU memory as data, before any GPU exists: every weight matrix (rows, cols, stored format), the
// KV cache (one K and one V buffer per layer), and the activation buffers as one table. planMemory() sums
// them; GpuModel allocates exactly the table's activation buffers and the engine and the start screen use the
// same sums, so the plan, the allocation and the estimate cannot drift apart. The buffer-limit rule (one
// layer's K buffer and the logits of every slot must each fit one binding) lives here once as well.
// Pure: no GPU types (src/gpu turns these rows into buffers).
import type { ModelConfig } from './config';
import { layerTensorName } from './weights';
import type { KvFormat, MemoryPlan, WeightFormat } from '../protocol/engine';
import { BoxedError } from '../protocol/errors';
import { packedBytes } from '../loader/quant';
import { ggmlTypeByName, typeBytes, type GgmlTypeName } from '../loader/gguf/blocks';

/** The shapes the plan needs (a parsed config.json, or a row of the size table). */
export type PlanShape = Pick<ModelConfig, 'dim' | 'ffnDim' | 'nLayers' | 'nHeads' | 'headDim' | 'kvDim' | 'vocab' | 'tiedEmbeddings'>;

export interface PlanOptions {
  weights: WeightFormat;
  kv: KvFormat;
  /** KV positions per sequence (prompt + answer) */
  context: number;
  /** sequences held at once (KV slots); rows of a decode step are at most this many */
  slots: number;
  /** rows of a prefill chunk (bounds activation memory for any prompt length) */
  chunk: number;
  /**
   * RoPE + KV append in the qkv matmul's epilogue. Undefined: whenever headDim % 4 == 0 (GpuModel passes what
   * it decided, which also depends on the device's row chunks); false keeps the separate rope-kv dispatch.
   */
  fuseRope?: boolean;
}

/** A GGUF file's stored block type of each tensor, by its Hugging Face name (GgmlTensors has this). */
export interface StoredTypes {
  type(name: string): GgmlTypeName;
}

/** Rows of a prefill chunk unless the engine is told otherwise. */
export const DEFAULT_PREFILL_CHUNK = 128;

/**
 * Sampling steps that may be queued before the oldest one's ids are read (each has its own readback buffer).
 * Three hides a readback's latency (a map callback can take longer than a step on a fast GPU) behind two steps.
 */
export const STEPS_IN_FLIGHT = 3;

/** Bytes WebGPU gives a buffer of `bytes`: a multiple of 4, and the project's buffers are at least 16. */
export function bufferBytes(bytes: number): number {
  return Math.max(16, Math.ceil(bytes / 4) * 4);
}

// ---- weights ----------------------------------------------------------------------------------

/** How a matrix is stored on the GPU: a Boxed format, or a GGUF block type kept as it is. */
export type StoredFormat = WeightFormat | GgmlTypeName;

const BOXED_FORMATS: readonly string[] = ['q4', 'q8', 'f16', 'f32'] satisfies WeightFormat[];

/**
 * Bytes of a [rows, cols] matrix in a stored format: Boxed's packing rules (src/loader/quant.ts), or a GGUF
 * row's blocks padded to whole 4-byte words (GGUF's F32 and F16 rows are Boxed's f32 and f16 layouts).
 */
export function storedBytes(rows: number, cols: number, format: StoredFormat): number {
  if (BOXED_FORMATS.includes(format)) return packedBytes(rows, cols, format as WeightFormat);
  if (format === 'F32') return packedBytes(rows, cols, 'f32');
  if (format === 'F16') return packedBytes(rows, cols, 'f16');
  return rows * Math.ceil(typeBytes(ggmlTypeByName(format as GgmlTypeName), cols) / 4) * 4;
}

/** One weight buffer of the plan (a vector is one row of f32). `label` is GpuModel's name for the buffer. */
export interface PlannedWeight {
  label: string;
  rows: number;
  cols: number;
  format: StoredFormat;
  bytes: number;
}

/**
 * The weights as GpuModel uploads them: q/k/v stacked with their biases, gate/up interleaved, norm gains folded
 * into the next matrix; a GGUF file's matrices each in its stored type (q, k, v and gate, up as parts of the
 * stacked weight), with the layer norms' gains kept apart, and gate/up of two types packed as `weights`.
 */
export function plannedWeights(cfg: PlanShape, weights: WeightFormat, stored?: StoredTypes): PlannedWeight[] {
  const qDim = cfg.nHeads * cfg.headDim;
  const qkvRows = qDim + 2 * cfg.kvDim;
  const out: PlannedWeight[] = [];
  const add = (label: string, rows: number, cols: number, format: StoredFormat) => out.push({ label, rows, cols, format, bytes: storedBytes(rows, cols, format) });
  const vector = (label: string, n: number) => add(label, 1, n, 'f32');
  const as = (name: string) => (stored ? stored.type(name) : weights);
  add('embed', cfg.vocab, cfg.dim, as('model.embed_tokens.weight'));
  if (!cfg.tiedEmbeddings) add('lm_head', cfg.vocab, cfg.dim, as('lm_head.weight'));
  vector('norm', cfg.dim);
  for (let l = 0; l < cfg.nLayers; l++) {
    const n = (f: Parameters<typeof layerTensorName>[1]) => layerTensorName(l, f);
    if (stored) {
      add(`L${l}.qkv:q`, qDim, cfg.dim, as(n('wq')));
      add(`L${l}.qkv:k`, cfg.kvDim, cfg.dim, as(n('wk')));
      add(`L${l}.qkv:v`, cfg.kvDim, cfg.dim, as(n('wv')));
    } else {
      add(`L${l}.qkv`, qkvRows, cfg.dim, weights);
    }
    vector(`L${l}.qkv.bias`, qkvRows);
    add(`L${l}.o`, cfg.dim, qDim, as(n('wo')));
    if (stored && stored.type(n('wGate')) === stored.type(n('wUp'))) {
      add(`L${l}.gateUp:gate`, cfg.ffnDim, cfg.dim, as(n('wGate')));
      add(`L${l}.gateUp:up`, cfg.ffnDim, cfg.dim, as(n('wUp')));
    } else {
      add(`L${l}.gateUp`, 2 * cfg.ffnDim, cfg.dim, weights);
    }
    add(`L${l}.down`, cfg.dim, cfg.ffnDim, as(n('wDown')));
    if (stored) {
      vector(`L${l}.attnNorm`, cfg.dim);
      vector(`L${l}.mlpNorm`, cfg.dim);
    }
  }
  return out;
}

// ---- KV cache ---------------------------------------------------------------------------------

export interface KvShape {
  nLayers: number;
  /** nKvHeads * headDim (even for 'f16'; for 'q8' a multiple of 4 a head) */
  kvDim: number;
  /** KV heads (nKvHeads): 'q8' stores one scale per (position, KV head) */
  heads: number;
  /** sequences held at once */
  slots: number;
  /** positions per slot */
  context: number;
  format: KvFormat;
}

/** Bytes of one stored K or V value ('q8': the int8 value; its head vector's scale is counted by kvRowBytes). */
export function kvBytesPerElement(format: KvFormat): number {
  return format === 'f16' ? 2 : format === 'q8' ? 1 : 4;
}

/**
 * Bytes one position takes in one layer's K (or V) buffer: kvDim values, and for 'q8' one f32 scale per KV head.
 * A 'q8' buffer is [slots][context][kvDim] int8 (4 a u32, little-endian), then [slots][context][heads] f32 scales.
 */
export function kvRowBytes(s: Pick<KvShape, 'kvDim' | 'heads' | 'format'>): number {
  return s.kvDim * kvBytesPerElement(s.format) + (s.format === 'q8' ? 4 * s.heads : 0);
}

/** Bytes of one layer's K (or V) buffer. */
export function kvLayerBytes(s: KvShape): number {
  return s.slots * s.context * kvRowBytes(s);
}

/** Total bytes of the cache: K and V for every layer. */
export function planKvBytes(s: KvShape): number {
  return 2 * s.nLayers * kvLayerBytes(s);
}

export function kvShape(cfg: PlanShape, o: Pick<PlanOptions, 'kv' | 'context' | 'slots'>): KvShape {
  return { nLayers: cfg.nLayers, kvDim: cfg.kvDim, heads: cfg.kvDim / cfg.headDim, slots: o.slots, context: o.context, format: o.kv };
}

// ---- activations ------------------------------------------------------------------------------

export type ActivationName = 'x' | 'qkv' | 'q' | 'attnOut' | 'h' | 'xLast' | 'logits' | 'tokens' | 'meta' | 'staging';

/** One activation buffer (or `copies` alike): rows of `width` 4-byte words (f32, or u32 ids/pairs). */
export interface ActivationBuffer {
  name: ActivationName;
  rows: number;
  width: number;
  copies: number;
  /** a MAP_READ buffer the step's sampled ids are copied to (one per step in flight) */
  readback: boolean;
  bytes: number;
}

interface ActivationSpec {
  name: ActivationName;
  /** 'step': R = max(chunk, slots) rows; 'slots': one row per sequence (rows that need logits) */
  rows: 'step' | 'slots';
  width: (s: PlanShape) => number;
  when?: (c: { ropeFused: boolean }) => boolean;
  copies?: number;
  readback?: boolean;
}

const qDimOf = (s: PlanShape) => s.nHeads * s.headDim;

/** The activation buffers, each with its reason; forward() reads and writes only these. */
const ACTIVATIONS: readonly ActivationSpec[] = [
  { name: 'x', rows: 'step', width: (s) => s.dim }, // the residual stream
  { name: 'qkv', rows: 'step', width: (s) => qDimOf(s) + 2 * s.kvDim, when: (c) => !c.ropeFused }, // before a separate RoPE pass
  { name: 'q', rows: 'step', width: qDimOf }, // rotated queries
  { name: 'attnOut', rows: 'step', width: qDimOf },
  { name: 'h', rows: 'step', width: (s) => s.ffnDim }, // SiLU(gate) * up
  { name: 'xLast', rows: 'slots', width: (s) => s.dim }, // a prefill chunk's last row, for its logits
  { name: 'logits', rows: 'slots', width: (s) => s.vocab },
  { name: 'tokens', rows: 'step', width: () => 1 }, // u32 step input ids; the sampler writes the next ids here
  { name: 'meta', rows: 'step', width: () => 2 }, // (pos, slot) u32 pairs
  { name: 'staging', rows: 'step', width: () => 1, copies: STEPS_IN_FLIGHT, readback: true }, // sampled ids, read back
];

/** Whether this plan runs RoPE in the qkv epilogue (see PlanOptions.fuseRope). */
export function ropeFusedIn(cfg: PlanShape, o: Pick<PlanOptions, 'fuseRope' | 'kv'>): boolean {
  // q8's per-head-vector scale needs a whole head vector in one workgroup: the rope-kv pass writes the cache
  return o.fuseRope !== false && o.kv !== 'q8' && cfg.headDim % 4 === 0;
}

/** The activation buffers for these shapes and options, in allocation order. */
export function activationBuffers(cfg: PlanShape, o: PlanOptions): ActivationBuffer[] {
  const c = { ropeFused: ropeFusedIn(cfg, o) };
  const R = Math.max(o.chunk, o.slots);
  return ACTIVATIONS.filter((a) => a.when?.(c) ?? true).map((a) => {
    const rows = a.rows === 'step' ? R : o.slots;
    const width = a.width(cfg);
    const copies = a.copies ?? 1;
    return { name: a.name, rows, width, copies, readback: a.readback ?? false, bytes: copies * bufferBytes(rows * width * 4) };
  });
}

// ---- the plan ---------------------------------------------------------------------------------

const sum = (xs: readonly { bytes: number }[]) => xs.reduce((a, b) => a + b.bytes, 0);

/** Bytes of the weights, KV cache and activation buffers a load of this model holds (`stored`: a GGUF file's types). */
export function planMemory(cfg: PlanShape, o: PlanOptions, stored?: StoredTypes): MemoryPlan {
  const weights = sum(plannedWeights(cfg, o.weights, stored));
  const kvCache = planKvBytes(kvShape(cfg, o));
  const activations = sum(activationBuffers(cfg, o));
  return { weights, kvCache, activations, total: weights + kvCache + activations };
}

// ---- the buffer limits ------------------------------------------------------------------------

/** The adapter limits a load must respect (GPUSupportedLimits has them). */
export interface BufferLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

/** A buffer a load needs that this adapter cannot hold: one layer's K (or V) buffer, or the logits of every slot. */
export interface LimitBreach {
  what: 'kvLayer' | 'logits';
  bytes: number;
  limit: number;
}

/**
 * The buffer-limit rule: one layer's K buffer must fit the largest buffer and binding; the logits of `slots`
 * rows must fit one binding. Null when both do. (Weights are cut into row chunks that fit; see src/gpu/weights.ts.)
 */
export function limitBreach(cfg: PlanShape, o: Pick<PlanOptions, 'kv' | 'context' | 'slots'>, limits: BufferLimits): LimitBreach | null {
  const binding = limits.maxStorageBufferBindingSize;
  const limit = Math.min(binding, limits.maxBufferSize);
  const kvLayer = kvLayerBytes(kvShape(cfg, o));
  if (kvLayer > limit) return { what: 'kvLayer', bytes: kvLayer, limit };
  const logits = o.slots * cfg.vocab * 4;
  if (logits > binding) return { what: 'logits', bytes: logits, limit: binding };
  return null;
}

/** The largest number of slots within the limits at this context (0 when not even one fits). */
export function largestBatchWithin(cfg: PlanShape, o: Pick<PlanOptions, 'kv' | 'context'>, limits: BufferLimits): number {
  const binding = limits.maxStorageBufferBindingSize;
  const limit = Math.min(binding, limits.maxBufferSize);
  const perSlotKv = kvLayerBytes(kvShape(cfg, { ...o, slots: 1 }));
  return Math.max(0, Math.min(Math.floor(limit / perSlotKv), Math.floor(binding / (cfg.vocab * 4))));
}

const mb = (b: number) => Math.round(b / 1e6);

/** The engine's typed error for a breach (`neededBytes`: the whole load's need when known, else the buffer's). */
export function limitError(b: LimitBreach, o: Pick<PlanOptions, 'context' | 'slots'>, neededBytes = b.bytes): BoxedError {
  if (b.what === 'kvLayer') {
    return new BoxedError('OutOfMemory', `one layer's KV cache at a context of ${o.context} is ${mb(b.bytes)} MB, more than this GPU's largest buffer (${mb(b.limit)} MB): use a shorter context`, {
      detail: { neededBytes, kvLayerBytes: b.bytes, limitBytes: b.limit },
    });
  }
  return new BoxedError('OutOfMemory', `logits for ${o.slots} sequences (${mb(b.bytes)} MB) exceed this GPU's largest binding (${mb(b.limit)} MB): use fewer parallel solutions`, {
    detail: { neededBytes, limitBytes: b.limit },
  });
}
