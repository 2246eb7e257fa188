// The matmul's fused prologue/epilogues that replace whole dispatches, against their CPU twins:
// - rope: rmsnorm + qkv (+bias) with RoPE and the KV append in the epilogue (shaders/rope-epilogue.wgsl), on the
//   decode and prefill paths, f16 and f32 caches; the GPU runs the RoPE-quad row order (ropeQuadRows), the twin
//   (src/cpu/matmul.ts then src/cpu/rope.ts) the original q/k/v order;
// - gain: the final RMSNorm folded into the LM head (each row's RMS in the prologue, the gain on W's columns).
// Shapes are multiples of no tile size; several slots and positions, including large ones.
import { describe, it, expect, beforeAll } from 'vitest';
import { nodeContext, PROFILES } from '../test-device';
import type { GpuContext } from '../context';
import type { KvFormat, WeightFormat } from '../../protocol/engine';
import { uploadBuffer, createBuffer, readF32, readBuffer } from '../buffers';
import { uploadWeight, destroyWeight } from '../weights';
import { MatmulKernel, DECODE_MAX_ROWS, decodeTiling, type DecodeTiling } from './matmul';
import { NAMED_ADAPTERS } from './matmul-tiling';
import { KvCache } from '../kv';
import { packWeight, dequantize } from '../../loader/quant';
import { ropeQuadRows } from '../../model/fused';
import { matmulFused } from '../../cpu/matmul';
import { ropeAppendKv, cpuKvLayer, f16BitsToF32 } from '../../cpu/rope';
import { randomNormal } from '../../cpu/random';
import { assertClose, maxAbs } from '../../cpu/compare';

const EPS = 1e-6;
const CONTEXT = 2051;
const THETA = 1_000_000;

async function readEntry(ctx: GpuContext, buf: GPUBuffer, format: KvFormat, kvDim: number, slot: number, pos: number): Promise<Float32Array> {
  const bpe = format === 'f16' ? 2 : 4;
  const raw = await readBuffer(ctx, buf, kvDim * bpe, (slot * CONTEXT + pos) * kvDim * bpe);
  if (format === 'f32') return new Float32Array(raw);
  return Float32Array.from(new Uint16Array(raw), f16BitsToF32);
}

describe('decodeTiling for the RoPE epilogue', () => {
  it('keeps the tiling it picks without RoPE, with a workgroup\'s rows a multiple of 4', () => {
    const nv = NAMED_ADAPTERS.nvidia;
    // the 1.5B qkv [2048, 1536]: the same 256 workgroups of 64 threads in 16-lane groups as without RoPE
    expect(decodeTiling(1536, 2048, nv, false, true)).toEqual(decodeTiling(1536, 2048, nv));
    expect(decodeTiling(1536, 2048, nv, false, true)).toEqual({ wg: 64, tpr: 16, nr: 1 });
    expect(decodeTiling(1000, 60, nv, false, true)).toEqual({ wg: 64, tpr: 16, nr: 1 });
    expect(decodeTiling(3000, 60, nv)).toEqual({ wg: 64, tpr: 32, nr: 1 });
    expect(decodeTiling(3000, 60, nv, false, true)).toEqual({ wg: 64, tpr: 32, nr: 2 }); // 2 lane groups: 2 rows each
    // short rows of a tall matrix: one lane a row, 512 rows a workgroup without RoPE; its staging caps it at 128
    expect(decodeTiling(64, 300000, nv)).toEqual({ wg: 256, tpr: 1, nr: 2 });
    expect(decodeTiling(64, 300000, nv, false, true)).toEqual({ wg: 64, tpr: 1, nr: 2 });
  });
});

