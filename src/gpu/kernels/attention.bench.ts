// Decode attention micro-benchmark at the 1.5B model's heads (12 query / 2 kv heads, headDim 128) over 1K, 4K
// and 16K cached positions, f16 and f32 KV, 1 and 4 rows. Not part of the test suite (vitest includes only
// *.test.ts). Run it with
//   npx vitest bench --run src/gpu/kernels/attention.bench.ts
// Environment: BENCH_ONLY=<substring> keeps the cases whose name contains it; BENCH_RUNS=<n> timed runs (default 5);
// BENCH_PROFILE=weak uses the SwiftShader-like profile.
// Each case is built once, run once to warm up, then timed BENCH_RUNS times: one run = `reps` calls recorded into
// one command buffer, submitted, waited for. The table gives the median and minimum ms per call, the K+V bytes
// one call reads, the bandwidth the median implies, and the dispatches one call records.
import { bench } from 'vitest';
import { nodeContext, PROFILES } from '../test-device';
import type { GpuContext } from '../context';
import type { KvFormat } from '../../protocol/engine';
import { uploadBuffer, createBuffer } from '../buffers';
import { AttentionKernel } from './attention';
import { randomNormal } from '../../cpu/random';

interface Case {
  name: string;
  pos: number;
  rows: number;
  format: KvFormat;
  reps: number;
}

const CASES: Case[] = [];
for (const format of ['f16', 'f32'] as const) {
  for (const [pos, reps] of [[1024, 8], [4096, 4], [16384, 2]] as const) {
    for (const rows of [1, 4]) CASES.push({ name: `decode ${format} pos ${pos} r${rows}`, pos, rows, format, reps });
  }
}

async function timeCase(ctx: GpuContext, c: Case, runs: number): Promise<{ times: number[]; dispatches: number; bytes: number }> {
  const [nHeads, nKvHeads, headDim] = [12, 2, 128];
  const context = c.pos;
  const kernel = new AttentionKernel(ctx, { nHeads, nKvHeads, headDim, context, kvFormat: c.format, maxRows: c.rows });
  const q = uploadBuffer(ctx, 'q', randomNormal(c.rows * nHeads * headDim, 5));
  const meta = uploadBuffer(ctx, 'meta', new Uint32Array(Array.from({ length: c.rows }, (_, r) => [c.pos - 1, r]).flat()));
  const elems = c.rows * context * nKvHeads * headDim;
  const cache = (seed: number) => (c.format === 'f16' ? uploadBuffer(ctx, 'kv', Uint16Array.from(randomNormal(elems, seed), () => 0x3c00)) : uploadBuffer(ctx, 'kv', randomNormal(elems, seed)));
  const k = cache(3);
  const v = cache(4);
  const out = createBuffer(ctx, 'out', c.rows * nHeads * headDim * 4);
  const b = kernel.bind(q, meta, k, v, out);
  await ctx.pipelines.compile();
  let dispatches = 0;
  const once = async () => {
    const enc = ctx.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    const before = ctx.stats.dispatches;
    for (let i = 0; i < c.reps; i++) kernel.encode(pass, b, c.rows, c.pos);
    dispatches = (ctx.stats.dispatches - before) / c.reps;
    pass.end();
    const t0 = performance.now();
    ctx.submit([enc.finish()]);
    await ctx.device.queue.onSubmittedWorkDone();
    return (performance.now() - t0) / c.reps;
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  for (const buf of [q, meta, k, v, out, ...b.params]) buf.destroy();
  kernel.destroy();
  return { times, dispatches, bytes: 2 * elems * (c.format === 'f16' ? 2 : 4) };
}

bench(
  'decode attention',
  async () => {
    const profile = process.env.BENCH_PROFILE === 'weak' ? PROFILES.weak : PROFILES.full;
    const ctx = await nodeContext(profile);
    const only = process.env.BENCH_ONLY;
    const runs = Number(process.env.BENCH_RUNS ?? 5);
    const lines = [`profile: ${process.env.BENCH_PROFILE ?? 'full'}`];
    lines.push(`${'case'.padEnd(28)} ${'median ms'.padStart(10)} ${'min ms'.padStart(10)} ${'KV MB'.padStart(7)} ${'GB/s'.padStart(7)} ${'disp'.padStart(5)}`);
    for (const c of CASES) {
      if (only && !c.name.includes(only)) continue;
      const r = await timeCase(ctx, c, runs);
      const t = r.times.sort((a, b) => a - b);
      const med = t[Math.floor(t.length / 2)];
      const line = `${c.name.padEnd(28)} ${med.toFixed(2).padStart(10)} ${t[0].toFixed(2).padStart(10)} ${(r.bytes / 1e6).toFixed(1).padStart(7)} ${(r.bytes / (med * 1e6)).toFixed(2).padStart(7)} ${String(r.dispatches).padStart(5)}`;
      lines.push(line);
      console.log(line);
    }
    console.log(`\n${lines.join('\n')}`);
    ctx.device.destroy();
  },
  { iterations: 1, time: 0, warmupIterations: 0, warmupTime: 0 },
);
