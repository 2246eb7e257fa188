// The lists of modes and storage formats, each kept here once; their types are derived from them. Every
// other file that needs one of these lists imports it from here.

/** Every generation mode, in the order the UI lists them ('raw' last; the app does not offer it). */
export const MODE_LIST = ['math', 'code', 'science4', 'science10', 'science-open', 'chat', 'raw'] as const;
export type Mode = (typeof MODE_LIST)[number];

/** How weights are stored on the GPU, smallest first; 'q4' is the default. */
export const WEIGHT_FORMATS = ['q4', 'q8', 'f16', 'f32'] as const;
export type WeightFormat = (typeof WEIGHT_FORMATS)[number];

/** How the KV cache is stored; 'f16' is the default; 'q8': int8 values with an f32 scale per (position, KV head). */
export const KV_FORMATS = ['f16', 'f32', 'q8'] as const;
export type KvFormat = (typeof KV_FORMATS)[number];

/** The most heavy-mode candidates decoded at once on this GPU (the batched engine's rows per step). */
export const GPU_MAX_SAMPLES = 16;
/** The most heavy-mode candidates on an OpenAI-compatible server (through `n`, several requests). */
export const SERVER_MAX_SAMPLES = 64;

/**
 * The ranges the app accepts for sampling and lengths, [lowest, highest]: the settings are clamped into them
 * and a share link outside them is refused.
 */
export const SETTING_RANGES = {
  temperature: [0, 2],
  topP: [0.01, 1],
  topK: [0, 1000],
  seed: [0, 2 ** 31 - 1],
  maxTokens: [1, 65_536],
  context: [256, 131_072],
} as const;