describe('ropeQuadRows', () => {
  it('puts each rotation pair of q and k heads side by side in quads and keeps v in order', () => {
    const [nHeads, nKvHeads, hd, cols] = [2, 1, 8, 3];
    const rows = (nHeads + 2 * nKvHeads) * hd;
    const w = Float32Array.from({ length: rows * cols }, (_, i) => Math.floor(i / cols)); // row r holds r
    const p = ropeQuadRows(w, nHeads, nKvHeads, hd, cols);
    const order = Array.from({ length: rows }, (_, r) => p[r * cols]);
    // per q/k head (half 4): quads (0, 4, 1, 5), (2, 6, 3, 7); v rows unchanged
    const head = (b: number) => [0, 4, 1, 5, 2, 6, 3, 7].map((i) => b + i);
    expect(order).toEqual([...head(0), ...head(8), ...head(16), 24, 25, 26, 27, 28, 29, 30, 31]);
    for (let r = 0; r < rows; r++) expect(Array.from(p.subarray(r * cols, (r + 1) * cols))).toEqual([order[r], order[r], order[r]]);
    expect(() => ropeQuadRows(w, 4, 2, 6, 1)).toThrow(/multiple of 4/);
  });
});

interface RopeCase {
  rows: number;
  K: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  format: WeightFormat;
  kv: KvFormat;
  /** force a decode tiling (one picked for a named GPU) instead of this adapter's */
  tiling?: DecodeTiling;
}

function ropeTitle(c: RopeCase): string {
  return `${c.rows <= DECODE_MAX_ROWS ? 'decode' : 'prefill'} rows=${c.rows} K=${c.K} heads ${c.nHeads}/${c.nKvHeads}x${c.headDim} ${c.format} weights, ${c.kv} KV${c.tiling ? ` tiling ${JSON.stringify(c.tiling)}` : ''}`;
}

const ROPE_CASES: RopeCase[] = [
  { rows: 1, K: 100, nHeads: 3, nKvHeads: 1, headDim: 12, format: 'q4', kv: 'f16' },
  { rows: 5, K: 100, nHeads: 3, nKvHeads: 1, headDim: 12, format: 'q4', kv: 'f16' },
  { rows: 16, K: 72, nHeads: 6, nKvHeads: 2, headDim: 24, format: 'f16', kv: 'f32' },
  // NVIDIA's tilings forced on this adapter: 16-lane groups of one row (a quad spans 4 lane groups), and 32-lane
  // groups of two rows (a quad spans 2 lane groups and both of their rows)
  { rows: 3, K: 1000, nHeads: 3, nKvHeads: 1, headDim: 12, format: 'q4', kv: 'f16', tiling: decodeTiling(1000, 60, NAMED_ADAPTERS.nvidia, false, true) },
  { rows: 9, K: 3000, nHeads: 3, nKvHeads: 1, headDim: 12, format: 'q8', kv: 'f32', tiling: decodeTiling(3000, 60, NAMED_ADAPTERS.nvidia, false, true) },
  { rows: 37, K: 100, nHeads: 3, nKvHeads: 1, headDim: 12, format: 'q4', kv: 'f16' },
  { rows: 70, K: 72, nHeads: 6, nKvHeads: 2, headDim: 24, format: 'f16', kv: 'f32' },
];

