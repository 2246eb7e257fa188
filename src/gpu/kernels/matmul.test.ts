import { describe, it, expect, beforeAll } from 'vitest';
import { nodeContext, PROFILES } from '../test-device';
import { GpuContext } from '../context';
import { uploadBuffer, createBuffer, readF32 } from '../buffers';
import { uploadWeight, destroyWeight, type GpuWeight } from '../weights';
import { MatmulKernel, DECODE_MAX_ROWS, type MatmulOptions } from './matmul';
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
  return {
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
      const base = c.residual ? r.y0.slice(0, exact.length) : new Float32Array(exact.length);
      // error relative to the matmul's own contribution (the residual input cancels out)
      let num = 0;
      let den = 0;
      for (let i = 0; i < exact.length; i++) {
        num += (r.got[i] - exact[i]) ** 2;
        den += (exact[i] - base[i]) ** 2;
      }
      const rel = Math.sqrt(num / den);
      expect(rel).toBeLessThan(bound);
      if (format !== 'f32') expect(rel).toBeGreaterThan(bound / 1000); // quantization did happen
    }
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
    [{ rows: 2, K: 1000, N: 600, format: 'q4', ...VARIANT.q4 }, 5], // 512 B rows: 128 a chunk; 8 workgroups fold to 3 x 3
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
