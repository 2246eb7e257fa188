import { describe, it, expect, beforeAll } from 'vitest';
import { nodeContext, PROFILES } from '../test-device';
import type { GpuContext } from '../context';
import type { KvFormat } from '../../protocol/engine';
import { uploadBuffer, createBuffer, readF32, writeBuffer } from '../buffers';
import { AttentionKernel, chooseDecode, type AttentionPath } from './attention';
import { DECODE_TARGET_WORKGROUPS } from './matmul-tiling';
import { ROOFLINE_TARGETS, dispatchSeconds, roofline, MEMORY_LATENCY_S } from '../roofline';
import { KvCache } from '../kv';
import { attention } from '../../cpu/attention';
import { cpuKvLayer, f32ToF16Bits, quantizeQ8, roundF16, type CpuKvLayer } from '../../cpu/rope';
import { randomNormal } from '../../cpu/random';
import { assertClose } from '../../cpu/compare';

const CONTEXT = 1100;
const SLOTS = 3;

// a q8 CPU cache array's GPU bytes (codes, then one f32 scale per head vector), by the array
const q8Bytes = new Map<Float32Array, Uint8Array>();

/** Quantizes a [vectors x headDim] array in place to code * scale (the twin's q8) and keeps its GPU bytes. */
function quantizeCache(a: Float32Array, headDim: number): void {
  const n = a.length / headDim;
  const bytes = new Uint8Array(a.length + 4 * n);
  const codes = new Int8Array(bytes.buffer, 0, a.length);
  const scales = new Float32Array(bytes.buffer, a.length, n);
  for (let i = 0; i < n; i++) {
    const c = codes.subarray(i * headDim, (i + 1) * headDim);
    scales[i] = quantizeQ8(a.subarray(i * headDim, (i + 1) * headDim), c);
    for (let d = 0; d < headDim; d++) a[i * headDim + d] = Math.fround(c[d] * scales[i]);
  }
  q8Bytes.set(a, bytes);
}

/** A CPU cache with random K and V at every position, rounded through f16 for the f16 format, quantized for q8. */
function randomCache(kvDim: number, format: KvFormat, seed: number, slots = SLOTS, context = CONTEXT, headDim = kvDim): CpuKvLayer {
  const c = cpuKvLayer(slots, context, kvDim);
  c.k.set(randomNormal(c.k.length, seed));
  c.v.set(randomNormal(c.v.length, seed + 1));
  if (format === 'f16') {
    for (const a of [c.k, c.v]) for (let i = 0; i < a.length; i++) a[i] = roundF16(a[i]);
  }
  if (format === 'q8') for (const a of [c.k, c.v]) quantizeCache(a, headDim);
  return c;
}

/** The CPU cache in the GPU's byte format. */
function packed(a: Float32Array, format: KvFormat): ArrayBufferView {
  if (format === 'f32') return a;
  if (format === 'q8') return q8Bytes.get(a)!;
  return Uint16Array.from(a, f32ToF16Bits);
}

// (pos, slot) per row for each scenario
const SCENARIOS: Record<string, number[]> = {
  'one row, cache length 1': [0, 0],
  'two rows, two slots, cache 50 and 1034': [49, 2, 1033, 0],
  'several slots with different positions': [5, 2, 1099, 0, 300, 2, 0, 1, 64, 0],
  '37 prefill rows of one slot after 980 cached positions': Array.from({ length: 37 }, (_, r) => [980 + r, 1]).flat(),
  '37 rows mixing slots and lengths': Array.from({ length: 37 }, (_, r) => [(r * 389) % 1100, r % 3]).flat(),
};

