// How the prefill GEMM (shaders/matmul-prefill.wgsl) tiles a [rows, K] x [N, K]ᵀ product, per adapter and shape.
// Pure: the kernel, its tests (which check the tilings picked for named GPUs and the 1.5B shapes) and the
// roofline read it. The workgroup-memory index functions are mirrored here (tileIndexX/tileIndexW) so their bank
// pattern can be checked without a GPU.

/** K values one step stages (one q4/q8 scale group). */
export const PREFILL_TK = 32;

/** Workgroups a prefill dispatch should reach when the shape allows: two per SM of a 132-SM GPU. */
export const PREFILL_TARGET_WORKGROUPS = 264;

/** A prefill tiling: WX x WY threads, each computing a 4 x 4 micro-tile, so the output tile is TM x TN = 4*WY x 4*WX. */
export interface PrefillTiling {
  /** threads along N (TN = 4 * wx) */
  wx: number;
  /** threads along rows (TM = 4 * wy) */
  wy: number;
  /** two tile buffers: the next K step is staged while this one is computed (one barrier per step) */
  double: boolean;
  /**
   * the W tile staged as f16 (shader-f16 and a weight whose staged values are exact in f16: q4/q8 integers with
   * their scales kept apart in f32, f16 values); x, the scales and the sums stay f32, nothing is rounded
   */
  wf16: boolean;
}

/** What prefillTiling() needs to know about the adapter. */
export interface PrefillAdapter {
  /** maxComputeInvocationsPerWorkgroup */
  maxInvocations: number;
  /** maxComputeWorkgroupStorageSize in bytes */
  maxStorage: number;
  /** shader-f16 enabled */
  f16: boolean;
  /** a CPU rasterizer (lavapipe, SwiftShader, WARP) */
  fallback: boolean;
}

/** The adapters the prefill tilings are chosen (and tested) for: what their WebGPU devices report. */
export const PREFILL_ADAPTERS: Readonly<Record<'nvidia' | 'amd' | 'intel' | 'apple' | 'lavapipe' | 'swiftshader', PrefillAdapter>> = {
  nvidia: { maxInvocations: 1024, maxStorage: 32768, f16: true, fallback: false },
  amd: { maxInvocations: 1024, maxStorage: 32768, f16: true, fallback: false },
  intel: { maxInvocations: 1024, maxStorage: 32768, f16: true, fallback: false },
  apple: { maxInvocations: 1024, maxStorage: 32768, f16: true, fallback: false },
  lavapipe: { maxInvocations: 1024, maxStorage: 32768, f16: true, fallback: true },
  swiftshader: { maxInvocations: 256, maxStorage: 16384, f16: false, fallback: true },
};

/** The tile shapes, largest first (fewest re-reads of x and W), as (wx, wy). */
const SHAPES: readonly [number, number][] = [
  [16, 16], // 64 x 64
  [16, 8], // TM 32 x TN 64
  [8, 16], // TM 64 x TN 32
  [8, 8], // 32 x 32
];

/** Bytes of workgroup memory a tiling takes: x [TK, TM] f32 and W [TK, TN] f32 or f16 (+ TN f32 scales), once or twice. */
export function prefillStorage(t: PrefillTiling): number {
  const bufs = t.double ? 2 : 1;
  return bufs * (PREFILL_TK * (4 * t.wy * 4 + 4 * t.wx * (t.wf16 ? 2 : 4)) + (t.wf16 ? 4 * t.wx * 4 : 0));
}

/** Workgroups of one prefill dispatch over n weight rows and `rows` rows of x. */
export function prefillWorkgroups(rows: number, n: number, t: PrefillTiling): number {
  return Math.ceil(rows / (4 * t.wy)) * Math.ceil(n / (4 * t.wx));
}

/**
 * Prefill tiling for `rows` (the largest row count a step runs: the prefill chunk) and N weight rows; `f16Exact`:
 * the kernel's staged W values are exact in f16 (q4, q8 and f16 weights without a gain). GPUs: the
 * largest tile whose grid reaches PREFILL_TARGET_WORKGROUPS (tiles of 32 rows when rows <= 32), else the one with
 * the most workgroups (32 x 32), so narrow matrices (o, down) and short chunks still fill the GPU. CPU adapters
 * (a workgroup's invocations are SIMD lanes of one thread, workgroups spread over a few cores): 64 x 64 always,
 * fewest re-reads. Double-buffered where the two buffers fit the adapter's workgroup storage, the W tile f16 on a
 * GPU with shader-f16 when its values are exact in f16; the largest tile that fits a 16 KiB limit is 64 x 64 single.
 */
export function prefillTiling(rows: number, N: number, a: PrefillAdapter, f16Exact: boolean): PrefillTiling {
  // CPU adapters convert each f16 to f32 on every read: slower there (measured on lavapipe), so f32
  const wf16 = a.f16 && f16Exact && !a.fallback;
  const fits = (wx: number, wy: number) => wx * wy <= a.maxInvocations;
  const make = (wx: number, wy: number): PrefillTiling => {
    const t = { wx, wy, double: true, wf16 };
    if (prefillStorage(t) > a.maxStorage) t.double = false;
    return t;
  };
  const shapes = SHAPES.filter(([wx, wy]) => fits(wx, wy) && prefillStorage({ wx, wy, double: false, wf16 }) <= a.maxStorage);
  if (shapes.length === 0) throw new Error(`no prefill tile fits ${a.maxInvocations} invocations and ${a.maxStorage} B of workgroup storage`);
  if (a.fallback) return make(...shapes[0]);
  const usable = rows <= 32 ? shapes.filter(([, wy]) => wy === 8) : shapes;
  const pool = usable.length ? usable : shapes;
  const hit = pool.find(([wx, wy]) => prefillWorkgroups(rows, N, make(wx, wy)) >= PREFILL_TARGET_WORKGROUPS);
  if (hit) return make(...hit);
  let best = pool[0];
  for (const s of pool) if (prefillWorkgroups(rows, N, make(...s)) > prefillWorkgroups(rows, N, make(...best))) best = s;
  return make(...best);
}

// The workgroup-memory layout (twin of xs_at / ws_at in shaders/matmul-prefill.wgsl): both tiles are k-major
// arrays of vec4 (4 rows of x, 4 columns of W), the vec4 index XOR-swizzled with bits of k. Word addresses.

/** Word address of x tile element (kk, m) in buffer b, for a TM-row tile. */
export function tileIndexX(kk: number, m: number, tm: number, b = 0): number {
  const q = (m >> 2) ^ ((kk >> 2) & 7);
  return 4 * (b * PREFILL_TK * (tm / 4) + kk * (tm / 4) + q) + (m & 3);
}

/** Word address of W tile element (kk, n) in buffer b, for a TN-column tile. */
export function tileIndexW(kk: number, n: number, tn: number, b = 0): number {
  const q = (n >> 2) ^ (((kk >> 3) & 3) << 1);
  return 4 * (b * PREFILL_TK * (tn / 4) + kk * (tn / 4) + q) + (n & 3);
}

