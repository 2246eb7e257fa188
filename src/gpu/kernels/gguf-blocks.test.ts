// GGUF block types read as they are on the GPU (shaders/weight-formats.wgsl) against their CPU twins
// (src/loader/gguf/blocks.ts dequantize): random blocks — every quant bit pattern, random scales — through the
// decode matvec, the prefill matmul and the embedding gather, on row lengths whose rows are not whole words
// (Q8_0 102 B, Q4_0 54 B, Q5_0 66 B, Q6_K 630 B, BF16 198 B) and row counts that are no tile multiple.
import { describe, it, expect, beforeAll } from 'vitest';
import { nodeContext, PROFILES } from '../test-device';
import { GpuContext } from '../context';
import { uploadBuffer, readF32 } from '../buffers';
import { blockRows, destroyWeight, uploadParts, uploadWeight, gpuWeightBytes, gpuPackedBytes, type GpuPacked } from '../weights';
import { MatmulKernel } from './matmul';
import { EmbedKernel } from './embed';
import { dequantize, ggmlTypeByName, typeBytes, type GgmlTypeName } from '../../loader/gguf/blocks';
import { f32ToF16Bits } from '../../loader/f16';
import { encodeFromF32 } from '../../loader/dtype';
import { matmulFused } from '../../cpu/matmul';
import { randomNormal } from '../../cpu/random';
import { assertClose, maxAbs } from '../../cpu/compare';
import { Rng } from '../../sampler/rng';

/** Offsets of a block's f16 scale fields, and the magnitude of random scales there. */
const SCALES: Partial<Record<GgmlTypeName, [number[], number]>> = {
  Q8_0: [[0], 0.01],
  Q4_0: [[0], 0.05],
  Q4_1: [[0, 2], 0.05],
  Q5_0: [[0], 0.03],
  Q5_1: [[0, 2], 0.03],
  Q4_K: [[0, 2], 0.004],
  Q5_K: [[0, 2], 0.002],
  Q6_K: [[208], 0.002],
};

/** Random GGUF rows [rows, cols] of a type: random quant bytes with finite random f16 scales (or random floats). */
function randomBlocks(type: GgmlTypeName, rows: number, cols: number, seed: number): Uint8Array {
  if (type === 'F32' || type === 'F16' || type === 'BF16') return encodeFromF32(randomNormal(rows * cols, seed, 0.3), type);
  const t = ggmlTypeByName(type);
  const bytes = new Uint8Array(typeBytes(t, rows * cols));
  const rng = new Rng(seed);
  for (let i = 0; i < bytes.length; i++) bytes[i] = rng.nextU32() & 0xff;
  const [fields, mag] = SCALES[type]!;
  for (let o = 0; o < bytes.length; o += t.bytes) {
    for (const [k, f] of fields.entries()) {
      // d of either sign for the symmetric types; K-quants' d and dmin, Q4_1/Q5_1's m positive or negative too
      const v = mag * (0.25 + (rng.nextU32() % 1000) / 1000) * (k === 0 && type.endsWith('_K') ? 1 : rng.nextU32() % 2 ? 1 : -1);
      const bits = f32ToF16Bits(v);
      bytes[o + f] = bits & 0xff;
      bytes[o + f + 1] = bits >> 8;
    }
  }
  return bytes;
}


/** Columns per type: 3 blocks (odd, so most rows end off a word boundary). */
const COLS: Record<GgmlTypeName, number> = { F32: 35, F16: 35, BF16: 99, Q8_0: 96, Q4_0: 96, Q4_1: 96, Q5_0: 96, Q5_1: 96, Q4_K: 768, Q5_K: 768, Q6_K: 768 };
const TYPES: GgmlTypeName[] = ['BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K', 'Q5_K', 'Q6_K', 'F16', 'F32'];