describe.each(Object.entries(PROFILES))('attention on the %s profile', (_name, profile) => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await nodeContext(profile);
  });

  describe.each([
    [6, 2, 24, 'f16'],
    [6, 2, 24, 'f32'],
    [3, 3, 64, 'f16'],
    [3, 3, 64, 'f32'],
    [6, 2, 24, 'q8'],
    [3, 3, 64, 'q8'],
  ] as const)('nHeads %i / nKvHeads %i, headDim %i, %s cache', (nHeads, nKvHeads, headDim, format) => {
    it.each(Object.keys(SCENARIOS))('%s: both paths match the CPU and each other', async (scenario) => {
      const shape = { nHeads, nKvHeads, headDim, context: CONTEXT };
      const qDim = nHeads * headDim;
      const kvDim = nKvHeads * headDim;
      const meta = new Uint32Array(SCENARIOS[scenario]);
      const rows = meta.length / 2;
      const maxPos = Math.max(...Array.from({ length: rows }, (_, r) => meta[2 * r] + 1));
      const cpuCache = randomCache(kvDim, format, headDim + nHeads, SLOTS, CONTEXT, headDim);
      const q = randomNormal(rows * qDim, rows * 31 + headDim, 2);
      const want = attention(shape, q, meta, rows, cpuCache);

      const kernel = new AttentionKernel(ctx, { ...shape, kvFormat: format, maxRows: 40 });
      await ctx.pipelines.compile(); // the kernel's pipelines, asynchronously
      const cache = new KvCache(ctx, { nLayers: 1, kvDim, heads: nKvHeads, slots: SLOTS, context: CONTEXT, format });
      writeBuffer(ctx, cache.k(0), 0, packed(cpuCache.k, format));
      writeBuffer(ctx, cache.v(0), 0, packed(cpuCache.v, format));
      const qB = uploadBuffer(ctx, 'q', q);
      const metaB = uploadBuffer(ctx, 'meta', meta);
      const outB = createBuffer(ctx, 'out', 40 * qDim * 4);
      const bound = kernel.bind(qB, metaB, cache.k(0), cache.v(0), outB);
      const results: Partial<Record<AttentionPath, Float32Array>> = {};
      for (const path of ['decode', 'prefill'] as const) {
        const before = ctx.stats.dispatches;
        const enc = ctx.device.createCommandEncoder();
        const pass = enc.beginComputePass();
        kernel.encode(pass, bound, rows, maxPos, path);
        pass.end();
        ctx.submit([enc.finish()]);
        // a decode step over one split is the tiled kernel alone; more splits add the combine dispatch
        expect(ctx.stats.dispatches - before).toBe(path === 'decode' && kernel.splitsFor(rows, maxPos) > 1 ? 2 : 1);
        const got = await readF32(ctx, outB, rows * qDim);
        assertClose(got, want, 2e-5, 1e-4, `${path} path`);
        results[path] = got;
      }
      assertClose(results.prefill!, results.decode!, 2e-5, 1e-4, 'prefill vs decode');
      cache.destroy();
      kernel.destroy();
    });
  });

  it('decodes rows over 8200 cached positions in 129 and 66 splits', async () => {
    const shape = { nHeads: 6, nKvHeads: 2, headDim: 24, context: 8200 };
    const kvDim = 48;
    const meta = new Uint32Array([8199, 0, 5432, 0]);
    const cpu = cpuKvLayer(1, shape.context, kvDim);
    cpu.k.set(randomNormal(cpu.k.length, 5).map(roundF16));
    cpu.v.set(randomNormal(cpu.v.length, 6).map(roundF16));
    const q = randomNormal(2 * 6 * 24, 77, 3);
    const want = attention(shape, q, meta, 2, cpu);
    const kernel = new AttentionKernel(ctx, { ...shape, kvFormat: 'f16', maxRows: 8 });
    await ctx.pipelines.compile(); // the kernel's pipelines, asynchronously
    expect(kernel.splitsFor(1, 8200)).toBe(129); // 64 positions a split
    expect(kernel.splitsFor(2, 8200)).toBe(66); // 2 rows x 2 kv heads x 66 splits >= DECODE_TARGET_WORKGROUPS
    const cache = new KvCache(ctx, { nLayers: 1, kvDim, heads: 2, slots: 1, context: shape.context, format: 'f16' });
    writeBuffer(ctx, cache.k(0), 0, packed(cpu.k, 'f16'));
    writeBuffer(ctx, cache.v(0), 0, packed(cpu.v, 'f16'));
    const outB = createBuffer(ctx, 'out', 2 * 6 * 24 * 4);
    const bound = kernel.bind(uploadBuffer(ctx, 'q', q), uploadBuffer(ctx, 'meta', meta), cache.k(0), cache.v(0), outB);
    for (const rows of [1, 2]) {
      const enc = ctx.device.createCommandEncoder();
      const pass = enc.beginComputePass();
      kernel.encode(pass, bound, rows, 8200, 'decode');
      pass.end();
      ctx.submit([enc.finish()]);
      assertClose(await readF32(ctx, outB, rows * 144), want.subarray(0, rows * 144), 2e-5, 1e-4, `${rows} rows`);
    }
    cache.destroy();
    kernel.destroy();
  });

  it('splits long caches on the decode path and picks the path by rows', async () => {
    const kernel = new AttentionKernel(ctx, { nHeads: 12, nKvHeads: 2, headDim: 128, context: 65536, kvFormat: 'f16', maxRows: 512 });
    expect(kernel.pathFor(1)).toBe('decode');
    expect(kernel.pathFor(512)).toBe('prefill');
    expect(kernel.splitsFor(1, 1)).toBe(1);
    expect(kernel.splitsFor(1, 64)).toBe(1); // one split: no combine dispatch
    expect(kernel.splitsFor(1, 65)).toBe(2); // at least 64 positions a split
    expect(kernel.splitsFor(1, 100)).toBe(2);
    expect(DECODE_TARGET_WORKGROUPS).toBe(264);
    expect(kernel.splitsFor(1, 50000)).toBe(132); // one long row: 132 splits x 2 kv heads = 264 workgroups
    expect(kernel.splitsFor(16, 50000)).toBe(9); // 16 rows x 2 kv heads x 9 splits >= 264
    expect(kernel.splitsFor(64, 50000)).toBe(3);
    // the decode entry: the 6 query heads of a kv head in one workgroup, 4 lanes per position (4 chunks each)
    expect(kernel.decodeShape).toMatchObject({ gw: 6, hg: 1, t: 4, bk: 32 });
    // the real model's shape fits this device's workgroup memory with rows tiled
    expect(kernel.prefillTiling.br).toBeGreaterThanOrEqual(1);
    kernel.destroy();
  });
});

