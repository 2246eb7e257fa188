// A rough memory need for the default model before any file is read, so the start screen can warn.
// Uses Qwen2.5-1.5B's published shapes; the real plan (ModelInfo.memory) replaces it after loading.
import type { WeightFormat } from '../protocol/engine';

const PARAMS_1_5B = 1.544e9;
const LAYERS = 28;
const KV_WIDTH = 256;
/** Bytes per weight including per-block scales (group size 32 with an f16 scale). */
const BYTES_PER_WEIGHT: Record<WeightFormat, number> = { q4: 0.5 + 2 / 32, q8: 1 + 2 / 32, f16: 2, f32: 4 };

/** `slots`: sequences decoded at once (heavy mode holds one KV cache of `context` positions per solution). */
export function estimateMemory(weights: WeightFormat, context: number, slots = 1): { weights: number; kvCache: number; total: number } {
  const w = PARAMS_1_5B * BYTES_PER_WEIGHT[weights];
  const kv = slots * context * LAYERS * 2 * KV_WIDTH * 2; // K and V, f16
  return { weights: w, kvCache: kv, total: w + kv + 64 * 1024 * 1024 };
}
