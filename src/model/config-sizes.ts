// The four sizes of OpenReasoning-Nemotron, each a fine-tune of the Qwen2.5 model of that size with its
// architecture unchanged. The shapes below are the Qwen2.5 base models' config.json files (Qwen/Qwen2.5-1.5B,
// -7B, -14B, -32B on the Hugging Face hub), checked field by field:
//   1.5B  hidden 1536, intermediate  8960, 28 layers, 12 / 2 heads, vocab 151936, tied head,   rms_norm_eps 1e-6
//   7B    hidden 3584, intermediate 18944, 28 layers, 28 / 4 heads, vocab 152064, untied head, rms_norm_eps 1e-6
//   14B   hidden 5120, intermediate 13824, 48 layers, 40 / 8 heads, vocab 152064, untied head, rms_norm_eps 1e-5
//   32B   hidden 5120, intermediate 27648, 64 layers, 40 / 8 heads, vocab 152064, untied head, rms_norm_eps 1e-5
// All: head_dim = hidden / heads = 128, rope_theta 1e6, max_position_embeddings 131072, bos 151643.
// The scores are the model card's AIME25 pass@1 (nvidia/OpenReasoning-Nemotron-*). This table feeds the start
// screen's picker (memory, download size, fit) before anything is downloaded; the loaded repository's own
// config.json is what the engine runs.
import type { ModelConfig } from './config';
import type { ModelShapeInfo } from '../protocol/engine';
import { expectedTensors } from './weights';

export type ModelSizeId = '1.5B' | '7B' | '14B' | '32B';

export interface ModelSize {
  id: ModelSizeId;
  /** the Hugging Face repository */
  repo: string;
  /** the model card's AIME25 pass@1, in percent */
  aime25: number;
  config: ModelConfig;
}

interface Shape {
  dim: number;
  ffnDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocab: number;
  tiedEmbeddings: boolean;
  normEps: number;
}

function qwen25(s: Shape): ModelConfig {
  const headDim = s.dim / s.nHeads;
  return {
    architecture: 'Qwen2ForCausalLM',
    ...s,
    headDim,
    kvDim: s.nKvHeads * headDim,
    ropeTheta: 1e6,
    maxPositions: 131072,
    torchDtype: 'bfloat16',
    bosTokenId: 151643,
    eosTokenIds: [151645, 151643],
  };
}

export const MODEL_SIZES: readonly ModelSize[] = [
  { id: '1.5B', repo: 'nvidia/OpenReasoning-Nemotron-1.5B', aime25: 45.6, config: qwen25({ dim: 1536, ffnDim: 8960, nLayers: 28, nHeads: 12, nKvHeads: 2, vocab: 151936, tiedEmbeddings: true, normEps: 1e-6 }) },
  { id: '7B', repo: 'nvidia/OpenReasoning-Nemotron-7B', aime25: 61.1, config: qwen25({ dim: 3584, ffnDim: 18944, nLayers: 28, nHeads: 28, nKvHeads: 4, vocab: 152064, tiedEmbeddings: false, normEps: 1e-6 }) },
  { id: '14B', repo: 'nvidia/OpenReasoning-Nemotron-14B', aime25: 71.6, config: qwen25({ dim: 5120, ffnDim: 13824, nLayers: 48, nHeads: 40, nKvHeads: 8, vocab: 152064, tiedEmbeddings: false, normEps: 1e-5 }) },
  { id: '32B', repo: 'nvidia/OpenReasoning-Nemotron-32B', aime25: 73.1, config: qwen25({ dim: 5120, ffnDim: 27648, nLayers: 64, nHeads: 40, nKvHeads: 8, vocab: 152064, tiedEmbeddings: false, normEps: 1e-5 }) },
];

export const DEFAULT_SIZE: ModelSizeId = '1.5B';

export function modelSize(id: ModelSizeId): ModelSize {
  const s = MODEL_SIZES.find((m) => m.id === id);
  if (!s) throw new Error(`unknown model size ${id}`);
  return s;
}

/** The size whose repository this is (case-insensitive), or null. */
export function sizeOfRepo(repo: string): ModelSize | null {
  return MODEL_SIZES.find((m) => m.repo.toLowerCase() === repo.trim().toLowerCase()) ?? null;
}

/** Every value of the checkpoint (matrices, biases, norms), as expectedTensors lists them. */
export function checkpointValues(cfg: ModelConfig): number {
  return expectedTensors(cfg).reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
}

/** Bytes of the checkpoint's tensors as BF16 safetensors (what the hub download is, headers aside). */
export function downloadBytesBf16(cfg: ModelConfig): number {
  return 2 * checkpointValues(cfg);
}

/** The shapes as the engine's protocol names them (ModelInfo.config, a trial allocation's request). */
export function shapeInfo(cfg: ModelConfig): ModelShapeInfo {
  return {
    hiddenSize: cfg.dim,
    layers: cfg.nLayers,
    heads: cfg.nHeads,
    kvHeads: cfg.nKvHeads,
    headDim: cfg.headDim,
    vocabSize: cfg.vocab,
    intermediateSize: cfg.ffnDim,
    tiedEmbeddings: cfg.tiedEmbeddings,
  };
}
