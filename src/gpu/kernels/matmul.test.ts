import { describe, it, expect, beforeAll } from 'vitest';
import { nodeContext, PROFILES } from '../test-device';
import { GpuContext } from '../context';
import { uploadBuffer, createBuffer, readF32 } from '../buffers';
import { uploadWeight, destroyWeight, type GpuWeight } from '../weights';
import { MatmulKernel, DECODE_MAX_ROWS, type MatmulOptions } from './matmul';
import { PREFILL_ADAPTERS, PREFILL_TK, prefillStorage, prefillTiling, prefillWorkgroups, tileIndexW, tileIndexX, type PrefillTiling } from './prefill-tiling';
import { packWeight, dequantize, type WeightFormat } from '../../loader/quant';
import { matmul, matmulFused } from '../../cpu/matmul';
import { randomNormal } from '../../cpu/random';
import { assertClose, maxAbs } from '../../cpu/compare';

interface Case {
  rows: number;
  K: number;
  N: number;
  format: WeightFormat;
  bias?: boolean;
  residual?: boolean;
  norm?: boolean;
  swiglu?: boolean;
  /** kernel maxRows (default rows): larger checks that rows past `rows` are left alone */
  maxRows?: number;
  /** force a prefill tiling instead of the adapter's */
  tiling?: PrefillTiling;
}

const EPS = 1e-6;

/** The oracle: the fused matmul's CPU twin on the exact dequantized weight. */
function reference(c: Case, x: Float32Array, w: Float32Array, b: Float32Array | undefined, y0: Float32Array): Float32Array {
  return matmulFused(x, w, c.rows, c.K, c.N, { bias: b, normEps: c.norm ? EPS : undefined, swiglu: c.swiglu, residual: c.residual ? y0 : undefined });
}

interface Run {
  got: Float32Array;
  /** y rows past `rows` (must be untouched) */
  tail: Float32Array;
  want: Float32Array;
  wOrig: Float32Array;
  x: Float32Array;
  y0: Float32Array;
  bias?: Float32Array;
  /** the prefill W tile was f16 */
  wf16: boolean;
}

async function run(ctx: GpuContext, c: Case, seed: number): Promise<Run> {
  const maxRows = c.maxRows ?? c.rows;
  const outW = c.swiglu ? c.N / 2 : c.N;
  const wOrig = randomNormal(c.N * c.K, seed, 0.3);
  const packed = packWeight(wOrig, c.N, c.K, c.format);
  const x = randomNormal(maxRows * c.K, seed + 1);
  const y0 = randomNormal(maxRows * outW, seed + 2);
  const bias = c.bias ? randomNormal(c.N, seed + 3) : undefined;
  const opts: MatmulOptions = {
    N: c.N,
    K: c.K,
    format: c.format,
    bias: c.bias,
    residual: c.residual,
    norm: c.norm ? { eps: EPS } : undefined,
    swiglu: c.swiglu,
    maxRows,
    label: 'test',
    prefillTiling: c.tiling,
  };
  const kernel = new MatmulKernel(ctx, opts);
  await ctx.pipelines.compile(); // the kernel's pipelines, asynchronously
  const w = uploadWeight(ctx, 'w', packed);
  const xb = uploadBuffer(ctx, 'x', x);
  const yb = uploadBuffer(ctx, 'y', y0);
  const bb = bias ? uploadBuffer(ctx, 'bias', bias) : undefined;
  const bound = kernel.bind(w, xb, yb, bb);
  const before = ctx.stats.dispatches;
  const enc = ctx.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  kernel.encode(pass, bound, c.rows);
  pass.end();
  ctx.submit([enc.finish()]);
  expect(ctx.stats.dispatches - before).toBe(w.chunks.length);
  const all = await readF32(ctx, yb, maxRows * outW);
  destroyWeight(w);
  for (const buf of [xb, yb, bb, bound.params]) buf?.destroy();
  const wf16 = c.rows > DECODE_MAX_ROWS && Boolean(kernel.prefillTilingUsed?.wf16);
  return {
    wf16,
    got: all.slice(0, c.rows * outW),
    tail: all.slice(c.rows * outW),
    want: reference(c, x, dequantize(packed), bias, y0),
    wOrig,
    x,
    y0,
    bias,
  };
}

