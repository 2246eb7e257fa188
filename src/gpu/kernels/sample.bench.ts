// GPU sampler micro-benchmark at the real vocabulary (151936 rows of logits, 151665 valid ids).
// Not part of the test suite (vitest includes only *.test.ts). Run it with
//   npx vitest bench --run src/gpu/kernels/sample.bench.ts
// Environment: BENCH_ONLY=<substring> keeps the cases whose name contains it; BENCH_RUNS=<n> timed runs (default 7);
// BENCH_PROFILE=weak uses the SwiftShader-like profile (no f16, no subgroups, 256 invocations);
// BENCH_STD=<s> the logits' standard deviation (default 3; 8 is as peaked as the synthetic models' logits);
// BENCH_CHUNKS=<g> forces stage 1's chunks per row (0: the single full-pass kernel).
// Each case is built once (pipeline, buffers, bind group), run once to warm up, then timed BENCH_RUNS times:
// one run = one dispatch (all rows) in its own command buffer, submit, wait for onSubmittedWorkDone. The table
// gives the median and the minimum per dispatch in milliseconds, and the median per row.
// Logits are N(0, 3) per row (a different seed per row), coins spread over [0, 1).
import { bench } from 'vitest';
import { nodeContext, PROFILES } from '../test-device';
import type { GpuContext } from '../context';
import { uploadBuffer, createBuffer } from '../buffers';
import { SampleKernel, type RowSampleParams } from './sample';
import { randomNormal } from '../../cpu/random';

const VOCAB = 151936;
const VALID = 151665;

interface Case {
  name: string;
  rows: number;
  params: Omit<RowSampleParams, 'coin'>;
}

const SETTINGS: [string, Omit<RowSampleParams, 'coin'>][] = [
  ['greedy', { temperature: 0, topP: 1, topK: 0 }],
  ['T0.6 top-p0.95', { temperature: 0.6, topP: 0.95, topK: 0 }],
  ['T1 top-k40', { temperature: 1, topP: 1, topK: 40 }],
  ['T0.6 top-k20 top-p0.9', { temperature: 0.6, topP: 0.9, topK: 20 }],
  ['T1 plain', { temperature: 1, topP: 1, topK: 0 }],
];

const CASES: Case[] = [1, 8].flatMap((rows) => SETTINGS.map(([name, params]) => ({ name: `${name} r${rows}`, rows, params })));

async function timeCase(ctx: GpuContext, c: Case, runs: number): Promise<number[]> {
  const chunks = process.env.BENCH_CHUNKS === undefined ? undefined : Number(process.env.BENCH_CHUNKS);
  const kernel = new SampleKernel(ctx, { vocab: VOCAB, validVocab: VALID, maxRows: c.rows, chunks });
  await ctx.pipelines.compile(); // the kernel's pipelines, asynchronously
  const logits = uploadBuffer(ctx, 'logits', randomNormal(c.rows * VOCAB, 11, Number(process.env.BENCH_STD ?? 3)));
  const tokens = createBuffer(ctx, 'tokens', c.rows * 4);
  const b = kernel.bind(logits, undefined, tokens);
  kernel.writeParams(Array.from({ length: c.rows }, (_, i) => ({ ...c.params, coin: (i + 0.5) / (c.rows + 1) })));
  const once = async () => {
    const enc = ctx.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    kernel.encode(pass, b, c.rows);
    pass.end();
    const t0 = performance.now();
    ctx.submit([enc.finish()]);
    await ctx.device.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
  await once(); // warm: pipeline compile, first touch of the buffers
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  logits.destroy();
  tokens.destroy();
  kernel.destroy();
  return times;
}

bench(
  'GPU sampler',
  async () => {
    const profile = process.env.BENCH_PROFILE === 'weak' ? PROFILES.weak : PROFILES.full;
    const ctx = await nodeContext(profile);
    const only = process.env.BENCH_ONLY;
    const runs = Number(process.env.BENCH_RUNS ?? 7);
    const lines = [`profile: ${process.env.BENCH_PROFILE ?? 'full'} vocab ${VOCAB} runs ${runs} std ${process.env.BENCH_STD ?? 3} chunks ${process.env.BENCH_CHUNKS ?? 'default'}`];
    lines.push(`${'case'.padEnd(32)} ${'median ms'.padStart(10)} ${'min ms'.padStart(10)} ${'ms/row'.padStart(8)}`);
    for (const c of CASES) {
      if (only && !c.name.includes(only)) continue;
      const t = (await timeCase(ctx, c, runs)).sort((a, b) => a - b);
      const med = t[Math.floor(t.length / 2)];
      const line = `${c.name.padEnd(32)} ${med.toFixed(2).padStart(10)} ${t[0].toFixed(2).padStart(10)} ${(med / c.rows).toFixed(2).padStart(8)}`;
      lines.push(line);
      console.log(line);
    }
    console.log(`\n${lines.join('\n')}`);
    ctx.device.destroy();
  },
  { iterations: 1, time: 0, warmupIterations: 0, warmupTime: 0 },
);