describe.each(Object.entries(PROFILES))('GGUF blocks on the GPU, %s profile', (_name, profile) => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await nodeContext(profile);
  });

  it.each(TYPES)('%s: the matvec (3 rows) and the tiled matmul (19 rows) equal the CPU twin on random blocks', async (type) => {
    const K = COLS[type];
    const N = 38; // gate/up pairs for swiglu; no tile multiple
    const maxRows = 19;
    const bytes = randomBlocks(type, N, K, K + N + type.length);
    const packed = blockRows(type, bytes, N, K);
    const wd = dequantize(ggmlTypeByName(type), bytes, N * K);
    // alternate the epilogues over the types so each combination meets a block format
    const swiglu = type.length % 2 === 0;
    const kernel = new MatmulKernel(ctx, { N, K, format: packed.format, bias: !swiglu, residual: !swiglu, norm: { eps: 1e-6 }, swiglu, maxRows, label: type });
    const w = uploadWeight(ctx, type, packed);
    expect(gpuWeightBytes(w)).toBe(gpuPackedBytes(N, K, packed.format));
    const x = randomNormal(maxRows * K, 3);
    const outW = swiglu ? N / 2 : N;
    const bias = swiglu ? undefined : randomNormal(N, 4);
    for (const rows of [3, maxRows]) {
      const y0 = randomNormal(maxRows * outW, rows);
      const [xb, yb] = [uploadBuffer(ctx, 'x', x), uploadBuffer(ctx, 'y', y0)];
      const bb = bias ? uploadBuffer(ctx, 'bias', bias) : undefined;
      const bound = kernel.bind(w, xb, yb, bb);
      await ctx.pipelines.compile(); // after bind: a stacked weight requests its parts' pipelines there
      const enc = ctx.device.createCommandEncoder();
      const pass = enc.beginComputePass();
      kernel.encode(pass, bound, rows);
      pass.end();
      ctx.submit([enc.finish()]);
      const got = await readF32(ctx, yb, rows * outW);
      const want = matmulFused(x.subarray(0, rows * K), wd, rows, K, N, { bias, normEps: 1e-6, swiglu, residual: swiglu ? undefined : y0.subarray(0, rows * outW) });
      assertClose(got, want, 2e-5 * maxAbs(want), 1e-4, `${type} rows ${rows}`);
      for (const b of [xb, yb, bb, bound.params]) b?.destroy();
    }
    destroyWeight(w);
    kernel.destroy();
  });

  it.each(TYPES)('%s: the embedding gathers the exact dequantized rows', async (type) => {
    const dim = COLS[type];
    const vocab = 41;
    const bytes = randomBlocks(type, vocab, dim, dim * 7 + vocab);
    const packed = blockRows(type, bytes, vocab, dim);
    const table = dequantize(ggmlTypeByName(type), bytes, vocab * dim);
    const w = uploadWeight(ctx, 'embed', packed);
    const rows = 9;
    const kernel = new EmbedKernel(ctx, { dim, vocab, format: packed.format, maxRows: rows });
    const rng = new Rng(dim);
    const tokens = Array.from({ length: rows }, () => rng.nextU32() % vocab);
    tokens[0] = 0;
    tokens[1] = vocab - 1;
    const xb = uploadBuffer(ctx, 'x', new Float32Array(rows * dim));
    const tb = uploadBuffer(ctx, 'tokens', Uint32Array.from(tokens));
    const bound = kernel.bind(w, tb, xb);
    await ctx.pipelines.compile(); // after bind: a stacked weight requests its parts' pipelines there
    const enc = ctx.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    kernel.encode(pass, bound, rows);
    pass.end();
    ctx.submit([enc.finish()]);
    const got = await readF32(ctx, xb, rows * dim);
    const want = new Float32Array(rows * dim);
    tokens.forEach((t, r) => want.set(table.subarray(t * dim, (t + 1) * dim), r * dim));
    // equal values (a zero's sign may differ: d * (q - 8) against a fused multiply-add)
    expect(Array.from(got, (v) => v + 0)).toEqual(Array.from(want, (v) => v + 0));
    destroyWeight(w);
    for (const b of [xb, tb, bound.params]) b.destroy();
  });
});