function title(c: Case): string {
  const flags = ['bias', 'residual', 'norm', 'swiglu'].filter((f) => c[f as keyof Case]).join('+') || 'plain';
  return `${c.rows <= DECODE_MAX_ROWS ? 'decode' : 'prefill'} rows=${c.rows}${c.maxRows ? `/${c.maxRows}` : ''} K=${c.K} N=${c.N} ${c.format} ${flags}`;
}

// A representative grid on awkward (non-tile-multiple) shapes: five kernel variants (format x epilogues,
// together covering every format and every epilogue), each run on the decode and the prefill path, so a
// profile compiles only ten matmul pipelines (lavapipe compiles each for seconds on a cold cache).
const CASES: Case[] = [
  // decode
  { rows: 1, K: 333, N: 45, format: 'q4', bias: true, norm: true, residual: true },
  { rows: 2, K: 100, N: 258, format: 'q8', bias: true, norm: true, swiglu: true, maxRows: 3 },
  { rows: 3, K: 1000, N: 45, format: 'f16', bias: true, residual: true },
  { rows: 3, K: 333, N: 46, format: 'f32', norm: true, swiglu: true },
  { rows: 2, K: 2500, N: 7, format: 'q4' },
  { rows: 4, K: 100, N: 257, format: 'q4', bias: true, norm: true, residual: true },
  // prefill
  { rows: 37, K: 1000, N: 257, format: 'q4', bias: true, norm: true, residual: true, maxRows: 70 },
  { rows: 5, K: 333, N: 46, format: 'q8', bias: true, norm: true, swiglu: true },
  { rows: 70, K: 100, N: 130, format: 'f16', bias: true, residual: true },
  { rows: 37, K: 333, N: 46, format: 'f32', norm: true, swiglu: true },
  { rows: 70, K: 333, N: 257, format: 'q4' },
];

/** The variant each format's quantization-error and chunk checks reuse (already compiled by CASES). */
const VARIANT: Record<WeightFormat, Pick<Case, 'bias' | 'norm' | 'residual' | 'swiglu'>> = {
  q4: { bias: true, norm: true, residual: true },
  q8: { bias: true, norm: true, swiglu: true },
  f16: { bias: true, residual: true },
  f32: { norm: true, swiglu: true },
};

