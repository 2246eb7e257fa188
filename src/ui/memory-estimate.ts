// A memory need before any weight is read, so the start screen can warn: from the named repository's
// config.json when it could be read (use-memory-estimate.ts), else from Qwen2.5-1.5B's published shapes.
// The real plan (ModelInfo.memory) replaces it after loading.
import type { ModelConfig } from '../model/config';
import type { WeightFormat } from '../protocol/engine';

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
