// The decode matvec's tilings. On this machine's CPU adapter decodeTiling() picks one lane per row, so the
// lane-group reductions that GPUs take (subgroupAdd, subgroupShuffleXor, subgroups + workgroup memory, and
// workgroup memory alone without subgroups) are forced here through MatmulOptions.decodeTiling and checked
// against the CPU oracle on awkward shapes (K not a multiple of 8 or of the lane count, N not of the rows a
// workgroup covers).
import { describe, it, expect, beforeAll } from 'vitest';
import { nodeContext, PROFILES } from '../test-device';
import type { GpuContext } from '../context';
import { uploadBuffer, readF32 } from '../buffers';
import { uploadWeight, destroyWeight } from '../weights';
import { MatmulKernel, decodeTiling, type DecodeTiling } from './matmul';
import { packWeight, dequantize, type WeightFormat } from '../../loader/quant';
import { matmulFused } from '../../cpu/matmul';
import { randomNormal } from '../../cpu/random';
import { assertClose } from '../../cpu/compare';

interface Case {
  rows: number;
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

async function check(ctx: GpuContext, c: Case, seed: number): Promise<void> {
  const outW = c.swiglu ? c.N / 2 : c.N;
  const packed = packWeight(randomNormal(c.N * c.K, seed, 0.3), c.N, c.K, c.format);
  const x = randomNormal(4 * c.K, seed + 1);
  const y0 = randomNormal(4 * outW, seed + 2);
  const bias = c.bias ? randomNormal(c.N, seed + 3) : undefined;
  const kernel = new MatmulKernel(ctx, {
    N: c.N,
    K: c.K,
    format: c.format,
    bias: c.bias,
    residual: c.residual,
    norm: c.norm ? { eps: EPS } : undefined,
    swiglu: c.swiglu,
    maxRows: 4,
    label: 'decode-test',
    decodeTiling: c.tiling,
  });
  const w = uploadWeight(ctx, 'w', packed);
  const [xb, yb] = [uploadBuffer(ctx, 'x', x), uploadBuffer(ctx, 'y', y0)];
  const bb = bias ? uploadBuffer(ctx, 'bias', bias) : undefined;
  const bound = kernel.bind(w, xb, yb, bb);
  const enc = ctx.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  kernel.encode(pass, bound, c.rows);
  pass.end();
  ctx.submit([enc.finish()]);
  const all = await readF32(ctx, yb, 4 * outW);
  destroyWeight(w);
  for (const b of [xb, yb, bb, bound.params]) b?.destroy();
  kernel.destroy();

  // the oracle: the fused matmul's CPU twin on the dequantized weight
  const want = matmulFused(x, dequantize(packed), c.rows, c.K, c.N, { bias, normEps: c.norm ? EPS : undefined, swiglu: c.swiglu, residual: c.residual ? y0 : undefined });
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assertClose(all.slice(0, c.rows * outW), want, 1e-4 * scale, 1e-4, JSON.stringify(c));
  expect(Array.from(all.slice(c.rows * outW))).toEqual(Array.from(y0.slice(c.rows * outW))); // rows past `rows` untouched
}

const name = (c: Case) =>
  `rows=${c.rows} K=${c.K} N=${c.N} ${c.format} ${['bias', 'residual', 'norm', 'swiglu'].filter((f) => c[f as keyof Case]).join('+') || 'plain'} ` +
  `wg=${c.tiling.wg} tpr=${c.tiling.tpr} nr=${c.tiling.nr}`;

describe('decode matvec tilings with subgroups (full profile, subgroup size 8 on lavapipe)', () => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await nodeContext(PROFILES.full);
  });
  const cases: Case[] = [
    // TPR = subgroup size: subgroupAdd
    { rows: 3, K: 333, N: 45, format: 'q4', bias: true, norm: true, residual: true, tiling: { wg: 64, tpr: 8, nr: 2 } },
    // TPR < subgroup size: subgroupShuffleXor; whole-block x rows (vec4 reads)
    { rows: 2, K: 200, N: 46, format: 'q8', norm: true, swiglu: true, tiling: { wg: 64, tpr: 4, nr: 2 } },
    // TPR > subgroup size: subgroupAdd, then across subgroups through workgroup memory
    { rows: 4, K: 1000, N: 67, format: 'f16', bias: true, tiling: { wg: 128, tpr: 32, nr: 4 } },
    // short rows (the LM head of a tiny model), one row per lane group, several workgroups
    { rows: 1, K: 64, N: 301, format: 'f32', residual: true, tiling: { wg: 256, tpr: 2, nr: 1 } },
  ];
  it.each(cases.map((c) => [name(c), c] as const))('%s matches the CPU oracle', async (_n, c) => {
    await check(ctx, c, c.K * 13 + c.N);
  });
});

describe('decode matvec tilings without subgroups (weak profile)', () => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await nodeContext(PROFILES.weak);
  });
  const cases: Case[] = [
    // workgroup-memory reduction over 16 lanes
    { rows: 4, K: 333, N: 45, format: 'q4', bias: true, norm: true, residual: true, tiling: { wg: 64, tpr: 16, nr: 2 } },
    // one lane per row, four rows a lane, swiglu pairs
    { rows: 2, K: 136, N: 258, format: 'q8', norm: true, swiglu: true, tiling: { wg: 64, tpr: 1, nr: 4 } },
  ];
  it.each(cases.map((c) => [name(c), c] as const))('%s matches the CPU oracle', async (_n, c) => {
    await check(ctx, c, c.K * 17 + c.N);
  });
});

describe('decodeTiling', () => {
  it('takes one lane per row on CPU adapters and up to a subgroup of lanes, from K, on GPUs', () => {
    const gpu = { maxWorkgroup: 1024, subgroupMin: 32, fallback: false };
    expect(decodeTiling(1536, gpu)).toEqual({ wg: 256, tpr: 32, nr: 2 });
    expect(decodeTiling(64, gpu)).toEqual({ wg: 256, tpr: 2, nr: 2 }); // 8 blocks: 4 a lane
    expect(decodeTiling(8, gpu)).toEqual({ wg: 256, tpr: 1, nr: 2 });
    expect(decodeTiling(1536, { ...gpu, subgroupMin: 8 }).tpr).toBe(8); // the reduction stays in a subgroup
    expect(decodeTiling(8960, { ...gpu, subgroupMin: 0 }).tpr).toBe(32); // no subgroups
    expect(decodeTiling(1536, { ...gpu, maxWorkgroup: 200 }).wg).toBe(128);
    expect(decodeTiling(1536, { maxWorkgroup: 256, subgroupMin: 8, fallback: true })).toEqual({ wg: 64, tpr: 1, nr: 2 });
  });

  it('rejects tilings the shader cannot run', async () => {
    const ctx = await nodeContext(PROFILES.weak);
    const base = { N: 8, K: 32, format: 'q4' as const, maxRows: 1, label: 'bad' };
    expect(() => new MatmulKernel(ctx, { ...base, decodeTiling: { wg: 64, tpr: 3, nr: 2 } })).toThrow(/bad decode tiling/);
    expect(() => new MatmulKernel(ctx, { ...base, swiglu: true, decodeTiling: { wg: 64, tpr: 4, nr: 1 } })).toThrow(/bad decode tiling/);
    expect(() => new MatmulKernel(ctx, { ...base, decodeTiling: { wg: 512, tpr: 4, nr: 2 } })).toThrow(/exceeds the adapter's limits/);
  });
});
