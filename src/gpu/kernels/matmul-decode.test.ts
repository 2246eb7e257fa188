// The decode matvec's tilings, for 1 to 16 rows. On this machine's CPU adapter decodeTiling() picks one lane per
// 4 rows; the tilings it picks for NVIDIA, AMD, Intel and Apple adapters (lane groups reduced with subgroupAdd,
// subgroupShuffleXor, subgroups + workgroup memory, or workgroup memory alone) are forced here through
// MatmulOptions.decodeTiling and checked against the CPU oracle on awkward shapes (K not a multiple of 32 or of
// the lane count, N not of the rows a workgroup covers), every row count 1..16 through one kernel. lavapipe's
// subgroups are 8 wide, so a 32-lane tiling crosses subgroups there.
import { describe, it, expect, beforeAll } from 'vitest';
import { nodeContext, PROFILES } from '../test-device';
import type { GpuContext } from '../context';
import { uploadBuffer, readF32, writeBuffer } from '../buffers';
import { uploadWeight, destroyWeight } from '../weights';
import { MatmulKernel } from './matmul';
import { DECODE_MAX_ROWS, NAMED_ADAPTERS, decodeTiling, decodeWorkgroups, type DecodeTiling } from './matmul-tiling';
import { packWeight, dequantize, type WeightFormat } from '../../loader/quant';
import { matmulFused } from '../../cpu/matmul';
import { randomNormal } from '../../cpu/random';
import { assertClose } from '../../cpu/compare';

interface Case {
  K: number;
  N: number;
  format: WeightFormat;
  bias?: boolean;
  residual?: boolean;
  norm?: boolean;
  swiglu?: boolean;
  tiling: DecodeTiling;
}

const EPS = 1e-6;

const MAXR = DECODE_MAX_ROWS;
const ALL_ROWS = Array.from({ length: MAXR }, (_, i) => i + 1);

/** One kernel for the case, run for each row count in `rowsList`, each against the CPU twin. */
async function check(ctx: GpuContext, c: Case, seed: number, rowsList: readonly number[] = ALL_ROWS): Promise<void> {
  const outW = c.swiglu ? c.N / 2 : c.N;
  const packed = packWeight(randomNormal(c.N * c.K, seed, 0.3), c.N, c.K, c.format);
  const x = randomNormal(MAXR * c.K, seed + 1);
  const y0 = randomNormal(MAXR * outW, seed + 2);
  const bias = c.bias ? randomNormal(c.N, seed + 3) : undefined;
  const kernel = new MatmulKernel(ctx, {
    N: c.N,
    K: c.K,
    format: c.format,
    bias: c.bias,
    residual: c.residual,
    norm: c.norm ? { eps: EPS } : undefined,
    swiglu: c.swiglu,
    maxRows: MAXR,
    label: 'decode-test',
    decodeTiling: c.tiling,
  });
  await ctx.pipelines.compile(); // the kernel's pipelines, asynchronously
  const w = uploadWeight(ctx, 'w', packed);
  const [xb, yb] = [uploadBuffer(ctx, 'x', x), uploadBuffer(ctx, 'y', y0)];
  const bb = bias ? uploadBuffer(ctx, 'bias', bias) : undefined;
  const bound = kernel.bind(w, xb, yb, bb);
  const w32 = dequantize(packed);
  try {
    for (const rows of rowsList) {
      writeBuffer(ctx, yb, 0, y0);
      const enc = ctx.device.createCommandEncoder();
      const pass = enc.beginComputePass();
      kernel.encode(pass, bound, rows);
      pass.end();
      ctx.submit([enc.finish()]);
      const all = await readF32(ctx, yb, MAXR * outW);
      // the oracle: the fused matmul's CPU twin on the dequantized weight
      const want = matmulFused(x, w32, rows, c.K, c.N, { bias, normEps: c.norm ? EPS : undefined, swiglu: c.swiglu, residual: c.residual ? y0 : undefined });
      const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assertClose(all.slice(0, rows * outW), want, 1e-4 * scale, 1e-4, `${JSON.stringify(c)} rows=${rows}`);
      expect(Array.from(all.slice(rows * outW))).toEqual(Array.from(y0.slice(rows * outW))); // rows past `rows` untouched
    }
  } finally {
    destroyWeight(w);
    for (const b of [xb, yb, bb, bound.params]) b?.destroy();
    kernel.destroy();
  }
}

