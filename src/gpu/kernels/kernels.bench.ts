// Kernel micro-benchmark at the 1.5B model's shapes: decode-path matmuls, prefill matmuls (the adapter's tiling,
// and forced tilings: single- vs double-buffered, f32 vs f16 W tile, 64 x 64 vs 32 x 32), decode attention over an
// f16 KV cache, and the GPU sampler over the vocab.
// Not part of the test suite (vitest includes only *.test.ts). Run it with
//   npx vitest bench --run src/gpu/kernels/kernels.bench.ts
// Environment: BENCH_ONLY=<substring> keeps the cases whose name contains it; BENCH_RUNS=<n> timed runs (default 5);
// BENCH_PROFILE=weak uses the SwiftShader-like profile (no f16, no subgroups, 256 invocations);
// BENCH_TILING=wg,tpr,nr forces the decode tiling of every decode matmul (e.g. 64,1,4 to compare NR on a CPU adapter).
// Each case is built once (pipelines, buffers, bind groups), run once to warm up, then timed BENCH_RUNS times:
// one run = record `reps` calls into one command buffer, submit, wait for onSubmittedWorkDone. The table gives
// the median and the minimum per call in milliseconds, and the bandwidth the median implies (weight bytes for
// matmuls, K and V cache bytes for attention).
// Weights are random packed words (the values do not matter for speed; f16 words are kept finite).
import { bench } from 'vitest';
import { nodeContext, PROFILES } from '../test-device';
import type { GpuContext } from '../context';
import { uploadBuffer, createBuffer } from '../buffers';
import { uploadWeight, destroyWeight, type GpuWeight } from '../weights';
import { MatmulKernel, type MatmulOptions } from './matmul';
import { SampleKernel } from './sample';
import { AttentionKernel } from './attention';
import { rowLayout, type PackedWeight, type WeightFormat } from '../../loader/quant';
import { randomNormal } from '../../cpu/random';

interface Case {
  name: string;
  /** calls recorded into one command buffer per timed run */
  reps: number;
  /** bytes one call reads (for the GB/s column), 0: not shown */
  bytes: number;
  setup(ctx: GpuContext): { record(pass: GPUComputePassEncoder): void; dispose(): void };
}

/** Random packed words for a [rows, cols] weight: xorshift bits, f16 halves forced finite. */
function randomPacked(rows: number, cols: number, format: WeightFormat, seed: number): PackedWeight {
  const { wordsPerRow, groupsPerRow } = rowLayout(cols, format);
  const data = new Uint32Array(rows * wordsPerRow);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < data.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    data[i] = format === 'f16' ? s & 0xb7ffb7ff : format === 'f32' ? (s & 0x807fffff) | 0x3c000000 : s;
  }
  const scales = groupsPerRow > 0 ? randomNormal(rows * groupsPerRow, seed + 1, 0.01) : null;
  return { format, rows, cols, data, scales, wordsPerRow, groupsPerRow };
}

function matmulCase(name: string, o: Omit<MatmulOptions, 'label' | 'maxRows' | 'format'> & { format: WeightFormat }, rows: number, reps: number): Case {
  const { wordsPerRow, groupsPerRow } = rowLayout(o.K, o.format);
  return {
    name,
    reps,
    bytes: o.N * (wordsPerRow + groupsPerRow) * 4,
    setup(ctx) {
      const maxRows = Math.max(4, rows);
      const forced = process.env.BENCH_TILING?.split(',').map(Number);
      const decodeTiling = forced && rows <= 16 ? { wg: forced[0], tpr: forced[1], nr: forced[2] } : undefined;
      const kernel = new MatmulKernel(ctx, { ...o, maxRows, label: name, decodeTiling });
      const w: GpuWeight = uploadWeight(ctx, name, randomPacked(o.N, o.K, o.format, o.N + o.K));
      const x = uploadBuffer(ctx, 'x', randomNormal(maxRows * o.K, 7));
      const y = createBuffer(ctx, 'y', maxRows * kernel.outWidth * 4);
      const bias = o.bias ? uploadBuffer(ctx, 'bias', randomNormal(o.N, 8)) : undefined;
      const gain = o.gain ? uploadBuffer(ctx, 'gain', randomNormal(o.K, 9)) : undefined;
      const b = kernel.bind(w, x, y, bias, { gain });
      return {
        record: (pass) => kernel.encode(pass, b, rows),
        dispose: () => {
          destroyWeight(w);
          for (const buf of [x, y, bias, gain, b.params]) buf?.destroy();
          kernel.destroy();
        },
      };
    },
  };
}

