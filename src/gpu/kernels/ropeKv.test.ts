import { describe, it, expect, beforeAll } from 'vitest';
import { nodeContext, PROFILES } from '../test-device';
import type { GpuContext } from '../context';
import type { KvFormat } from '../../protocol/engine';
import { uploadBuffer, createBuffer, readF32, readBuffer } from '../buffers';
import { RopeKvKernel, ropeTable } from './ropeKv';
import { KvCache } from '../kv';
import { ropeAppendKv, cpuKvLayer, f16BitsToF32 } from '../../cpu/rope';
import { randomNormal } from '../../cpu/random';
import { assertClose } from '../../cpu/compare';

const CONTEXT = 40964;
const THETA = 1_000_000;

/** A q8 cache entry (slot, pos): its int8 codes [kvDim] and one scale per head (after the slots' codes). */
async function readQ8(ctx: GpuContext, buf: GPUBuffer, kvDim: number, heads: number, slots: number, slot: number, pos: number): Promise<{ codes: Int8Array; scales: Float32Array }> {
  const codes = new Int8Array(await readBuffer(ctx, buf, kvDim, (slot * CONTEXT + pos) * kvDim));
  const scales = new Float32Array(await readBuffer(ctx, buf, 4 * heads, slots * CONTEXT * kvDim + (slot * CONTEXT + pos) * heads * 4));
  return { codes, scales };
}

/** One cache entry (slot, pos) [kvDim] read back from a GPU cache buffer as numbers (q8: code * scale). */
async function readEntry(ctx: GpuContext, buf: GPUBuffer, format: KvFormat, kvDim: number, slot: number, pos: number, heads = 1, slots = 2): Promise<Float32Array> {
  if (format === 'q8') {
    const { codes, scales } = await readQ8(ctx, buf, kvDim, heads, slots, slot, pos);
    const hd = kvDim / heads;
    return Float32Array.from(codes, (c, i) => Math.fround(c * scales[Math.floor(i / hd)]));
  }
  const bpe = format === 'f16' ? 2 : 4;
  const raw = await readBuffer(ctx, buf, kvDim * bpe, (slot * CONTEXT + pos) * kvDim * bpe);
  if (format === 'f32') return new Float32Array(raw);
  return Float32Array.from(new Uint16Array(raw), f16BitsToF32);
}

describe('ropeTable', () => {
  it('holds cos and sin of f64 angles, exact at large positions', () => {
    const t = ropeTable(64, THETA, 40001);
    const half = 32;
    for (const [p, i] of [[0, 0], [1, 0], [40000, 0], [40000, 5], [40000, 31], [12345, 17]]) {
      const a = p * Math.pow(THETA, (-2 * i) / 64);
      expect(t[(p * half + i) * 2]).toBe(Math.fround(Math.cos(a)));
      expect(t[(p * half + i) * 2 + 1]).toBe(Math.fround(Math.sin(a)));
    }
    // pos 40000, i 0: angle 40000 rad, where f32 angle arithmetic would be off by ~2e-3
    expect(Math.abs(t[(40000 * half) * 2] - Math.cos(40000))).toBeLessThan(1e-7);
  });
});

