// A memory need before any weight is read, so the start screen can warn: from the named repository's
// config.json when it could be read (use-memory-estimate.ts), else from Qwen2.5-1.5B's published shapes.
// The real plan (ModelInfo.memory) replaces it after loading.
import type { ModelConfig } from '../model/config';
import type { GpuReport, WeightFormat } from '../protocol/engine';
import type { Settings } from '../state/settings';

export type ModelShape = Pick<ModelConfig, 'dim' | 'ffnDim' | 'nLayers' | 'nHeads' | 'headDim' | 'kvDim' | 'vocab' | 'tiedEmbeddings'>;

/** Qwen2.5-1.5B (and OpenReasoning-Nemotron-1.5B), used until a repository's own config.json is read. */
export const DEFAULT_SHAPE: ModelShape = { dim: 1536, ffnDim: 8960, nLayers: 28, nHeads: 12, headDim: 128, kvDim: 256, vocab: 151936, tiedEmbeddings: true };

/** Bytes per stored weight: q4 and q8 keep one f32 scale per group of 32 values. */
const BYTES_PER_WEIGHT: Record<WeightFormat, number> = { q4: 0.5 + 4 / 32, q8: 1 + 4 / 32, f16: 2, f32: 4 };
/** The KV cache is f16: 2 bytes a value. */
const KV_BYTES = 2;
/** Activations and staging buffers, roughly. */
const OVERHEAD = 64 * 1024 * 1024;

/** The matrix weights of a Qwen2 model of this shape (embedding, layers, an untied LM head). */
export function parameterCount(s: ModelShape): number {
  const qDim = s.nHeads * s.headDim;
  const layer = s.dim * (qDim + 2 * s.kvDim) + qDim * s.dim + 3 * s.dim * s.ffnDim;
  const embedding = s.vocab * s.dim;
  return embedding * (s.tiedEmbeddings ? 1 : 2) + s.nLayers * layer;
}

/** `slots`: sequences decoded at once (heavy mode holds one KV cache of `context` positions per solution). */
export function estimateMemory(shape: ModelShape, weights: WeightFormat, context: number, slots = 1): { weights: number; kvCache: number; total: number } {
  const w = parameterCount(shape) * BYTES_PER_WEIGHT[weights];
  const kv = slots * context * shape.nLayers * 2 * shape.kvDim * KV_BYTES; // K and V
  return { weights: w, kvCache: kv, total: w + kv + OVERHEAD };
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

export function fitVerdict(shape: ModelShape, weights: WeightFormat, context: number, slots: number, gpu: AdapterFacts): FitVerdict {
  const { maxBufferSize, maxStorageBufferBindingSize: binding } = gpu.limits;
  const limit = Math.min(maxBufferSize, binding);
  const kvLayer = slots * context * shape.kvDim * KV_BYTES;
  if (kvLayer > limit) {
    return { kind: 'no', text: `This GPU cannot hold it at this context: one layer's KV cache is ${gb(kvLayer)}, more than its largest buffer (${gb(limit)}). Use a shorter context.` };
  }
  const logits = slots * shape.vocab * 4;
  if (logits > binding) return { kind: 'no', text: `This GPU cannot hold it: the logits of ${slots} solutions (${gb(logits)}) exceed its largest binding (${gb(binding)}).` };
  const total = estimateMemory(shape, weights, context, slots).total;
  const unified = gpu.adapter.vendor.toLowerCase() === 'apple';
  const maybe = unified ? FIT_THRESHOLDS.maybeUnified : FIT_THRESHOLDS.maybe;
  if (total <= FIT_THRESHOLDS.likely) return { kind: 'likely', text: `Probably fits: about ${gb(total)}, which most GPUs have (browsers do not say how much this one has).` };
  if (total <= maybe) {
    return { kind: 'maybe', text: `Fits only a GPU with more than ${gb(total)} of memory${unified ? ' (on a Mac, shared with the system)' : ''}; browsers do not say how much this one has. The trial allocation below tells before the download.` };
  }
  return { kind: 'unlikely', text: `This GPU probably cannot hold it: about ${gb(total)} is more than ${unified ? 'a Mac' : 'a graphics card'} usually has. Use a server instead.` };
}

export interface MemoryEstimate {
  weights: number;
  kvCache: number;
  total: number;
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
  s: Pick<Settings, 'weights' | 'context' | 'samples' | 'file'>,
  ggufBytes: number | null,
): MemoryEstimate {
  const e = estimateMemory(shape ?? DEFAULT_SHAPE, s.weights, s.context, s.samples);
  const named = from ? from.split('/').pop()! : 'a model of the 1.5B size';
  if (s.file && ggufBytes !== null) {
    const weights = ggufBytes;
    return { weights, kvCache: e.kvCache, total: e.total - e.weights + weights, from, subject: s.file.split('/').pop()! };
  }
  return { ...e, from, subject: s.file ? `${named} (the .gguf file's size is not listed yet)` : named };
}
