// A memory need before any weight is read, so the start screen can warn: from the named repository's
// config.json when it could be read (use-memory-estimate.ts), else from Qwen2.5-1.5B's published shapes.
// The numbers are the engine's own memory plan (src/model/memory-plan.ts) for those shapes, with the chosen KV
// format (f16 unless told) and the engine's default prefill chunk; the loaded model's plan (ModelInfo.memory)
// replaces it after loading.
import type { GpuReport, KvFormat, MemoryPlan, WeightFormat } from '../protocol/engine';
import { DEFAULT_PREFILL_CHUNK, limitBreach, planMemory, type PlanShape } from '../model/memory-plan';
import { DEFAULT_SIZE, modelSize } from '../model/config-sizes';
import type { Settings } from '../state/settings';

export type ModelShape = PlanShape;

/** Qwen2.5-1.5B (and OpenReasoning-Nemotron-1.5B), from the size table: used until a repository's own config.json is read. */
export const DEFAULT_SHAPE: ModelShape = modelSize(DEFAULT_SIZE).config;

/** The KV cache format the engine loads with unless told otherwise. */
const DEFAULT_KV: KvFormat = 'f16';

/** The matrix weights of a Qwen2 model of this shape (embedding, layers, an untied LM head). */
export function parameterCount(s: ModelShape): number {
  const qDim = s.nHeads * s.headDim;
  const layer = s.dim * (qDim + 2 * s.kvDim) + qDim * s.dim + 3 * s.dim * s.ffnDim;
  const embedding = s.vocab * s.dim;
  return embedding * (s.tiedEmbeddings ? 1 : 2) + s.nLayers * layer;
}

/** `slots`: sequences decoded at once (heavy mode holds one KV cache of `context` positions per solution). */
export function estimateMemory(shape: ModelShape, weights: WeightFormat, context: number, slots = 1, kv: KvFormat = DEFAULT_KV): MemoryPlan {
  return planMemory(shape, { weights, kv, context, slots, chunk: DEFAULT_PREFILL_CHUNK });
}

/**
 * How likely a model of this shape fits this adapter at these settings. Only the buffer limits are known
 * for certain (WebGPU reports them); how much memory the GPU has is not exposed, so the rest is a judgment
 * from the total against what GPUs usually have:
 *   'no'        a buffer the load needs exceeds this adapter's limits (one layer's KV cache, or the logits)
 *   'likely'    up to 6 GiB: GPUs of the last years have 8 GB or more; integrated ones share system memory
 *   'maybe'     up to 22 GiB (the 24 GB cards, less what the desktop holds), or up to 96 GiB on Apple's
 *               unified memory: only a GPU that large holds it; the trial allocation tells
 *   'unlikely'  more than that: use a server
 */
export type FitKind = 'no' | 'likely' | 'maybe' | 'unlikely';

export interface FitVerdict {
  kind: FitKind;
  text: string;
}

const GIB = 1024 ** 3;
export const FIT_THRESHOLDS = { likely: 6 * GIB, maybe: 22 * GIB, maybeUnified: 96 * GIB } as const;

export interface AdapterFacts {
  limits: Pick<GpuReport['limits'], 'maxBufferSize' | 'maxStorageBufferBindingSize'>;
  adapter: Pick<GpuReport['adapter'], 'vendor' | 'isFallback'>;
}

const gb = (b: number) => `${(b / 1e9).toFixed(b < 100e9 ? 1 : 0)} GB`;

export function fitVerdict(shape: ModelShape, weights: WeightFormat, context: number, slots: number, gpu: AdapterFacts, kv: KvFormat = DEFAULT_KV): FitVerdict {
  const breach = limitBreach(shape, { kv, context, slots }, gpu.limits);
  if (breach?.what === 'kvLayer') {
    return { kind: 'no', text: `This GPU cannot hold it at this context: one layer's KV cache is ${gb(breach.bytes)}, more than its largest buffer (${gb(breach.limit)}). Use a shorter context.` };
  }
  if (breach) return { kind: 'no', text: `This GPU cannot hold it: the logits of ${slots} solutions (${gb(breach.bytes)}) exceed its largest binding (${gb(breach.limit)}).` };
  const total = estimateMemory(shape, weights, context, slots, kv).total;
  const unified = gpu.adapter.vendor.toLowerCase() === 'apple';
  const maybe = unified ? FIT_THRESHOLDS.maybeUnified : FIT_THRESHOLDS.maybe;
  if (total <= FIT_THRESHOLDS.likely) return { kind: 'likely', text: `Probably fits: about ${gb(total)}, which most GPUs have (browsers do not say how much this one has).` };
  if (total <= maybe) {
    return { kind: 'maybe', text: `Fits only a GPU with more than ${gb(total)} of memory${unified ? ' (on a Mac, shared with the system)' : ''}; browsers do not say how much this one has. The trial allocation below tells before the download.` };
  }
  return { kind: 'unlikely', text: `This GPU probably cannot hold it: about ${gb(total)} is more than ${unified ? 'a Mac' : 'a graphics card'} usually has. Use a server instead.` };
}

/** The memory plan for the shapes (weights, KV cache, activations, total), and what it is for. */
export interface MemoryEstimate extends MemoryPlan {
  /** The repository whose config.json gave the shapes, or null for the 1.5B defaults. */
  from: string | null;
  /** What the figure is for, in words: the .gguf file, the repository, or "a model of the 1.5B size". */
  subject: string;
}

/**
 * The estimate for these shapes (null: the 1.5B's) and settings. `ggufBytes`: the chosen .gguf file's size,
 * which then stands for the weights (the file's metadata is a small part of it).
 */
export function memoryEstimateFor(
  shape: ModelShape | null,
  from: string | null,
  s: Pick<Settings, 'weights' | 'context' | 'samples' | 'file'> & Partial<Pick<Settings, 'kv'>>,
  ggufBytes: number | null,
): MemoryEstimate {
  const e = estimateMemory(shape ?? DEFAULT_SHAPE, s.weights, s.context, s.samples, s.kv);
  const named = from ? from.split('/').pop()! : 'a model of the 1.5B size';
  if (s.file && ggufBytes !== null) {
    const weights = ggufBytes;
    return { ...e, weights, total: e.total - e.weights + weights, from, subject: s.file.split('/').pop()! };
  }
  return { ...e, from, subject: s.file ? `${named} (the .gguf file's size is not listed yet)` : named };
}