describe('stacked GGUF parts of different types, split under a 4 KiB binding', () => {
  let ctx: GpuContext;
  beforeAll(async () => {
    const base = await nodeContext(PROFILES.weak);
    ctx = new GpuContext({ ...base.boxed, caps: { ...base.caps, limits: { ...base.caps.limits, maxStorageBufferBindingSize: 4096 } } });
  });

  it('q (Q4_K), k (Q4_K) and v (Q6_K) as one weight: chunks per part, one dispatch each, exact', async () => {
    const K = 768;
    const shapes: [GgmlTypeName, number][] = [
      ['Q4_K', 13], // 432 B rows: 9 a chunk -> 8 (even)
      ['Q4_K', 5],
      ['Q6_K', 9], // 630 B rows padded to 632: 6 a chunk
    ];
    const parts: GpuPacked[] = [];
    const dense: Float32Array[] = [];
    shapes.forEach(([type, rows], i) => {
      const bytes = randomBlocks(type, rows, K, 50 + i);
      parts.push(blockRows(type, bytes, rows, K));
      dense.push(dequantize(ggmlTypeByName(type), bytes, rows * K));
    });
    const N = shapes.reduce((s, [, r]) => s + r, 0);
    const w = uploadParts(ctx, 'qkv', parts);
    expect(w.rows).toBe(N);
    expect(w.chunks.map((c) => [c.format, c.rowStart, c.rows])).toEqual([
      ['Q4_K', 0, 8],
      ['Q4_K', 8, 5],
      ['Q4_K', 13, 5],
      ['Q6_K', 18, 6],
      ['Q6_K', 24, 3],
    ]);
    const wd = new Float32Array(N * K);
    let o = 0;
    for (const d of dense) {
      wd.set(d, o);
      o += d.length;
    }
    const maxRows = 17;
    const kernel = new MatmulKernel(ctx, { N, K, format: 'Q4_K', bias: true, maxRows, label: 'qkv' });
    const x = randomNormal(maxRows * K, 8);
    const bias = randomNormal(N, 9);
    for (const rows of [2, 17]) {
      const [xb, yb, bb] = [uploadBuffer(ctx, 'x', x), uploadBuffer(ctx, 'y', new Float32Array(maxRows * N)), uploadBuffer(ctx, 'bias', bias)];
      const bound = kernel.bind(w, xb, yb, bb);
      await ctx.pipelines.compile(); // after bind: a stacked weight requests its parts' pipelines there
      const before = ctx.stats.dispatches;
      const enc = ctx.device.createCommandEncoder();
      const pass = enc.beginComputePass();
      kernel.encode(pass, bound, rows);
      pass.end();
      ctx.submit([enc.finish()]);
      expect(ctx.stats.dispatches - before).toBe(w.chunks.length);
      const want = matmulFused(x.subarray(0, rows * K), wd, rows, K, N, { bias });
      assertClose(await readF32(ctx, yb, rows * N), want, 2e-5 * maxAbs(want), 1e-4, `rows ${rows}`);
      for (const b of [xb, yb, bb, bound.params]) b.destroy();
    }
    destroyWeight(w);
  });

  it('a GGUF qkv with norm, gain, bias and the RoPE epilogue fits the weak profile (10 storage buffers)', async () => {
    // 2 + 2 * 1 heads of 16: N = 64 rows of K = 256 (Q4_K rows of one block); 9 storage bindings
    const K = 256;
    const N = 64;
    const w = uploadWeight(ctx, 'qkv', blockRows('Q4_K', randomBlocks('Q4_K', N, K, 60), N, K));
    const rope = { nHeads: 2, nKvHeads: 1, headDim: 16, ropeTheta: 10000, context: 8, kvFormat: 'f32' as const };
    const kernel = new MatmulKernel(ctx, { N, K, format: 'Q4_K', bias: true, norm: { eps: 1e-6 }, gain: true, rope, maxRows: 2, label: 'qkv' });
    const bufs = [uploadBuffer(ctx, 'x', randomNormal(2 * K, 61)), uploadBuffer(ctx, 'q', new Float32Array(2 * 32)), uploadBuffer(ctx, 'bias', randomNormal(N, 62))];
    const [gain, meta, kc, vc] = [uploadBuffer(ctx, 'gain', randomNormal(K, 63)), uploadBuffer(ctx, 'meta', new Float32Array(4)), uploadBuffer(ctx, 'k', new Float32Array(8 * 16)), uploadBuffer(ctx, 'v', new Float32Array(8 * 16))];
    ctx.device.pushErrorScope('validation');
    const bound = kernel.bind(w, bufs[0], bufs[1], bufs[2], { gain, rope: { meta, kCache: kc, vCache: vc } });
    await ctx.pipelines.compile();
    const enc = ctx.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    kernel.encode(pass, bound, 2);
    pass.end();
    ctx.submit([enc.finish()]);
    const err = await ctx.device.popErrorScope();
    expect(err?.message ?? null).toBeNull();
    // the rotated q rows came out finite and not all zero
    const q = await readF32(ctx, bufs[1], 2 * 32);
    expect(q.every(Number.isFinite) && q.some((v) => v !== 0)).toBe(true);
    for (const b of [...bufs, gain, meta, kc, vc, bound.params]) b.destroy();
    destroyWeight(w);
  });

  it('refuses rows whose byte count does not match the type', () => {
    expect(() => blockRows('Q6_K', new Uint8Array(420), 3, 256)).toThrow(/needs 630 bytes/);
    expect(() => blockRows('Q4_K', new Uint8Array(144), 1, 100)).toThrow(/not a whole number/);
  });
});
