import { describe, it, expect, beforeAll } from 'vitest';
import { nodeContext, PROFILES } from '../test-device';
import type { GpuContext } from '../context';
import type { KvFormat } from '../../protocol/engine';
import { uploadBuffer, createBuffer, readF32, writeBuffer } from '../buffers';
import { AttentionKernel, type AttentionPath } from './attention';
import { KvCache } from '../kv';
import { attention } from '../../cpu/attention';
import { cpuKvLayer, f32ToF16Bits, roundF16, type CpuKvLayer } from '../../cpu/rope';
import { randomNormal } from '../../cpu/random';
import { assertClose } from '../../cpu/compare';

const CONTEXT = 1100;
const SLOTS = 3;

/** A CPU cache with random K and V at every position, rounded through f16 for the f16 format. */
function randomCache(kvDim: number, format: KvFormat, seed: number): CpuKvLayer {
  const c = cpuKvLayer(SLOTS, CONTEXT, kvDim);
  c.k.set(randomNormal(c.k.length, seed));
  c.v.set(randomNormal(c.v.length, seed + 1));
  if (format === 'f16') {
    for (const a of [c.k, c.v]) for (let i = 0; i < a.length; i++) a[i] = roundF16(a[i]);
  }
  return c;
}

/** The CPU cache in the GPU's byte format. */
function packed(a: Float32Array, format: KvFormat): ArrayBufferView {
  if (format === 'f32') return a;
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
  ] as const)('nHeads %i / nKvHeads %i, headDim %i, %s cache', (nHeads, nKvHeads, headDim, format) => {
    it.each(Object.keys(SCENARIOS))('%s: both paths match the CPU and each other', async (scenario) => {
      const shape = { nHeads, nKvHeads, headDim, context: CONTEXT };
      const qDim = nHeads * headDim;
      const kvDim = nKvHeads * headDim;
      const meta = new Uint32Array(SCENARIOS[scenario]);
      const rows = meta.length / 2;
      const maxPos = Math.max(...Array.from({ length: rows }, (_, r) => meta[2 * r] + 1));
      const cpuCache = randomCache(kvDim, format, headDim + nHeads);
      const q = randomNormal(rows * qDim, rows * 31 + headDim, 2);
      const want = attention(shape, q, meta, rows, cpuCache);

      const kernel = new AttentionKernel(ctx, { ...shape, kvFormat: format, maxRows: 40 });
      await ctx.pipelines.compile(); // the kernel's pipelines, asynchronously
      const cache = new KvCache(ctx, { nLayers: 1, kvDim, slots: SLOTS, context: CONTEXT, format });
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

  it('decodes rows over 8200 cached positions in 129 and 128 splits', async () => {
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
    expect(kernel.splitsFor(1, 8200)).toBe(129);
    expect(kernel.splitsFor(2, 8200)).toBe(128);
    const cache = new KvCache(ctx, { nLayers: 1, kvDim, slots: 1, context: shape.context, format: 'f16' });
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
    expect(kernel.splitsFor(1, 100)).toBe(2); // at least 64 positions a split
    expect(kernel.splitsFor(1, 50000)).toBe(256); // one long row: many workgroups
    expect(kernel.splitsFor(16, 50000)).toBe(16); // 16 rows x 2 kv heads x 16 splits = 512 workgroups
    expect(kernel.splitsFor(64, 50000)).toBe(4);
    // the real model's shape fits this device's workgroup memory with rows tiled
    expect(kernel.prefillTiling.br).toBeGreaterThanOrEqual(1);
    kernel.destroy();
  });
});