function sampleCase(name: string, temperature: number, topP: number, rows: number, reps: number): Case {
  const vocab = 151936;
  return {
    name,
    reps,
    bytes: 0,
    setup(ctx) {
      const kernel = new SampleKernel(ctx, { vocab, validVocab: 151665, maxRows: rows });
      const logits = uploadBuffer(ctx, 'logits', randomNormal(rows * vocab, 11, 3));
      const tokens = createBuffer(ctx, 'tokens', rows * 4);
      const b = kernel.bind(logits, undefined, tokens);
      kernel.writeParams(Array.from({ length: rows }, (_, i) => ({ temperature, topP, topK: 0, coin: (i + 0.5) / (rows + 1) })));
      return {
        record: (pass) => kernel.encode(pass, b, rows),
        dispose: () => {
          logits.destroy();
          tokens.destroy();
          kernel.destroy();
        },
      };
    },
  };
}

/** Decode attention of `rows` rows at position pos - 1 over an f16 KV cache (1.5B heads: 12 / 2, headDim 128). */
function attentionCase(name: string, pos: number, rows: number, reps: number): Case {
  const [nHeads, nKvHeads, headDim, context] = [12, 2, 128, pos];
  return {
    name,
    reps,
    bytes: 2 * rows * pos * nKvHeads * headDim * 2,
    setup(ctx) {
      const kernel = new AttentionKernel(ctx, { nHeads, nKvHeads, headDim, context, kvFormat: 'f16', maxRows: rows });
      const q = uploadBuffer(ctx, 'q', randomNormal(rows * nHeads * headDim, 5));
      const meta = uploadBuffer(ctx, 'meta', new Uint32Array(Array.from({ length: rows }, (_, r) => [pos - 1, r]).flat()));
      const cacheBytes = rows * context * nKvHeads * headDim * 2;
      const k = uploadBuffer(ctx, 'k', randomPacked(1, cacheBytes / 4, 'f16', 3).data);
      const v = uploadBuffer(ctx, 'v', randomPacked(1, cacheBytes / 4, 'f16', 4).data);
      const out = createBuffer(ctx, 'out', rows * nHeads * headDim * 4);
      const b = kernel.bind(q, meta, k, v, out);
      return {
        record: (pass) => kernel.encode(pass, b, rows, pos),
        dispose: () => {
          for (const buf of [q, meta, k, v, out, ...b.params]) buf.destroy();
          kernel.destroy();
        },
      };
    },
  };
}