// The decode path on its own over the lengths around its thresholds (one split up to 64 positions, then more and a
// combine dispatch) and long ones, for GQA ratios 1, 6 (the 1.5B: 12 / 2 heads, headDim 128), 2 with headDim 24
// (3 chunks a position) and 9 with headDim 20 (two head groups of 5 and 4 heads; f16: not whole 16-byte chunks, so
// entry `main` in PARTIAL mode), f16, f32 and q8 caches (q8: headDim 48 is 3 chunks of 16 codes; 20 takes entry
// `main`), rows in two slots.
const LONG_CONTEXT = 4100;
const LENGTHS = [1, 63, 64, 65, 1000, 4097];

describe.each(Object.entries(PROFILES))('decode attention on the %s profile', (_name, profile) => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await nodeContext(profile);
  });

  describe.each([
    [2, 2, 64, 'f16'],
    [2, 2, 64, 'f32'],
    [12, 2, 128, 'f16'],
    [12, 2, 128, 'f32'],
    [4, 2, 24, 'f16'],
    [9, 1, 20, 'f16'],
    [9, 1, 20, 'f32'],
    [2, 2, 64, 'q8'],
    [12, 2, 128, 'q8'],
    [4, 2, 48, 'q8'],
    [9, 1, 20, 'q8'],
  ] as const)('nHeads %i / nKvHeads %i, headDim %i, %s cache', (nHeads, nKvHeads, headDim, format) => {
    it('one row at each length and all of them in one step match the CPU', async () => {
      const shape = { nHeads, nKvHeads, headDim, context: LONG_CONTEXT };
      const qDim = nHeads * headDim;
      const kvDim = nKvHeads * headDim;
      const cpuCache = randomCache(kvDim, format, headDim + 7 * nHeads, 2, LONG_CONTEXT, headDim);
      const kernel = new AttentionKernel(ctx, { ...shape, kvFormat: format, maxRows: 8 });
      expect(kernel.decodeShape === null).toBe(headDim % (format === 'f16' ? 8 : format === 'q8' ? 16 : 4) !== 0);
      if (kernel.decodeShape) expect(kernel.decodeShape.hg).toBe(Math.ceil(nHeads / nKvHeads / 8));
      await ctx.pipelines.compile();
      const cache = new KvCache(ctx, { nLayers: 1, kvDim, heads: nKvHeads, slots: 2, context: LONG_CONTEXT, format });
      writeBuffer(ctx, cache.k(0), 0, packed(cpuCache.k, format));
      writeBuffer(ctx, cache.v(0), 0, packed(cpuCache.v, format));
      const qB = createBuffer(ctx, 'q', 8 * qDim * 4);
      const metaB = createBuffer(ctx, 'meta', 8 * 8);
      const outB = createBuffer(ctx, 'out', 8 * qDim * 4);
      const bound = kernel.bind(qB, metaB, cache.k(0), cache.v(0), outB);
      const run = async (meta: Uint32Array, seed: number, what: string) => {
        const rows = meta.length / 2;
        const maxPos = Math.max(...Array.from({ length: rows }, (_, r) => meta[2 * r] + 1));
        const q = randomNormal(rows * qDim, seed, 2);
        writeBuffer(ctx, qB, 0, q);
        writeBuffer(ctx, metaB, 0, meta);
        const splits = kernel.splitsFor(rows, maxPos);
        const before = ctx.stats.dispatches;
        const enc = ctx.device.createCommandEncoder();
        const pass = enc.beginComputePass();
        kernel.encode(pass, bound, rows, maxPos, 'decode');
        pass.end();
        ctx.submit([enc.finish()]);
        // one split: a single dispatch; more: the combine dispatch too
        expect(ctx.stats.dispatches - before, what).toBe(splits > 1 ? 2 : 1);
        assertClose(await readF32(ctx, outB, rows * qDim), attention(shape, q, meta, rows, cpuCache), 2e-5, 1e-4, what);
        return splits;
      };
      for (const n of LENGTHS) {
        const splits = await run(new Uint32Array([n - 1, n % 2]), n, `one row over ${n} positions`);
        expect(splits === 1).toBe(n <= 64);
      }
      await run(new Uint32Array(LENGTHS.flatMap((n, r) => [n - 1, r % 2])), 99, 'six rows in one step');
      cache.destroy();
      kernel.destroy();
      for (const b of [qB, metaB, outB, ...bound.params]) b.destroy();
    });
  });

  it('decode over 32K positions fills an H200 and is bandwidth-bound in the roofline', async () => {
    const [nHeads, nKvHeads, headDim, context] = [12, 2, 128, 32768];
    const kernel = new AttentionKernel(ctx, { nHeads, nKvHeads, headDim, context, kvFormat: 'f16', maxRows: 16 });
    await ctx.pipelines.compile();
    const small = (label: string, bytes: number) => createBuffer(ctx, label, bytes);
    const bound = kernel.bind(small('q', 16 * nHeads * headDim * 4), small('meta', 16 * 8), small('k', context * nKvHeads * headDim * 2), small('v', context * nKvHeads * headDim * 2), small('out', 16 * nHeads * headDim * 4));
    const h200 = ROOFLINE_TARGETS.h200;
    for (const rows of [1, 4, 16]) {
      ctx.trace = [];
      const enc = ctx.device.createCommandEncoder();
      const pass = enc.beginComputePass();
      kernel.encode(pass, bound, rows, context, 'decode');
      pass.end();
      enc.finish();
      const [dec, comb] = ctx.trace;
      ctx.trace = null;
      expect(dec.kernel).toBe('attention-decode');
      expect(comb.kernel).toBe('attention-combine');
      expect(dec.workgroups).toBeGreaterThanOrEqual(DECODE_TARGET_WORKGROUPS);
      // K and V once: 2 x rows x 32768 x 256 f16 values
      expect(dec.bytesRead).toBe(rows * nHeads * headDim * 4 + 2 * rows * context * nKvHeads * headDim * 2);
      // the K/V stream outlasts the chain of dependent round trips
      expect(dec.bytesRead / h200.bandwidth).toBeGreaterThan(dec.chain * MEMORY_LATENCY_S);
      expect(dispatchSeconds(dec, h200)).toBeCloseTo((dec.bytesRead + dec.bytesWritten) / h200.bandwidth, 12);
      const r = roofline([dec, comb], rows, { dispatches: 2, apiCalls: 0, submits: 0, writes: 0, readbacks: 0 }, dec.bytesRead);
      expect(r.under_filled.h200['attention-decode']).toBeUndefined();
    }
    kernel.destroy();
  });
});