const name = (c: Case) =>
  `K=${c.K} N=${c.N} ${c.format} ${['bias', 'residual', 'norm', 'swiglu'].filter((f) => c[f as keyof Case]).join('+') || 'plain'} ` +
  `wg=${c.tiling.wg} tpr=${c.tiling.tpr} nr=${c.tiling.nr}`;

type Shape = Omit<Case, 'tiling'>;
type Vendor = 'nvidia' | 'amd' | 'intel' | 'apple';
const forVendor = (v: Vendor, sh: Shape): Case => ({ ...sh, tiling: decodeTiling(sh.K, sh.N, NAMED_ADAPTERS[v], sh.swiglu) });

// Shapes where the vendor tilings differ: long rows (32 lanes a row), short rows (few lanes), narrow outputs
// (one row a lane group, small workgroups).
const VENDOR_CASES: [Vendor, Shape][] = [
  ['nvidia', { K: 2100, N: 67, format: 'q4', norm: true, bias: true }],
  ['nvidia', { K: 1000, N: 45, format: 'f16', residual: true }],
  ['amd', { K: 2300, N: 38, format: 'q8', norm: true, swiglu: true }],
  ['intel', { K: 2100, N: 51, format: 'q4', residual: true }],
  ['apple', { K: 333, N: 301, format: 'f32', bias: true }],
];

describe('decode matvec, the tilings picked for named GPUs, rows 1..16 (full profile: subgroups of 8 on lavapipe)', () => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await nodeContext(PROFILES.full);
  });
  it.each(VENDOR_CASES.map(([v, sh]) => [`${v} ${name(forVendor(v, sh))}`, forVendor(v, sh)] as const))('%s matches the CPU oracle', async (_n, c) => {
    await check(ctx, c, c.K * 13 + c.N);
  });
  // lavapipe's own tiling (one lane per 4 rows) for every format and epilogue, one test a shape (each compiles
  // its own pipeline, seconds on lavapipe)
  const OWN_SHAPES: Shape[] = [
    { K: 333, N: 45, format: 'q4', bias: true, norm: true, residual: true },
    { K: 200, N: 46, format: 'q8', norm: true, swiglu: true },
    { K: 136, N: 67, format: 'f16', residual: true },
    { K: 72, N: 301, format: 'f32' },
  ];
  it.each(OWN_SHAPES.map((sh) => ({ ...sh, tiling: decodeTiling(sh.K, sh.N, NAMED_ADAPTERS.lavapipe, sh.swiglu) })).map((c) => [name(c), c] as const))(
    'lavapipe\'s own tiling: %s matches the CPU oracle',
    async (_n, c) => {
      await check(ctx, c, c.K * 7 + c.N, [1, 2, 3, 4, 5, 8, 11, 16]);
    },
  );
  it('a tiling with lane groups smaller than a subgroup (subgroupShuffleXor)', async () => {
    await check(ctx, { K: 200, N: 46, format: 'q8', norm: true, swiglu: true, tiling: { wg: 64, tpr: 4, nr: 2 } }, 5, [1, 6, 16]);
  });
});

// A lane group's rows are done in passes of up to 4 (each x block loaded once a pass): NR 3, 4, 6 and 8 give
// whole and partial passes; N not a multiple of a workgroup's rows leaves lane groups straddling the chunk's end.
const PASS_CASES: Case[] = [
  { K: 72, N: 61, format: 'q4', bias: true, norm: true, residual: true, tiling: { wg: 16, tpr: 1, nr: 3 } },
  { K: 333, N: 45, format: 'q8', norm: true, tiling: { wg: 16, tpr: 1, nr: 4 } },
  { K: 136, N: 90, format: 'f16', norm: true, swiglu: true, tiling: { wg: 8, tpr: 1, nr: 6 } },
  { K: 200, N: 70, format: 'q4', norm: true, swiglu: true, tiling: { wg: 16, tpr: 1, nr: 8 } },
  { K: 520, N: 37, format: 'f32', bias: true, tiling: { wg: 32, tpr: 4, nr: 4 } },
];

describe('decode matvec, rows of a lane group in passes of 4 (NR 3, 4, 6, 8)', () => {
  let full: GpuContext;
  let weak: GpuContext;
  beforeAll(async () => {
    [full, weak] = await Promise.all([nodeContext(PROFILES.full), nodeContext(PROFILES.weak)]);
  });
  it.each(PASS_CASES.map((c) => [name(c), c] as const))('full profile: %s matches the CPU oracle', async (_n, c) => {
    await check(full, c, c.K * 5 + c.N, [1, 4, 7, 16]);
  });
  it.each([PASS_CASES[0], PASS_CASES[2], PASS_CASES[4]].map((c) => [name(c), c] as const))('weak profile: %s matches the CPU oracle', async (_n, c) => {
    await check(weak, c, c.K * 3 + c.N, [2, 5, 13]);
  });
});

