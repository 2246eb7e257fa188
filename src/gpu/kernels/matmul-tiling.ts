// How the decode matvec (shaders/matmul-decode.wgsl) splits a [N, K] weight over workgroups, per adapter.
// Pure: the kernel, its tests (which force the tilings picked for named GPUs) and the roofline read it.

/** Row counts up to this use the matrix-vector path (one weight read per step whatever the rows). */
export const DECODE_MAX_ROWS = 16;

/** Values of a row one lane takes per iteration: 4 blocks of 8, one q4/q8 scale group, one vec4<u32> of q4. */
export const DECODE_UNIT = 32;

/** How the decode shader splits work: WG threads a workgroup, in lane groups of TPR threads owning NR rows each. */
export interface DecodeTiling {
  /** threads a workgroup (power of two) */
  wg: number;
  /** threads sharing one output row (power of two <= wg) */
  tpr: number;
  /** consecutive output rows a lane group owns (even: swiglu pairs) */
  nr: number;
}

/** What decodeTiling() needs to know about the adapter. */
export interface DecodeAdapter {
  /** largest workgroup (min of maxComputeInvocationsPerWorkgroup and maxComputeWorkgroupSizeX) */
  maxWorkgroup: number;
  /** smallest subgroup size when subgroups are enabled, else 0 */
  subgroupMin: number;
  /** a CPU rasterizer (lavapipe, SwiftShader, WARP) */
  fallback: boolean;
}

/** The adapters the tilings are chosen (and tested) for: what their WebGPU adapters report. */
export const NAMED_ADAPTERS: Readonly<Record<'nvidia' | 'amd' | 'intel' | 'apple' | 'lavapipe' | 'swiftshader', DecodeAdapter>> = {
  nvidia: { maxWorkgroup: 1024, subgroupMin: 32, fallback: false },
  amd: { maxWorkgroup: 1024, subgroupMin: 32, fallback: false }, // RDNA: wave32 or wave64
  intel: { maxWorkgroup: 1024, subgroupMin: 8, fallback: false }, // Xe: SIMD8 to SIMD32
  apple: { maxWorkgroup: 1024, subgroupMin: 32, fallback: false },
  lavapipe: { maxWorkgroup: 1024, subgroupMin: 8, fallback: true },
  swiftshader: { maxWorkgroup: 256, subgroupMin: 0, fallback: true },
};

// A lane takes at least this many units of a row (fewer lanes for short rows); at most a subgroup of 32 lanes.
const UNITS_PER_LANE = 2;
const MAX_TPR = 32;
// units a lane may take in sequence before a row is split over more lanes than a subgroup
const MAX_LANE_CHAIN = 8;
/** Rows of one workgroup at most with the RoPE epilogue (it stages them in workgroup memory). */
const QUAD_MAX_ROWS = 128;
// Rows a lane owns on a CPU adapter: one pass of the shader's 4-row loop, so each x block a lane loads (a
// broadcast of the same address to every SIMD lane) serves 4 output rows; NR 4 beat NR 2 and NR 8 on lavapipe's
// tied LM heads (kernels.bench: 151936 x 64 and x 256, 1 and 8 rows).
const CPU_ROWS_PER_LANE = 4;
/** Workgroups a dispatch should reach when the shape allows: two per SM of a 132-SM GPU. */
export const DECODE_TARGET_WORKGROUPS = 264;

/** Workgroups of one dispatch over n weight rows. */
export function decodeWorkgroups(n: number, t: DecodeTiling): number {
  return Math.ceil(n / ((t.nr * t.wg) / t.tpr));
}

/**
 * Decode tiling for a [N, K] weight. GPUs: TPR from K (<= 32, within one subgroup so the reduction is shuffles
 * only, unless a lane would then take more than MAX_LANE_CHAIN units in sequence), then fewer rows per workgroup (NR 1, smaller workgroups, down to 64 threads) until the dispatch has
 * DECODE_TARGET_WORKGROUPS, so narrow matrices (down, o) still fill a large GPU. CPU adapters run a workgroup's
 * invocations as SIMD lanes of one thread: there one lane per 4 rows is fastest (every x read is the same address
 * for all lanes and serves 4 rows, no reduction, no barrier). `quads` (the RoPE epilogue, shaders/rope-epilogue.wgsl, which takes
 * aligned runs of 4 output rows from workgroup memory) makes a workgroup's rows a multiple of 4.
 */
export function decodeTiling(K: number, N: number, a: DecodeAdapter, swiglu = false, quads = false): DecodeTiling {
  const t = pickTiling(K, N, a, swiglu);
  if (!quads) return t;
  // the epilogue stages the workgroup's rows x 16 x-rows in workgroup memory: at most 128 rows (8 KiB)
  while ((t.nr * t.wg) / t.tpr > QUAD_MAX_ROWS && t.wg / 2 >= t.tpr) t.wg /= 2;
  while (((t.nr * t.wg) / t.tpr) % 4 !== 0) t.nr *= 2;
  return t;
}

function pickTiling(K: number, N: number, a: DecodeAdapter, swiglu: boolean): DecodeTiling {
  const pow2floor = (v: number) => 2 ** Math.floor(Math.log2(Math.max(1, v)));
  if (a.fallback) return { wg: pow2floor(Math.min(64, a.maxWorkgroup)), tpr: 1, nr: CPU_ROWS_PER_LANE };
  const units = Math.ceil(K / DECODE_UNIT);
  let wg = pow2floor(Math.min(256, a.maxWorkgroup));
  let tpr = Math.min(pow2floor(units / UNITS_PER_LANE), MAX_TPR, wg);
  // within one subgroup (a shuffle-only reduction) unless that leaves a lane a long chain of loads: then
  // across subgroups, through workgroup memory (Intel's 8-wide subgroups on long rows such as `down`)
  if (a.subgroupMin > 0 && tpr > a.subgroupMin && units / a.subgroupMin <= MAX_LANE_CHAIN) tpr = a.subgroupMin;
  const t = { wg, tpr, nr: 2 };
  if (!swiglu && decodeWorkgroups(N, t) < DECODE_TARGET_WORKGROUPS) t.nr = 1;
  while (decodeWorkgroups(N, t) < DECODE_TARGET_WORKGROUPS && wg > 64 && wg / 2 >= tpr) {
    wg /= 2;
    t.wg = wg;
  }
  return t;
}
