import { describe, it, expect, beforeAll } from 'vitest';
import { nodeContext, PROFILES } from '../test-device';
import type { GpuContext } from '../context';
import { uploadBuffer, createBuffer, readU32 } from '../buffers';
import { SampleKernel, type RowSampleParams } from './sample';
import { sample } from '../../sampler/sample';
import { Rng } from '../../sampler/rng';

const F32_MAX = 3.4028234663852886e38;

// the sampling settings every size is tried with (coins are drawn per row)
const SETTINGS: Omit<RowSampleParams, 'coin'>[] = [
  { temperature: 0, topP: 1, topK: 0 }, // greedy
  { temperature: 0.6, topP: 0.95, topK: 0 }, // the model's evaluation setting
  { temperature: 1, topP: 1, topK: 0 }, // plain temperature
  { temperature: 0.8, topP: 1, topK: 40 }, // top-k
  { temperature: 0.6, topP: 0.9, topK: 50 }, // combined
  { temperature: 0.7, topP: 1, topK: 1 }, // top-k 1 = greedy
  { temperature: 1.3, topP: 1e-6, topK: 0 }, // tiny top-p = greedy
  { temperature: 1.1, topP: 0.5, topK: 0 },
];

/** f32-rounded params, as the GPU sees them. */
function asF32(p: RowSampleParams): RowSampleParams {
  return { temperature: Math.fround(p.temperature), topP: Math.fround(p.topP), topK: p.topK, coin: Math.fround(p.coin) };
}

async function runGpu(ctx: GpuContext, vocab: number, validVocab: number, logits: Float32Array, params: RowSampleParams[]): Promise<Uint32Array> {
  const rows = params.length;
  const kernel = new SampleKernel(ctx, { vocab, validVocab, maxRows: rows + 3 });
  await ctx.pipelines.compile(); // the kernel's pipelines, asynchronously
  const lb = uploadBuffer(ctx, 'logits', logits);
  const tb = createBuffer(ctx, 'tokens', (rows + 3) * 4);
  const bound = kernel.bind(lb, undefined, tb);
  kernel.writeParams(params);
  const enc = ctx.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  kernel.encode(pass, bound, rows);
  pass.end();
  ctx.submit([enc.finish()]);
  const out = await readU32(ctx, tb, rows);
  kernel.destroy();
  lb.destroy();
  tb.destroy();
  return out;
}

/**
 * GPU ids vs the CPU sampler: equal, except where f32-vs-f64 rounding moves the pick across a boundary
 * (with the full vocabulary at temperature 1, thousands of tiny-probability ids lie within 1e-6 of mass:
 * the GPU's f32 sums then pick a neighbour). Such an id must lie between the CPU's picks for the coin
 * nudged by -1e-5 and +1e-5. Returns the count of exact matches.
 */
function compare(gpu: Uint32Array, logits: Float32Array, vocab: number, validVocab: number, params: RowSampleParams[]): number {
  let exact = 0;
  params.forEach((p0, r) => {
    const p = asF32(p0);
    const row = logits.subarray(r * vocab, (r + 1) * vocab);
    const want = sample(row, p, p.coin, validVocab);
    expect(gpu[r]).toBeLessThan(validVocab);
    if (gpu[r] === want) {
      exact++;
      return;
    }
    // the kept ids are walked in index order, so the CPU's picks for coins within 1e-5 bracket the GPU's
    const [lo, hi] = [Math.max(0, p.coin - 1e-5), Math.min(1 - 2 ** -24, p.coin + 1e-5)].map((c) => sample(row, p, c, validVocab));
    expect(gpu[r], `row ${r} (${JSON.stringify(p)}): GPU ${gpu[r]}, CPU ${want}`).toBeGreaterThanOrEqual(lo);
    expect(gpu[r], `row ${r} (${JSON.stringify(p)}): GPU ${gpu[r]}, CPU ${want}`).toBeLessThanOrEqual(hi);
  });
  return exact;
}

function randomLogits(rows: number, vocab: number, validVocab: number, seed: number, std: number): Float32Array {
  const rng = new Rng(seed);
  const l = new Float32Array(rows * vocab);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < vocab; i++) l[r * vocab + i] = i < validVocab ? rng.normal() * std : 1e30; // padding rows would win if read
  }
  return l;
}

