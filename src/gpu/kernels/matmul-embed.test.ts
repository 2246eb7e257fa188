// Layer 0's qkv with the embedding gathered in its prologue (MatmulOptions.embed) against its CPU twin (gather the
// dequantized rows, then rmsnorm + matmul + bias) and against the two dispatches it replaces (embed, then the plain
// matmul), on both profiles. Shapes are multiples of no tile size; the ids include the first and last rows, a
// repeat and one outside the table (a zero row).
import { describe, it, expect, beforeAll } from 'vitest';
import { nodeContext, PROFILES } from '../test-device';
import type { GpuContext } from '../context';
import type { WeightFormat } from '../../protocol/engine';
import { uploadBuffer, createBuffer, readF32 } from '../buffers';
import { uploadWeight, destroyWeight } from '../weights';
import { MatmulKernel, matmulStorageBuffers, type MatmulOptions } from './matmul';
import { EmbedKernel } from './embed';
import { KvCache } from '../kv';
import { packWeight, dequantize } from '../../loader/quant';
import { matmulFused } from '../../cpu/matmul';
import { randomNormal } from '../../cpu/random';
import { assertClose, maxAbs } from '../../cpu/compare';
import { Rng } from '../../sampler/rng';

const EPS = 1e-6;

interface Case {
  rows: number;
  K: number;
  N: number;
  vocab: number;
  format: WeightFormat;
  /** a RoPE epilogue (heads of 12, one KV head): N = 5 * 12 */
  rope?: boolean;
}

const CASES: Case[] = [
  { rows: 1, K: 100, N: 61, vocab: 301, format: 'q4' },
  { rows: 5, K: 72, N: 61, vocab: 97, format: 'q8' },
  { rows: 3, K: 77, N: 43, vocab: 130, format: 'f16' },
  { rows: 16, K: 45, N: 61, vocab: 61, format: 'f32' },
  { rows: 7, K: 1000, N: 130, vocab: 50, format: 'q4' },
  { rows: 6, K: 100, N: 60, vocab: 301, format: 'q4', rope: true },
  { rows: 2, K: 72, N: 60, vocab: 97, format: 'f16', rope: true },
  { rows: 5, K: 72, N: 60, vocab: 97, format: 'q8', rope: true },
];

function ids(c: Case): Uint32Array {
  const rng = new Rng(c.rows * 7 + c.vocab);
  const t = Uint32Array.from({ length: c.rows }, () => rng.nextU32() % c.vocab);
  if (c.rows >= 5) {
    t[0] = 0;
    t[1] = c.vocab - 1;
    t[2] = t[3]; // a repeated id
    t[4] = 0xffffffff; // outside the table: a zero row
  }
  return t;
}

function record(ctx: GpuContext, f: (pass: GPUComputePassEncoder) => void): void {
  const enc = ctx.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  f(pass);
  pass.end();
  ctx.submit([enc.finish()]);
}