describe.each(Object.entries(PROFILES))('matmul on the %s profile', (_name, profile) => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await nodeContext(profile);
  });

  it.each(CASES.map((c) => [title(c), c] as const))('%s matches the CPU oracle on the dequantized weight', async (_t, c) => {
    const r = await run(ctx, c, c.rows * 7919 + c.K * 31 + c.N);
    assertClose(r.got, r.want, 1e-4 * maxAbs(r.want), 1e-4, title(c));
    // rows past `rows` are untouched
    const outW = c.swiglu ? c.N / 2 : c.N;
    expect(Array.from(r.tail)).toEqual(Array.from(r.y0.slice(c.rows * outW)));
  });

  it('one binding serves prefill and decode row counts recorded in the same pass', async () => {
    const K = 200;
    const N = 67;
    const maxRows = 40;
    const wOrig = randomNormal(N * K, 5, 0.3);
    const packed = packWeight(wOrig, N, K, 'q4');
    const wd = dequantize(packed);
    const kernel = new MatmulKernel(ctx, { N, K, format: 'q4', maxRows, label: 'both' });
    await ctx.pipelines.compile(); // the kernel's pipelines, asynchronously
    const w = uploadWeight(ctx, 'w', packed);
    const x1 = randomNormal(maxRows * K, 6);
    const x2 = randomNormal(maxRows * K, 7);
    const [x1b, x2b] = [uploadBuffer(ctx, 'x1', x1), uploadBuffer(ctx, 'x2', x2)];
    const [y1b, y2b] = [createBuffer(ctx, 'y1', maxRows * N * 4), createBuffer(ctx, 'y2', maxRows * N * 4)];
    const created = ctx.pipelines.created;
    const b1 = kernel.bind(w, x1b, y1b);
    const b2 = kernel.bind(w, x2b, y2b);
    const enc = ctx.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    kernel.encode(pass, b1, 37);
    kernel.encode(pass, b2, 3);
    kernel.encode(pass, b1, 29); // rows 0..28 again (same values), after a different count
    pass.end();
    ctx.submit([enc.finish()]);
    expect(ctx.pipelines.created).toBe(created); // bind/encode build no pipelines
    const want1 = matmul(x1, wd, 37, K, N);
    const want2 = matmul(x2, wd, 3, K, N);
    assertClose(await readF32(ctx, y1b, 37 * N), want1, 1e-4 * maxAbs(want1), 1e-4, 'prefill rows');
    assertClose(await readF32(ctx, y2b, 3 * N), want2, 1e-4 * maxAbs(want2), 1e-4, 'decode rows');
    destroyWeight(w);
  });

  // The other tile shapes and the single-buffered path (the default above: 64 x 64 double-buffered), f16 W tile
  // where the profile has shader-f16; rows and N multiples of no tile side.
  it.each([
    [{ wx: 8, wy: 8, double: true, wf16: true }, 37, 257],
    [{ wx: 16, wy: 8, double: false, wf16: true }, 70, 130],
    [{ wx: 8, wy: 16, double: true, wf16: false }, 70, 257],
  ] as [PrefillTiling, number, number][])('prefill tiling %o on rows=%i K=1000 N=%i q4 matches the CPU oracle', async (tiling, rows, N) => {
    const c: Case = { rows, K: 1000, N, format: 'q4', ...VARIANT.q4, maxRows: rows + 5, tiling };
    const r = await run(ctx, c, rows * 13 + N);
    expect(r.wf16).toBe(tiling.wf16 && ctx.caps.shaderF16);
    assertClose(r.got, r.want, 1e-4 * maxAbs(r.want), 1e-4, title(c));
    expect(Array.from(r.tail)).toEqual(Array.from(r.y0.slice(c.rows * N)));
  });

  it('rejects mismatched weights, buffers and row counts with typed errors', () => {
    const kernel = new MatmulKernel(ctx, { N: 8, K: 32, format: 'q4', maxRows: 2, label: 'bad' });
    const w = uploadWeight(ctx, 'w', packWeight(randomNormal(8 * 40, 1), 8, 40, 'q8'));
    const x = createBuffer(ctx, 'x', 2 * 32 * 4);
    const y = createBuffer(ctx, 'y', 2 * 8 * 4);
    expect(() => kernel.bind(w, x, y)).toThrow(/kernel wants q4 \[8, 32\]/);
    expect(() => new MatmulKernel(ctx, { N: 7, K: 32, format: 'q4', swiglu: true, maxRows: 1, label: 'odd' })).toThrow(/even N/);
    const w2 = uploadWeight(ctx, 'w2', packWeight(randomNormal(8 * 32, 1), 8, 32, 'q4'));
    const b = kernel.bind(w2, x, y);
    const pass = ctx.device.createCommandEncoder().beginComputePass();
    expect(() => kernel.encode(pass, b, 3)).toThrow(/rows 3 outside/);
    pass.end();
    destroyWeight(w);
    destroyWeight(w2);
  });
});

describe('matmul against the original f32 weight (quantization error, full profile)', () => {
  // ‖y - y_f32‖ / ‖y_f32 - residual‖ bounds per format with its VARIANT epilogues, weights ~ N(0, 0.3²),
  // K = 1000 (measured: q4 0.10-0.11, q8 0.011 through swiglu, f16 2.4e-4, f32 1.3e-6)
  const bounds: [WeightFormat, number][] = [
    ['q4', 0.15],
    ['q8', 0.02],
    ['f16', 1e-3],
    ['f32', 1e-5],
  ];
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await nodeContext(PROFILES.full);
  });
  it.each(bounds)('%s relative error below %f (decode and prefill)', async (format, bound) => {
    for (const rows of [2, 9]) {
      const c: Case = { rows, K: 1000, N: 46, format, ...VARIANT[format] };
      const r = await run(ctx, c, 99 + rows);
      const exact = reference(c, r.x, r.wOrig, r.bias, r.y0);
      const rel = contributionError(c, r, exact);
      expect(rel).toBeLessThan(bound);
      if (format !== 'f32') expect(rel).toBeGreaterThan(bound / 1000); // quantization did happen
    }
  });
});