describe.each(Object.entries(PROFILES))('GPU sampler on the %s profile', (_name, profile) => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await nodeContext(profile);
  });

  it.each([
    [151936, 151665, 3],
    [1000, 999, 2],
    [300, 257, 1.5],
    [37, 33, 1],
  ])('vocab %i (valid %i): equals the CPU sampler for greedy, temperature, top-k, top-p and combined', async (vocab, validVocab, std) => {
    const coins = new Rng(vocab);
    // every setting twice with random coins; at the small sizes also with a coin just under 1 and with coin 0
    // (the full vocabulary is slow on a CPU-emulated GPU: several passes over 151936 logits per row)
    const params: RowSampleParams[] = [];
    for (const s of SETTINGS) {
      params.push({ ...s, coin: coins.next() }, { ...s, coin: coins.next() });
      if (vocab < 10000) params.push({ ...s, coin: 1 - 2 ** -24 }, { ...s, coin: 0 });
    }
    const logits = randomLogits(params.length, vocab, validVocab, vocab + 1, std);
    const gpu = await runGpu(ctx, vocab, validVocab, logits, params);
    const exact = compare(gpu, logits, vocab, validVocab, params);
    expect(exact).toBeGreaterThanOrEqual(params.length - 1);
    // settings that must equal greedy: the argmax
    params.forEach((p, r) => {
      if (p.temperature === 0 || p.topK === 1 || p.topP === 1e-6) {
        let best = 0;
        for (let i = 1; i < validVocab; i++) if (logits[r * vocab + i] > logits[r * vocab + best]) best = i;
        expect(gpu[r]).toBe(best);
      }
    });
  });

  it('a seed reproduces a sequence of GPU samples, equal to the CPU sequence', async () => {
    const vocab = 151936;
    const validVocab = 151665;
    const logits = randomLogits(1, vocab, validVocab, 9, 2.5);
    const draws = 8;
    const coinsFor = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: draws }, () => ({ temperature: 0.6, topP: 0.95, topK: 0, coin: rng.next() }));
    };
    // 8 draws from one row: the same logits replicated into 8 rows, each with the next coin
    const many = new Float32Array(draws * vocab);
    for (let r = 0; r < draws; r++) many.set(logits, r * vocab);
    const a = await runGpu(ctx, vocab, validVocab, many, coinsFor(7));
    const b = await runGpu(ctx, vocab, validVocab, many, coinsFor(7));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(compare(a, many, vocab, validVocab, coinsFor(7))).toBeGreaterThanOrEqual(draws - 1);
    const c = await runGpu(ctx, vocab, validVocab, many, coinsFor(8));
    expect(Array.from(c)).not.toEqual(Array.from(a));
  });

  it('handles -inf, NaN, +inf and huge logits without NaN', async () => {
    const vocab = 517;
    const validVocab = 515;
    const rows: Float32Array[] = [];
    const rng = new Rng(3);
    // 0: mostly -inf with a few finite; 1: huge magnitudes; 2: NaN and +inf mixed in; 3: all -inf
    rows.push(Float32Array.from({ length: vocab }, (_, i) => (i % 97 === 5 ? rng.normal() : -Infinity)));
    rows.push(Float32Array.from({ length: vocab }, () => (rng.next() < 0.5 ? 3e38 : -3e38) * rng.next()));
    rows.push(Float32Array.from({ length: vocab }, (_, i) => (i === 100 ? NaN : i === 200 || i === 300 ? Infinity : i === 250 ? F32_MAX : rng.normal())));
    rows.push(new Float32Array(vocab).fill(-Infinity));
    const logits = new Float32Array(rows.length * 3 * vocab);
    const params: RowSampleParams[] = [];
    rows.forEach((row, r) => {
      for (const [j, s] of [SETTINGS[1], SETTINGS[2], SETTINGS[4]].entries()) {
        logits.set(row, (r * 3 + j) * vocab);
        params.push({ ...s, coin: rng.next() });
      }
    });
    const gpu = await runGpu(ctx, vocab, validVocab, logits, params);
    expect(compare(gpu, logits, vocab, validVocab, params)).toBe(params.length);
    // the +inf / max-finite row picks only among {200, 250, 300}; the all -inf row gives id 0
    for (const j of [0, 1, 2]) expect([200, 250, 300]).toContain(gpu[2 * 3 + j]);
    for (const j of [0, 1, 2]) expect(gpu[3 * 3 + j]).toBe(0);
  });
});

// the sampler's paths past its fast ones: lists that do not fit (top-k above the list capacity, a flat
// distribution at a high temperature whose top-p set is thousands of ids), heavy ties at the thresholds,
// logits quantized to a few values, and top-k larger than the workgroup
describe.each(Object.entries(PROFILES))('GPU sampler fallbacks on the %s profile', (_name, profile) => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await nodeContext(profile);
  });

  it('equals the CPU sampler for large top-k, flat top-p and tied or quantized logits', async () => {
    const vocab = 5003;
    const validVocab = 4999;
    const rng = new Rng(77);
    const rowsData: Float32Array[] = [];
    const params: RowSampleParams[] = [];
    const add = (row: Float32Array, p: Omit<RowSampleParams, 'coin'>) => {
      rowsData.push(row);
      params.push({ ...p, coin: rng.next() });
    };
    const normal = (std: number) => Float32Array.from({ length: vocab }, () => rng.normal() * std);
    const quantized = () => Float32Array.from({ length: vocab }, () => Math.round(rng.normal() * 2) / 2);
    add(normal(3), { temperature: 1, topP: 1, topK: 1500 }); // top-k above the list capacity
    add(normal(3), { temperature: 0.9, topP: 1, topK: 300 }); // top-k above the workgroup size
    add(normal(0.3), { temperature: 1.5, topP: 0.9, topK: 0 }); // flat: the top-p set is thousands of ids
    add(normal(0.3), { temperature: 1.5, topP: 0.5, topK: 2000 });
    add(quantized(), { temperature: 0.6, topP: 0.95, topK: 0 }); // ties everywhere
    add(quantized(), { temperature: 1, topP: 1, topK: 40 }); // ties at the k-th value
    add(quantized(), { temperature: 0.7, topP: 0.8, topK: 100 });
    add(new Float32Array(vocab).fill(1.25), { temperature: 1, topP: 0.3, topK: 7 }); // all equal
    add(normal(3), { temperature: 0.05, topP: 0.999, topK: 0 }); // low temperature: mass on few ids
    add(normal(3), { temperature: 1, topP: 0.95, topK: 30 });
    const logits = new Float32Array(rowsData.length * vocab);
    rowsData.forEach((r, i) => logits.set(r, i * vocab));
    const gpu = await runGpu(ctx, vocab, validVocab, logits, params);
    expect(compare(gpu, logits, vocab, validVocab, params)).toBeGreaterThanOrEqual(params.length - 1);
  });
});