describe.each(Object.entries(PROFILES))('rope + kv append on the %s profile', (_name, profile) => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await nodeContext(profile);
  });

  it.each([
    [6, 2, 24, 'f16'],
    [6, 2, 24, 'f32'],
    [3, 3, 64, 'f16'],
    [3, 3, 64, 'f32'],
    [6, 2, 24, 'q8'],
    [3, 3, 64, 'q8'],
    [4, 2, 128, 'q8'],
    [2, 1, 36, 'q8'],
  ] as const)('nHeads %i / nKvHeads %i, headDim %i, %s cache: q, k, v match the CPU twin', async (nHeads, nKvHeads, headDim, format) => {
    const shape = { nHeads, nKvHeads, headDim, ropeTheta: THETA, context: CONTEXT };
    const qDim = nHeads * headDim;
    const kvDim = nKvHeads * headDim;
    const rows = 7;
    const slots = 2;
    // (pos, slot): small, awkward and large positions, several slots, including the last position
    const meta = new Uint32Array([0, 0, 1, 0, 37, 1, 1000, 1, 40000, 1, 40001, 0, CONTEXT - 1, 0]);
    const qkv = randomNormal(rows * (qDim + 2 * kvDim), headDim * 7 + nHeads, 2);
    // row 2 far past the f16 range (an f16 cache clamps it to ±65504; pack2x16float alone is undefined there)
    const stride = qDim + 2 * kvDim;
    for (let i = 2 * stride; i < 3 * stride; i++) qkv[i] *= 1e5;

    const kernel = new RopeKvKernel(ctx, { ...shape, kvFormat: format, maxRows: 8 });
    await ctx.pipelines.compile(); // the kernel's pipelines, asynchronously
    const cache = new KvCache(ctx, { nLayers: 1, kvDim, heads: nKvHeads, slots, context: CONTEXT, format });
    const qkvB = uploadBuffer(ctx, 'qkv', qkv);
    const metaB = uploadBuffer(ctx, 'meta', meta);
    const qOut = createBuffer(ctx, 'qOut', 8 * qDim * 4);
    const bound = kernel.bind(qkvB, metaB, qOut, cache.k(0), cache.v(0));
    const enc = ctx.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    kernel.encode(pass, bound, rows);
    pass.end();
    ctx.submit([enc.finish()]);

    const cpu = cpuKvLayer(slots, CONTEXT, kvDim);
    const wantQ = ropeAppendKv(shape, format, qkv, meta, rows, cpu);
    const gotQ = await readF32(ctx, qOut, rows * qDim);
    assertClose(gotQ, wantQ, 2e-5, 1e-5, 'q');
    // f16 rounding may differ by one f16 ulp (2^-10 relative) where the f32 inputs differ slightly
    const [atol, rtol] = format === 'f16' ? [1e-6, 1e-3] : [2e-5, 1e-5];
    if (format === 'q8') {
      // against the unquantized values (the f32 twin): within half a step of each vector's scale = amax / 127;
      // against the q8 twin: the same scales, and the same codes but where f32 vs f64 rotation crosses a rounding tie
      const exact = cpuKvLayer(slots, CONTEXT, kvDim);
      ropeAppendKv(shape, 'f32', qkv, meta, rows, exact);
      let same = 0;
      let total = 0;
      for (let r = 0; r < rows; r++) {
        const [pos, slot] = [meta[2 * r], meta[2 * r + 1]];
        const off = (slot * CONTEXT + pos) * kvDim;
        for (const [buf, ref, twin] of [[cache.k(0), exact.k, cpu.k], [cache.v(0), exact.v, cpu.v]] as const) {
          const { codes, scales } = await readQ8(ctx, buf, kvDim, nKvHeads, slots, slot, pos);
          for (let h = 0; h < nKvHeads; h++) {
            const x = Array.from(ref.subarray(off + h * headDim, off + (h + 1) * headDim));
            const amax = Math.max(...x.map(Math.abs));
            expect(Math.abs(scales[h] - amax / 127)).toBeLessThanOrEqual((amax / 127) * 1e-5);
            expect(Math.max(...Array.from(codes.subarray(h * headDim, (h + 1) * headDim), Math.abs))).toBe(127);
            for (let d = 0; d < headDim; d++) {
              const got = codes[h * headDim + d] * scales[h];
              expect(Math.abs(got - x[d])).toBeLessThanOrEqual(scales[h] * 0.5001);
              const want = twin[off + h * headDim + d];
              expect(Math.abs(got - want)).toBeLessThanOrEqual(scales[h] * 1.0001);
              // the twin's code (its scale differs from the GPU's by the f32 vs f64 amax, ~1e-7 relative)
              if (Math.round(want / scales[h]) === codes[h * headDim + d]) same++;
              total++;
            }
          }
        }
      }
      expect(same / total).toBeGreaterThan(0.99);
    } else {
    for (let r = 0; r < rows; r++) {
      const [pos, slot] = [meta[2 * r], meta[2 * r + 1]];
      const off = (slot * CONTEXT + pos) * kvDim;
      assertClose(await readEntry(ctx, cache.k(0), format, kvDim, slot, pos), cpu.k.subarray(off, off + kvDim), atol, rtol, `k row ${r}`);
      assertClose(await readEntry(ctx, cache.v(0), format, kvDim, slot, pos), cpu.v.subarray(off, off + kvDim), atol, rtol, `v row ${r}`);
    }
    }
    if (format === 'f16') {
      const big = await readEntry(ctx, cache.v(0), format, kvDim, meta[5], meta[4]);
      expect(Array.from(big).every((v) => Number.isFinite(v) && Math.abs(v) <= 65504)).toBe(true);
      expect(Array.from(big).some((v) => Math.abs(v) === 65504)).toBe(true);
    }
    // entries no row wrote stay zero
    for (const [slot, pos] of [[0, 2], [1, 0], [0, 40000], [1, 38]]) {
      expect(Array.from(await readEntry(ctx, cache.k(0), format, kvDim, slot, pos, nKvHeads, slots)).every((x) => x === 0)).toBe(true);
      expect(Array.from(await readEntry(ctx, cache.v(0), format, kvDim, slot, pos, nKvHeads, slots)).every((x) => x === 0)).toBe(true);
    }
    // rotation preserves the norm of each pair: a check independent of the twin
    const half = headDim / 2;
    const r = 4;
    for (let i = 0; i < half; i++) {
      const a = qkv[r * stride + i];
      const b = qkv[r * stride + i + half];
      const ra = gotQ[r * qDim + i];
      const rb = gotQ[r * qDim + i + half];
      expect(Math.hypot(ra, rb)).toBeCloseTo(Math.hypot(a, b), 4);
    }
    cache.destroy();
    kernel.destroy();
  });
});