/** ‖got − exact‖ / ‖exact − residual input‖: the error relative to the matmul's own contribution. */
function contributionError(c: Case, r: { got: Float32Array; y0: Float32Array }, exact: Float32Array): number {
  const base = c.residual ? r.y0.slice(0, exact.length) : new Float32Array(exact.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < exact.length; i++) {
    num += (r.got[i] - exact[i]) ** 2;
    den += (exact[i] - base[i]) ** 2;
  }
  return Math.sqrt(num / den);
}

describe('the f16 W tile of the prefill path against the f32 one (full profile)', () => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await nodeContext(PROFILES.full);
  });
  // ‖y - y_exact‖ / ‖y_exact - residual‖ against the exact dequantized weight, rows 37 K 1000 N 46: the f16 tile
  // rounds nothing (q8 stages its integers, the scale applied in f32 after each step; f16 values are f16), so both
  // tiles are at the f32 sums' rounding (lavapipe: q8 7.6e-7 f32 tile, 4.5e-7 f16 tile; f16 5.5e-7, bit for bit the
  // same). Rounding s * q to f16 would be ~3e-4 for q8, over the model prefill test's 2e-4.
  it.each([
    ['q8', 1e-5],
    ['f16', 1e-5],
  ] as [WeightFormat, number][])('%s: the f16 tile is as exact as the f32 one (within %f)', async (format, bound) => {
    const rel = async (wf16: boolean) => {
      const c: Case = { rows: 37, K: 1000, N: 46, format, ...VARIANT[format], tiling: { wx: 16, wy: 16, double: true, wf16 } };
      const r = await run(ctx, c, 4242);
      const exact = reference(c, r.x, dequantize(packWeight(r.wOrig, c.N, c.K, format)), r.bias, r.y0);
      return { wf16: r.wf16, rel: contributionError(c, r, exact) };
    };
    const f32 = await rel(false);
    const f16 = await rel(true);
    expect(f32.wf16).toBe(false);
    expect(f16.wf16).toBe(ctx.caps.shaderF16);
    expect(f32.rel).toBeLessThan(1e-5);
    expect(f16.rel).toBeLessThan(bound);
    console.log(`prefill ${format}: relative error f32 tile ${f32.rel.toExponential(2)}, f16 tile ${f16.rel.toExponential(2)}`);
    if (format === 'f16') expect(f16.rel).toBe(f32.rel);
  });
});

describe('weight chunks (bindings capped at 64 KiB) and folded grids (3 workgroups per dimension)', () => {
  let ctx: GpuContext;
  beforeAll(async () => {
    const base = await nodeContext(PROFILES.weak);
    // Dawn raises requested limits below the WebGPU defaults back to the defaults, so cap the caps the kernels
    // read (ctx.dispatch also checks its counts against these).
    const caps = { ...base.caps, limits: { ...base.caps.limits, maxStorageBufferBindingSize: 64 * 1024, maxComputeWorkgroupsPerDimension: 3 } };
    ctx = new GpuContext({ ...base.boxed, caps });
  });

  it.each([
    [{ rows: 2, K: 1000, N: 600, format: 'q4', ...VARIANT.q4 }, 6], // 576 B rows (4 superblocks of 144 B): 112 a chunk
    [{ rows: 37, K: 1000, N: 600, format: 'q8', ...VARIANT.q8 }, 10], // 1 KiB rows: 64 a chunk
    [{ rows: 3, K: 333, N: 258, format: 'f32', ...VARIANT.f32 }, 6], // 1332 B rows: 48 a chunk
    [{ rows: 70, K: 333, N: 257, format: 'f16', ...VARIANT.f16 }, 3], // 668 B rows: 98 a chunk; 2 x 2 tiles fold to 2 x 2
  ] as [Case, number][])('%o splits into %i chunks and stays exact', async (c, chunks) => {
    const packed = packWeight(randomNormal(c.N * c.K, 3), c.N, c.K, c.format);
    const w: GpuWeight = uploadWeight(ctx, 'w', packed);
    expect(w.chunks.length).toBe(chunks);
    destroyWeight(w);
    const r = await run(ctx, c, 1234 + c.rows);
    assertClose(r.got, r.want, 1e-4 * maxAbs(r.want), 1e-4, title(c));
  });
});