describe.each(Object.entries(PROFILES))('fused matmul epilogues on the %s profile', (_name, profile) => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await nodeContext(profile);
  });

  it.each(ROPE_CASES.map((c) => [ropeTitle(c), c] as const))('rope: %s matches rmsnorm + qkv + RoPE + KV append on the CPU', async (_t, c) => {
    const { rows, K, nHeads, nKvHeads, headDim, format, kv } = c;
    const qDim = nHeads * headDim;
    const kvDim = nKvHeads * headDim;
    const N = qDim + 2 * kvDim;
    const slots = 3;
    const seed = rows * 131 + K + headDim;
    const wOrig = randomNormal(N * K, seed, 0.3);
    const bias = randomNormal(N, seed + 1);
    // far past the f16 range in one k and one v element: an f16 cache clamps them to ±65504 (pack2x16float alone
    // is undefined there), as the twin does
    bias[qDim + 1] = 1e6;
    bias[qDim + kvDim + 2] = -1e6;
    const x = randomNormal(rows * K, seed + 2, 2);
    // (pos, slot) per row: several slots, small, awkward and large positions, the last position
    const meta = new Uint32Array(2 * rows);
    for (let r = 0; r < rows; r++) {
      meta[2 * r] = r === rows - 1 ? CONTEXT - 1 : (r * 977 + 3) % (CONTEXT - 1);
      meta[2 * r + 1] = r % slots;
    }
    // the oracle: the dequantized weight in q/k/v order
    const packedOrig = packWeight(wOrig, N, K, format);
    const wd = dequantize(packedOrig);
    const qkv = matmulFused(x, wd, rows, K, N, { bias, normEps: EPS });
    const cpu = cpuKvLayer(slots, CONTEXT, kvDim);
    const shape = { nHeads, nKvHeads, headDim, ropeTheta: THETA, context: CONTEXT };
    const wantQ = ropeAppendKv(shape, kv, qkv, meta, rows, cpu);

    // the GPU: the same weight in RoPE-quad order (a row permutation: the packed rows are the same rows)
    const packed = packWeight(ropeQuadRows(wOrig, nHeads, nKvHeads, headDim, K), N, K, format);
    const kernel = new MatmulKernel(ctx, {
      N, K, format, bias: true, norm: { eps: EPS }, maxRows: rows, label: 'qkv-rope', decodeTiling: c.tiling,
      rope: { ...shape, kvFormat: kv },
    });
    await ctx.pipelines.compile(); // the kernel's pipelines, asynchronously
    const w = uploadWeight(ctx, 'w', packed);
    const cache = new KvCache(ctx, { nLayers: 1, kvDim, heads: nKvHeads, slots, context: CONTEXT, format: kv });
    const xb = uploadBuffer(ctx, 'x', x);
    const bb = uploadBuffer(ctx, 'bias', ropeQuadRows(bias, nHeads, nKvHeads, headDim, 1));
    const mb = uploadBuffer(ctx, 'meta', meta);
    const qb = createBuffer(ctx, 'q', rows * qDim * 4);
    const bound = kernel.bind(w, xb, qb, bb, { rope: { meta: mb, kCache: cache.k(0), vCache: cache.v(0) } });
    const before = ctx.stats.dispatches;
    const enc = ctx.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    kernel.encode(pass, bound, rows);
    pass.end();
    ctx.submit([enc.finish()]);
    expect(ctx.stats.dispatches - before).toBe(1);

    const gotQ = await readF32(ctx, qb, rows * qDim);
    assertClose(gotQ, wantQ, 1e-4 * maxAbs(wantQ), 1e-4, 'q');
    // f16 entries may differ by one f16 ulp where the f32 inputs differ slightly
    const [atol, rtol] = kv === 'f16' ? [1e-4 * maxAbs(qkv), 1e-3] : [1e-4 * maxAbs(qkv), 1e-4];
    const written = new Set<string>();
    for (let r = 0; r < rows; r++) {
      const [pos, slot] = [meta[2 * r], meta[2 * r + 1]];
      written.add(`${slot},${pos}`);
      const off = (slot * CONTEXT + pos) * kvDim;
      assertClose(await readEntry(ctx, cache.k(0), kv, kvDim, slot, pos), cpu.k.subarray(off, off + kvDim), atol, rtol, `k row ${r}`);
      assertClose(await readEntry(ctx, cache.v(0), kv, kvDim, slot, pos), cpu.v.subarray(off, off + kvDim), atol, rtol, `v row ${r}`);
    }
    if (kv === 'f16') {
      const [pos, slot] = [meta[0], meta[1]];
      const v = await readEntry(ctx, cache.v(0), kv, kvDim, slot, pos);
      const k = await readEntry(ctx, cache.k(0), kv, kvDim, slot, pos);
      expect(v[2]).toBe(-65504);
      expect([...k, ...v].every((e) => Number.isFinite(e) && Math.abs(e) <= 65504)).toBe(true);
      expect(k.some((e) => Math.abs(e) === 65504)).toBe(true);
    }
    // entries no row wrote stay zero
    for (const [slot, pos] of [[0, 1], [1, 0], [2, CONTEXT - 1], [0, 2]]) {
      if (written.has(`${slot},${pos}`)) continue;
      expect(Array.from(await readEntry(ctx, cache.k(0), kv, kvDim, slot, pos)).every((v) => v === 0)).toBe(true);
      expect(Array.from(await readEntry(ctx, cache.v(0), kv, kvDim, slot, pos)).every((v) => v === 0)).toBe(true);
    }
    for (const b of [xb, bb, mb, qb, bound.params]) b.destroy();
    destroyWeight(w);
    cache.destroy();
    kernel.destroy();
  });

  it.each([
    [2, 'q8', 72],
    [37, 'q8', 72],
    [1, 'q4', 77],
    [19, 'f16', 77],
  ] as const)('gain: final norm + LM head over %i rows (%s, K %i) matches rmsnorm(x) * g · Wᵀ on the CPU', async (rows, format, K) => {
    const N = 301;
    const seed = rows * 17 + N;
    const wOrig = randomNormal(N * K, seed, 0.3);
    const x = randomNormal(rows * K, seed + 1, 3);
    const gain = Float32Array.from(randomNormal(K, seed + 2), (v) => 1 + 0.5 * v);
    const packed = packWeight(wOrig, N, K, format);
    const want = matmulFused(x, dequantize(packed), rows, K, N, { normEps: EPS, gain });
    const kernel = new MatmulKernel(ctx, { N, K, format, norm: { eps: EPS }, gain: true, maxRows: rows, label: 'head' });
    await ctx.pipelines.compile();
    const w = uploadWeight(ctx, 'w', packed);
    const xb = uploadBuffer(ctx, 'x', x);
    const gb = uploadBuffer(ctx, 'gain', gain);
    const yb = createBuffer(ctx, 'y', rows * N * 4);
    const bound = kernel.bind(w, xb, yb, undefined, { gain: gb });
    const enc = ctx.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    kernel.encode(pass, bound, rows);
    pass.end();
    ctx.submit([enc.finish()]);
    const got = await readF32(ctx, yb, rows * N);
    assertClose(got, want, 1e-4 * maxAbs(want), 1e-4, 'logits');
    // the gain matters: without it the result is far off
    const plain = matmulFused(x, dequantize(packed), rows, K, N, { normEps: EPS });
    expect(Math.max(...got.map((v, i) => Math.abs(v - plain[i])))).toBeGreaterThan(0.1 * maxAbs(want));
    for (const b of [xb, gb, yb, bound.params]) b.destroy();
    destroyWeight(w);
    kernel.destroy();
  });

  it('rejects a rope shape without whole quads, and missing rope or gain buffers, with typed errors', () => {
    const base = { K: 32, format: 'q4' as const, bias: true, norm: { eps: EPS }, maxRows: 2, label: 'bad' };
    const rope = { nHeads: 2, nKvHeads: 1, headDim: 6, ropeTheta: THETA, context: 8, kvFormat: 'f16' as const };
    expect(() => new MatmulKernel(ctx, { ...base, N: 24, rope })).toThrow(/headDim % 4 == 0/);
    const ok = new MatmulKernel(ctx, { ...base, N: 32, rope: { ...rope, headDim: 8 } });
    const w = uploadWeight(ctx, 'w', packWeight(randomNormal(32 * 32, 1), 32, 32, 'q4'));
    const x = createBuffer(ctx, 'x', 2 * 32 * 4);
    const y = createBuffer(ctx, 'y', 2 * 32 * 4);
    const b = createBuffer(ctx, 'b', 32 * 4);
    expect(() => ok.bind(w, x, y, b)).toThrow(/rope buffers are required/);
    const head = new MatmulKernel(ctx, { K: 32, N: 32, format: 'q4', norm: { eps: EPS }, gain: true, maxRows: 2, label: 'head' });
    expect(() => head.bind(w, x, y)).toThrow(/gain buffer is required/);
    destroyWeight(w);
    for (const buf of [x, y, b]) buf.destroy();
    ok.destroy();
    head.destroy();
  });
});