describe.each(Object.entries(PROFILES))('qkv with the embedding in its prologue on the %s profile', (_name, profile) => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await nodeContext(profile);
  });

  it.each(CASES.map((c) => [`rows=${c.rows} K=${c.K} N=${c.N} vocab=${c.vocab} ${c.format}${c.rope ? ' rope' : ''}`, c] as const))('%s: x gets the table rows, y matches the CPU and embed + matmul', async (_t, c) => {
    const { rows, K, N, vocab, format } = c;
    const rope = c.rope ? { nHeads: 3, nKvHeads: 1, headDim: 12, ropeTheta: 1e6, context: 16, kvFormat: 'f32' as const } : undefined;
    const opts: MatmulOptions = { N, K, format, bias: true, norm: { eps: EPS }, rope, maxRows: rows, label: 'qkv' };
    if (matmulStorageBuffers({ ...opts, embed: true }, format) > ctx.caps.limits.maxStorageBuffersPerShaderStage) {
      // q8 with RoPE binds 12 (x, W, scales, bias, y, 4 rope, ids, table words and scales): over the weak
      // profile's 10, where the model keeps the embed dispatch; the case runs on the full profile. (q4 keeps its
      // scales in the words: 10 with RoPE, so it runs on both.)
      expect([format, Boolean(rope), matmulStorageBuffers({ ...opts, embed: true }, format)]).toEqual(['q8', true, 12]);
      return;
    }
    const seed = rows * 31 + K + N;
    const tablePacked = packWeight(randomNormal(vocab * K, seed, 2), vocab, K, format);
    const table = dequantize(tablePacked);
    const wPacked = packWeight(randomNormal(N * K, seed + 1, 0.3), N, K, format);
    const bias = randomNormal(N, seed + 2);
    const tokens = ids(c);
    const xRows = new Float32Array(rows * K);
    tokens.forEach((t, r) => {
      if (t < vocab) xRows.set(table.subarray(t * K, (t + 1) * K), r * K);
    });

    const fused = new MatmulKernel(ctx, { ...opts, embed: true, label: 'qkv+embed' });
    const plain = new MatmulKernel(ctx, opts);
    const embed = new EmbedKernel(ctx, { dim: K, vocab, format, maxRows: rows });
    await ctx.pipelines.compile();
    const tw = uploadWeight(ctx, 'embed', tablePacked);
    const w = uploadWeight(ctx, 'w', wPacked);
    const qDim = rope ? rope.nHeads * rope.headDim : N;
    const kvDim = rope ? rope.nKvHeads * rope.headDim : 0;
    const caches = [0, 1].map(() => (rope ? new KvCache(ctx, { nLayers: 1, kvDim, heads: rope.nKvHeads, slots: 1, context: rope.context, format: 'f32' }) : null));
    const meta = uploadBuffer(ctx, 'meta', Uint32Array.from({ length: 2 * rows }, (_, i) => (i % 2 === 0 ? i / 2 : 0)));
    const ropeOf = (i: number) => (caches[i] ? { rope: { meta, kCache: caches[i]!.k(0), vCache: caches[i]!.v(0) } } : {});
    const tb = uploadBuffer(ctx, 'tokens', tokens);
    const bb = uploadBuffer(ctx, 'bias', bias);
    const x1 = uploadBuffer(ctx, 'x1', randomNormal(rows * K, seed + 3)); // garbage the fused kernel overwrites
    const x2 = createBuffer(ctx, 'x2', rows * K * 4);
    const y1 = createBuffer(ctx, 'y1', rows * qDim * 4);
    const y2 = createBuffer(ctx, 'y2', rows * qDim * 4);
    const b1 = fused.bind(w, x1, y1, bb, { ...ropeOf(0), embed: { table: tw, tokens: tb } });
    const b2 = plain.bind(w, x2, y2, bb, ropeOf(1));
    const eb = embed.bind(tw, tb, x2);
    const before = ctx.stats.dispatches;
    record(ctx, (pass) => fused.encode(pass, b1, rows));
    expect(ctx.stats.dispatches - before).toBe(1);
    record(ctx, (pass) => {
      embed.encode(pass, eb, rows);
      plain.encode(pass, b2, rows);
    });

    expect(Array.from(await readF32(ctx, x1, rows * K))).toEqual(Array.from(xRows));
    const got = await readF32(ctx, y1, rows * qDim);
    const viaTwo = await readF32(ctx, y2, rows * qDim);
    assertClose(got, viaTwo, 1e-5 * maxAbs(viaTwo), 1e-5, 'fused vs embed + matmul');
    if (!rope) assertClose(got, matmulFused(xRows, dequantize(wPacked), rows, K, N, { bias, normEps: EPS }), 1e-4, 1e-4, 'fused vs CPU');
    else {
      const [k1, k2] = [await readF32(ctx, caches[0]!.k(0), rows * kvDim), await readF32(ctx, caches[1]!.k(0), rows * kvDim)];
      assertClose(k1, k2, 1e-5 * maxAbs(k2), 1e-5, 'K cache');
    }
    for (const b of [tb, bb, x1, x2, y1, y2, meta, b1.params, b2.params, eb.params]) b.destroy();
    for (const cache of caches) cache?.destroy();
    destroyWeight(tw);
    destroyWeight(w);
    for (const k of [fused, plain, embed]) k.destroy();
  });

  it('rejects prefill sizes, GGUF-style formats, a missing table and a table of another format, with typed errors', () => {
    const base: MatmulOptions = { N: 32, K: 32, format: 'q4', bias: true, norm: { eps: EPS }, embed: true, maxRows: 2, label: 'bad' };
    expect(() => new MatmulKernel(ctx, { ...base, maxRows: 17 })).toThrow(/decode only/);
    expect(() => new MatmulKernel(ctx, { ...base, gain: true })).toThrow(/without gain/);
    const k = new MatmulKernel(ctx, base);
    const w = uploadWeight(ctx, 'w', packWeight(randomNormal(32 * 32, 1), 32, 32, 'q4'));
    const t8 = uploadWeight(ctx, 't', packWeight(randomNormal(10 * 32, 2), 10, 32, 'q8'));
    const [x, y, b, t] = [createBuffer(ctx, 'x', 256), createBuffer(ctx, 'y', 256), createBuffer(ctx, 'b', 128), createBuffer(ctx, 't', 16)];
    expect(() => k.bind(w, x, y, b)).toThrow(/embedding table and tokens are required/);
    expect(() => k.bind(w, x, y, b, { embed: { table: t8, tokens: t } })).toThrow(/must be one q4 chunk/);
    for (const buf of [x, y, b, t]) buf.destroy();
    destroyWeight(w);
    destroyWeight(t8);
    k.destroy();
  });
});
