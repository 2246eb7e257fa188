import { describe, it, expect, beforeAll } from 'vitest';
import { nodeContext, PROFILES } from '../test-device';
import type { GpuContext } from '../context';
import { uploadBuffer, createBuffer, readU32 } from '../buffers';
import { SampleKernel, SAMPLE_RECORD_WORDS, sampleChunks, type RowSampleParams } from './sample';
import { sample } from '../../sampler/sample';
import { samplePartials } from '../../cpu/sample-partial';
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

// the sampler's two shapes: the single full-pass kernel (chunks 0, what CPU adapters get) and the two stages
// with a GPU's chunk count (what every discrete GPU gets)
const STAGES: [string, (validVocab: number) => number][] = [
  ['one stage', () => 0],
  ['two stages', (v) => sampleChunks(v, false)],
];

async function runGpu(ctx: GpuContext, vocab: number, validVocab: number, logits: Float32Array, params: RowSampleParams[], chunks?: number): Promise<Uint32Array> {
  const rows = params.length;
  const kernel = new SampleKernel(ctx, { vocab, validVocab, maxRows: rows + 3, chunks });
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

const CASES = Object.entries(PROFILES).flatMap(([name, profile]) => STAGES.map(([stage, chunksFor]) => [name, stage, profile, chunksFor] as const));

describe.each(CASES)('GPU sampler on the %s profile, %s', (_name, _stage, profile, chunksFor) => {
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
    const gpu = await runGpu(ctx, vocab, validVocab, logits, params, chunksFor(validVocab));
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
    const a = await runGpu(ctx, vocab, validVocab, many, coinsFor(7), chunksFor(validVocab));
    const b = await runGpu(ctx, vocab, validVocab, many, coinsFor(7), chunksFor(validVocab));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(compare(a, many, vocab, validVocab, coinsFor(7))).toBeGreaterThanOrEqual(draws - 1);
    const c = await runGpu(ctx, vocab, validVocab, many, coinsFor(8), chunksFor(validVocab));
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
    const gpu = await runGpu(ctx, vocab, validVocab, logits, params, chunksFor(validVocab));
    expect(compare(gpu, logits, vocab, validVocab, params)).toBe(params.length);
    // the +inf / max-finite row picks only among {200, 250, 300}; the all -inf row gives id 0
    for (const j of [0, 1, 2]) expect([200, 250, 300]).toContain(gpu[2 * 3 + j]);
    for (const j of [0, 1, 2]) expect(gpu[3 * 3 + j]).toBe(0);
  });
});

// the sampler's paths past its fast ones: lists that do not fit (top-k above the list capacity, a flat
// distribution at a high temperature whose top-p set is thousands of ids), heavy ties at the thresholds,
// logits quantized to a few values, and top-k larger than the workgroup
describe.each(CASES)('GPU sampler fallbacks on the %s profile, %s', (_name, _stage, profile, chunksFor) => {
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
    const gpu = await runGpu(ctx, vocab, validVocab, logits, params, chunksFor(validVocab));
    expect(compare(gpu, logits, vocab, validVocab, params)).toBeGreaterThanOrEqual(params.length - 1);
  });

  it('rows 1..16 in one dispatch, each its own setting and seed, vocab not a multiple of the workgroup', async () => {
    const vocab = 4099;
    const validVocab = 4097;
    for (const rows of [1, 2, 5, 8, 13, 16]) {
      const params: RowSampleParams[] = [];
      for (let r = 0; r < rows; r++) {
        const coin = new Rng(1000 * rows + r).next(); // a seed per row: the row's own coin
        params.push({ ...SETTINGS[(r + rows) % SETTINGS.length], coin });
      }
      // peaked rows (std 8, like a model's logits: the two stages finish from the records) and flat ones
      const logits = new Float32Array(rows * vocab);
      for (let r = 0; r < rows; r++) logits.set(randomLogits(1, vocab, validVocab, 31 * rows + r, r % 3 === 0 ? 0.5 : 8), r * vocab);
      const gpu = await runGpu(ctx, vocab, validVocab, logits, params, chunksFor(validVocab));
      expect(compare(gpu, logits, vocab, validVocab, params)).toBeGreaterThanOrEqual(rows - 1);
    }
  });
});