describe('prefillTiling (pure)', () => {
  const tile = (t: PrefillTiling) => `${4 * t.wy}x${4 * t.wx}${t.double ? ' double' : ''}${t.wf16 ? ' f16' : ''}`;
  // the 1.5B's prefill matrices: qkv [2048, 1536], o [1536, 1536], gate/up interleaved [17920, 1536], down [1536, 8960]
  const shapes: [string, number][] = [['qkv', 2048], ['o', 1536], ['gateUp', 17920], ['down', 1536]];
  const picks = (a: keyof typeof PREFILL_ADAPTERS, rows: number) => shapes.map(([, N]) => tile(prefillTiling(rows, N, PREFILL_ADAPTERS[a], true)));

  it('fills a discrete GPU: smaller tiles for the narrow matrices and short chunks, 64 x 64 where the grid is large', () => {
    for (const a of ['nvidia', 'amd', 'intel', 'apple'] as const) {
      expect(picks(a, 128)).toEqual(['32x32 double f16', '32x32 double f16', '64x64 double f16', '32x32 double f16']);
      expect(picks(a, 512)).toEqual(['32x64 double f16', '32x64 double f16', '64x64 double f16', '32x64 double f16']);
      for (const rows of [128, 512]) {
        for (const [, N] of shapes) expect(prefillWorkgroups(rows, N, prefillTiling(rows, N, PREFILL_ADAPTERS[a], true))).toBeGreaterThanOrEqual(192);
      }
    }
    // what 64 x 64 alone gave an H200's 132 SMs at a 128-row chunk: 64 (qkv) and 48 (o, down) workgroups
    expect(prefillWorkgroups(128, 1536, { wx: 16, wy: 16, double: true, wf16: true })).toBe(48);
    // chunks of at most 32 rows get 32-row tiles; f32 weights keep an f32 tile
    expect(prefillTiling(20, 2048, PREFILL_ADAPTERS.nvidia, true)).toEqual({ wx: 8, wy: 8, double: true, wf16: true });
    expect(prefillTiling(512, 17920, PREFILL_ADAPTERS.nvidia, false)).toEqual({ wx: 16, wy: 16, double: true, wf16: false });
  });

  it('keeps 64 x 64 f32 tiles on CPU adapters, single-buffered where workgroup storage is 16 KiB', () => {
    for (const rows of [128, 512]) {
      expect(picks('lavapipe', rows)).toEqual(Array(4).fill('64x64 double')); // f16 reads are slower on a CPU
      expect(picks('swiftshader', rows)).toEqual(Array(4).fill('64x64'));
    }
    // the LM head (151936 x 1536) runs the last row only: the decode path; were it a prefill, 64 x 64
    expect(tile(prefillTiling(128, 151936, PREFILL_ADAPTERS.nvidia, true))).toBe('64x64 double f16');
  });

  it('fits every adapter\'s limits', () => {
    expect(prefillStorage({ wx: 16, wy: 16, double: true, wf16: false })).toBe(32768);
    expect(prefillStorage({ wx: 16, wy: 16, double: true, wf16: true })).toBe(24576 + 512); // + the W rows' scales
    expect(prefillStorage({ wx: 16, wy: 16, double: false, wf16: false })).toBe(16384);
    for (const a of Object.values(PREFILL_ADAPTERS)) {
      for (const rows of [17, 33, 128, 512]) {
        for (const N of [7, 1536, 17920]) {
          for (const low of [false, true]) {
            const t = prefillTiling(rows, N, a, low);
            expect(prefillStorage(t)).toBeLessThanOrEqual(a.maxStorage);
            expect(t.wx * t.wy).toBeLessThanOrEqual(a.maxInvocations);
            expect(t.wf16).toBe(a.f16 && low && !a.fallback);
          }
        }
      }
    }
    expect(() => prefillTiling(128, 64, { maxInvocations: 32, maxStorage: 16384, f16: false, fallback: false }, true)).toThrow(/no prefill tile fits/);
  });

  // Each store instruction of the staging loops and each vec4 read of the inner product, per warp of 32 lanes:
  // how many lanes hit the busiest bank with distinct words (1 = conflict-free; a vec4 read of D distinct vec4s
  // needs ceil(4D / 32) wavefronts, more is a conflict).
  function worstBank(addrs: number[]): number {
    const byBank = new Map<number, Set<number>>();
    for (const a of addrs) {
      const b = byBank.get(a % 32) ?? new Set<number>();
      b.add(a);
      byBank.set(a % 32, b);
    }
    return Math.max(...[...byBank.values()].map((v) => v.size));
  }
  it.each([
    [16, 16],
    [16, 8],
    [8, 16],
    [8, 8],
  ])('the %i x %i workgroup\'s tile layout is a bijection free of bank conflicts (f32 tiles)', (wx, wy) => {
    const [tm, tn, wg] = [4 * wy, 4 * wx, wx * wy];
    for (const b of [0, 1]) {
      const xs = new Set<number>();
      for (let kk = 0; kk < PREFILL_TK; kk++) for (let m = 0; m < tm; m++) xs.add(tileIndexX(kk, m, tm, b));
      expect([Math.min(...xs), Math.max(...xs), xs.size]).toEqual([b * PREFILL_TK * tm, (b + 1) * PREFILL_TK * tm - 1, PREFILL_TK * tm]);
      const ws = new Set<number>();
      for (let kk = 0; kk < PREFILL_TK; kk++) for (let n = 0; n < tn; n++) ws.add(tileIndexW(kk, n, tn, b));
      expect([Math.min(...ws), Math.max(...ws), ws.size]).toEqual([b * PREFILL_TK * tn, (b + 1) * PREFILL_TK * tn - 1, PREFILL_TK * tn]);
    }
    const naive = (kk: number, m: number, t: number) => kk * t + m;
    for (let w0 = 0; w0 < wg; w0 += 32) {
      const lanes = Array.from({ length: 32 }, (_, l) => w0 + l);
      // x store: item i = (row i / 8, k quad i % 8), 4 stores of one k each
      for (let i0 = w0; i0 < tm * 8; i0 += wg) {
        for (let c = 0; c < 4; c++) {
          const items = lanes.map((l) => l - w0 + i0);
          expect(worstBank(items.map((i) => tileIndexX(4 * (i % 8) + c, Math.floor(i / 8), tm)))).toBe(1);
          expect(worstBank(items.map((i) => naive(4 * (i % 8) + c, Math.floor(i / 8), tm)))).toBeGreaterThan(1); // the check can fail
        }
      }
      // W store: item i = (row i / 4, block i % 4), 8 stores of one k each
      for (let i0 = w0; i0 < tn * 4; i0 += wg) {
        for (let c = 0; c < 8; c++) {
          const items = lanes.map((l) => l - w0 + i0);
          expect(worstBank(items.map((i) => tileIndexW(8 * (i % 4) + c, Math.floor(i / 4), tn)))).toBe(1);
        }
      }
      // inner product: lane (tx, ty) reads the vec4s of x rows 4ty.. and W columns 4tx..
      for (let kk = 0; kk < PREFILL_TK; kk++) {
        for (const [vecs, count] of [
          [lanes.map((l) => tileIndexX(kk, 4 * Math.floor(l / wx), tm)), new Set(lanes.map((l) => Math.floor(l / wx))).size],
          [lanes.map((l) => tileIndexW(kk, 4 * (l % wx), tn)), new Set(lanes.map((l) => l % wx)).size],
        ] as [number[], number][]) {
          const words = vecs.flatMap((a) => [a, a + 1, a + 2, a + 3]);
          expect(vecs.every((a) => a % 4 === 0)).toBe(true);
          expect(worstBank(words)).toBe(Math.ceil((4 * count) / 32));
        }
      }
    }
  });
});