const V = 151936;
const CASES: Case[] = [
  // the tiny and k256 synthetic models' tied LM heads (the final norm's gain applied as the weight is decoded)
  ...[1, 8].flatMap((r) => [64, 256].map((K) => matmulCase(`lm_head ${V}x${K} q4 gain r${r}`, { N: V, K, format: 'q4', gain: true }, r, 1))),
  matmulCase('lm_head 151936x64 q4 r1', { N: V, K: 64, format: 'q4' }, 1, 1),
  matmulCase('lm_head 151936x64 f32 r1', { N: V, K: 64, format: 'f32' }, 1, 1),
  matmulCase('lm_head 151936x1536 q4 r1', { N: V, K: 1536, format: 'q4' }, 1, 1),
  matmulCase('lm_head 151936x1536 f16 r1', { N: V, K: 1536, format: 'f16' }, 1, 1),
  matmulCase('up 8960x1536 q4 r1', { N: 8960, K: 1536, format: 'q4' }, 1, 2),
  matmulCase('up 8960x1536 q4 r4', { N: 8960, K: 1536, format: 'q4' }, 4, 2),
  matmulCase('gateUp 17920x1536 q4 norm+swiglu r1', { N: 17920, K: 1536, format: 'q4', norm: { eps: 1e-6 }, swiglu: true }, 1, 1),
  matmulCase('down 1536x8960 q4 residual r1', { N: 1536, K: 8960, format: 'q4', residual: true }, 1, 2),
  matmulCase('down 1536x8960 q4 residual r8', { N: 1536, K: 8960, format: 'q4', residual: true }, 8, 1),
  matmulCase('down 1536x8960 q4 residual r16', { N: 1536, K: 8960, format: 'q4', residual: true }, 16, 1),
  matmulCase('qkv 2048x1536 q4 norm+bias r8', { N: 2048, K: 1536, format: 'q4', norm: { eps: 1e-6 }, bias: true }, 8, 2),
  matmulCase('qkv 2048x1536 q4 norm+bias r1', { N: 2048, K: 1536, format: 'q4', norm: { eps: 1e-6 }, bias: true }, 1, 4),
  matmulCase('qkv 2048x1536 q4 norm+bias r4', { N: 2048, K: 1536, format: 'q4', norm: { eps: 1e-6 }, bias: true }, 4, 4),
  matmulCase('o 1536x1536 f16 residual r1', { N: 1536, K: 1536, format: 'f16', residual: true }, 1, 4),
  matmulCase('prefill qkv 2048x1536 q4 norm+bias r64', { N: 2048, K: 1536, format: 'q4', norm: { eps: 1e-6 }, bias: true }, 64, 1),
  matmulCase('prefill down 1536x8960 q4 residual r64', { N: 1536, K: 8960, format: 'q4', residual: true }, 64, 1),
  matmulCase('prefill o 1536x1536 q4 residual r128', { N: 1536, K: 1536, format: 'q4', residual: true }, 128, 1),
  matmulCase('prefill o r128 64x64 single f32', { N: 1536, K: 1536, format: 'q4', residual: true, prefillTiling: { wx: 16, wy: 16, double: false, wf16: false } }, 128, 1),
  matmulCase('prefill o r128 64x64 double f32', { N: 1536, K: 1536, format: 'q4', residual: true, prefillTiling: { wx: 16, wy: 16, double: true, wf16: false } }, 128, 1),
  matmulCase('prefill o r128 64x64 double f16', { N: 1536, K: 1536, format: 'q4', residual: true, prefillTiling: { wx: 16, wy: 16, double: true, wf16: true } }, 128, 1),
  matmulCase('prefill o r128 32x32 double f16', { N: 1536, K: 1536, format: 'q4', residual: true, prefillTiling: { wx: 8, wy: 8, double: true, wf16: true } }, 128, 1),
  attentionCase('attention decode pos 4096 r1', 4096, 1, 2),
  attentionCase('attention decode pos 4096 r4', 4096, 4, 1),
  sampleCase('sample greedy 151936 r1', 0, 1, 1, 1),
  sampleCase('sample T0.6 top-p0.95 151936 r1', 0.6, 0.95, 1, 1),
];

async function timeCase(ctx: GpuContext, c: Case, runs: number): Promise<number[]> {
  const h = c.setup(ctx);
  await ctx.pipelines.compile(); // the case's pipelines, asynchronously
  const once = async () => {
    const enc = ctx.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (let i = 0; i < c.reps; i++) h.record(pass);
    pass.end();
    const t0 = performance.now();
    ctx.submit([enc.finish()]);
    await ctx.device.queue.onSubmittedWorkDone();
    return (performance.now() - t0) / c.reps;
  };
  await once(); // warm: first touch of the buffers
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  h.dispose();
  return times;
}

bench(
  'decode kernels',
  async () => {
    const profile = process.env.BENCH_PROFILE === 'weak' ? PROFILES.weak : PROFILES.full;
    const ctx = await nodeContext(profile);
    const only = process.env.BENCH_ONLY;
    const runs = Number(process.env.BENCH_RUNS ?? 5);
    const lines = [`profile: ${process.env.BENCH_PROFILE ?? "full"} subgroups=${ctx.caps.subgroups} f16=${ctx.caps.shaderF16}`];
    lines.push(`${'case'.padEnd(40)} ${'median ms'.padStart(10)} ${'min ms'.padStart(10)} ${'GB/s'.padStart(7)}`);
    for (const c of CASES) {
      if (only && !c.name.includes(only)) continue;
      const t = (await timeCase(ctx, c, runs)).sort((a, b) => a - b);
      const med = t[Math.floor(t.length / 2)];
      const gbs = c.bytes ? (c.bytes / (med * 1e6)).toFixed(2) : '';
      const line = `${c.name.padEnd(40)} ${med.toFixed(2).padStart(10)} ${t[0].toFixed(2).padStart(10)} ${gbs.padStart(7)}`;
      lines.push(line);
      console.log(line);
    }
    console.log(`\n${lines.join('\n')}`);
    ctx.device.destroy();
  },
  { iterations: 1, time: 0, warmupIterations: 0, warmupTime: 0 },
);