describe('decode matvec, the tilings picked for named GPUs, rows 1..16 (weak profile: no subgroups)', () => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await nodeContext(PROFILES.weak);
  });
  const cases: Case[] = [
    forVendor('nvidia', { K: 2100, N: 45, format: 'q4', bias: true, norm: true, residual: true }),
    forVendor('intel', { K: 136, N: 258, format: 'q8', norm: true, swiglu: true }),
    { K: 136, N: 258, format: 'f16', norm: true, swiglu: true, tiling: decodeTiling(136, 258, NAMED_ADAPTERS.swiftshader, true) },
  ];
  it.each(cases.map((c) => [name(c), c] as const))('%s matches the CPU oracle', async (_n, c) => {
    await check(ctx, c, c.K * 17 + c.N, [1, 3, 4, 7, 8, 13, 16]);
  });
});

describe('decodeTiling', () => {
  it('takes one lane per 4 rows on CPU adapters and up to a subgroup of lanes, from K, on GPUs', () => {
    const gpu = NAMED_ADAPTERS.nvidia;
    expect(decodeTiling(8960, 17920, gpu, true)).toEqual({ wg: 256, tpr: 32, nr: 2 }); // gate/up: plenty of rows
    expect(decodeTiling(64, 151936, gpu)).toEqual({ wg: 256, tpr: 1, nr: 2 }); // 2 units a row: one lane
    expect(decodeTiling(1536, 151936, { ...gpu, subgroupMin: 8 }).tpr).toBe(8); // the reduction stays in a subgroup
    expect(decodeTiling(8960, 1536, { ...gpu, subgroupMin: 8 }).tpr).toBe(32); // unless the chain gets long
    expect(decodeTiling(8960, 151936, { ...gpu, subgroupMin: 0 }).tpr).toBe(32); // no subgroups
    expect(decodeTiling(1536, 151936, { ...gpu, maxWorkgroup: 200 }).wg).toBe(128);
    expect(decodeTiling(1536, 2048, NAMED_ADAPTERS.lavapipe)).toEqual({ wg: 64, tpr: 1, nr: 4 });
    expect(decodeTiling(64, 151936, NAMED_ADAPTERS.swiftshader, false, true)).toEqual({ wg: 32, tpr: 1, nr: 4 }); // RoPE: 128 rows a workgroup
  });

  it('fills a 132-SM GPU for every matrix of the 1.5B model, with short chains of loads per lane', () => {
    // qkv, o, gate/up, down, LM head
    const shapes: [number, number, boolean][] = [[1536, 2048, false], [1536, 1536, false], [1536, 17920, true], [8960, 1536, false], [1536, 151936, false]];
    for (const v of ['nvidia', 'amd', 'intel', 'apple'] as const) {
      for (const [K, N, swiglu] of shapes) {
        const t = decodeTiling(K, N, NAMED_ADAPTERS[v], swiglu);
        expect(decodeWorkgroups(N, t), `${v} ${N}x${K}`).toBeGreaterThanOrEqual(v === 'intel' ? 132 : 256);
        expect(Math.ceil(K / 32 / t.tpr) * t.nr, `${v} ${N}x${K} units a lane`).toBeLessThanOrEqual(12);
      }
    }
  });

  it('rejects tilings the shader cannot run', async () => {
    const ctx = await nodeContext(PROFILES.weak);
    const base = { N: 8, K: 32, format: 'q4' as const, maxRows: 1, label: 'bad' };
    expect(() => new MatmulKernel(ctx, { ...base, decodeTiling: { wg: 64, tpr: 3, nr: 2 } })).toThrow(/bad decode tiling/);
    expect(() => new MatmulKernel(ctx, { ...base, swiglu: true, decodeTiling: { wg: 64, tpr: 4, nr: 1 } })).toThrow(/bad decode tiling/);
    expect(() => new MatmulKernel(ctx, { ...base, decodeTiling: { wg: 512, tpr: 4, nr: 2 } })).toThrow(/exceeds the adapter's limits/);
  });
});