// stage 1's chunk records against their CPU twin (src/cpu/sample-partial.ts)
describe.each(Object.entries(PROFILES))('GPU sampler stage 1 on the %s profile', (_name, profile) => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await nodeContext(profile);
  });

  it.each([
    [4099, 4097, 37, 0.7],
    [1000, 999, 63, 0],
    [151936, 151665, 256, 0.6],
    [45, 45, 3, 1.3],
  ])('vocab %i (valid %i), %i chunks, temperature %f: candidates, floor, maximum and mass equal the CPU twin', async (vocab, validVocab, chunks, temperature) => {
    const rows = 3;
    const logits = randomLogits(rows, vocab, validVocab, vocab + chunks, 3);
    // ties and special values in row 1: a repeated maximum, -inf, NaN, +inf
    for (let i = 0; i < validVocab; i += 5) logits[vocab + i] = Math.round(logits[vocab + i]);
    logits[vocab + 3] = -Infinity;
    logits[vocab + 7] = NaN;
    logits[vocab + 11] = Infinity;
    const params = Array.from({ length: rows }, (_, r) => ({ temperature, topP: 0.9, topK: 0, coin: (r + 0.5) / rows }));
    const kernel = new SampleKernel(ctx, { vocab, validVocab, maxRows: rows, chunks });
    await ctx.pipelines.compile();
    const lb = uploadBuffer(ctx, 'logits', logits);
    const tb = createBuffer(ctx, 'tokens', rows * 4);
    const bound = kernel.bind(lb, undefined, tb);
    kernel.writeParams(params);
    const enc = ctx.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    kernel.encode(pass, bound, rows);
    pass.end();
    ctx.submit([enc.finish()]);
    const words = await readU32(ctx, kernel.candBuffer, rows * chunks * SAMPLE_RECORD_WORDS);
    const gpuIds = await readU32(ctx, tb, rows);
    const f = new Float32Array(words.buffer, words.byteOffset, words.length);
    const keyOf = (x: number) => {
      const b = new Uint32Array(Float32Array.of(x).buffer)[0];
      return (b & 0x80000000 ? ~b : b | 0x80000000) >>> 0;
    };
    const NONE = 0xffffffff;
    for (let r = 0; r < rows; r++) {
      const cpu = samplePartials(logits.subarray(r * vocab, (r + 1) * vocab), validVocab, chunks, Math.fround(temperature));
      cpu.forEach((rec, g) => {
        const o = (r * chunks + g) * SAMPLE_RECORD_WORDS;
        const at = `row ${r} chunk ${g}`;
        expect(words[o + 1], at).toBe(rec.best[0]?.id ?? NONE);
        if (rec.best.length > 0) expect(words[o], at).toBe(keyOf(rec.best[0].logit));
        expect(words[o + 2], at).toBe(rec.floor ? keyOf(rec.floor.logit) : 0);
        for (let q = 0; q < 4; q++) {
          expect(words[o + 4 + q], `${at} candidate ${q}`).toBe(rec.best[q]?.id ?? NONE);
          expect(words[o + 8 + q], `${at} candidate ${q}`).toBe(rec.best[q] ? keyOf(rec.best[q].logit) : 0);
        }
        expect(f[o + 3], at).toBeCloseTo(rec.mass, 4);
        if (rec.mass > 0) expect(Math.abs(f[o + 3] - rec.mass) / rec.mass, at).toBeLessThan(1e-5);
      });
    }
    // and the tokens equal the CPU sampler's
    expect(compare(gpuIds, logits, vocab, validVocab, params)).toBeGreaterThanOrEqual(rows - 1);
    kernel.destroy();
    lb.destroy();
    tb.destroy();
  });
});