describe('chooseDecode', () => {
  it('fits the models and falls back where a position is not whole 16-byte chunks', () => {
    // 1.5B (G 6), 7B (G 7), G 12: two head groups of 6; within 16 KiB of workgroup memory
    for (const [g, hd, kv] of [[6, 128, 'f16'], [6, 128, 'f32'], [7, 128, 'f16'], [12, 128, 'f16'], [1, 64, 'f16'], [2, 256, 'f32']] as const) {
      const d = chooseDecode(g, hd, kv, 128, 16384);
      expect(d, `G ${g} headDim ${hd} ${kv}`).not.toBeNull();
      expect(d!.bytes).toBeLessThanOrEqual(16384);
      expect(d!.gw * d!.hg).toBeGreaterThanOrEqual(g);
      expect(d!.gw).toBeLessThanOrEqual(8);
    }
    expect(chooseDecode(12, 128, 'f16', 128, 16384)).toMatchObject({ gw: 6, hg: 2 });
    expect(chooseDecode(6, 20, 'f16', 128, 16384)).toBeNull(); // 20 f16 values: not whole chunks of 8
    expect(chooseDecode(6, 20, 'f32', 128, 16384)).not.toBeNull(); // 5 chunks of 4 f32
    expect(chooseDecode(6, 1024, 'f32', 128, 1 << 20)).toBeNull(); // 256 chunks a position > 128 lanes
    expect(chooseDecode(6, 128, 'q8', 128, 16384)).toMatchObject({ gw: 6, hg: 1, t: 2 }); // 8 chunks of 16 codes
    expect(chooseDecode(6, 24, 'q8', 128, 16384)).toBeNull(); // 24 codes: not whole chunks of 16
  });
});
