// TEMPORARY before/after harness (deleted before the report)
import { bench } from 'vitest';
import { nodeContext, PROFILES } from '../test-device';
import { uploadBuffer, createBuffer } from '../buffers';
import { uploadWeight } from '../weights';
import { MatmulKernel, type MatmulOptions } from './matmul';
import { OldMatmulKernel } from './zz-old-matmul-tmp';
import { rowLayout, type WeightFormat } from '../../loader/quant';
import { randomNormal } from '../../cpu/random';

function packed(rows: number, cols: number, format: WeightFormat) {
  const { wordsPerRow, groupsPerRow } = rowLayout(cols, format);
  const data = new Uint32Array(rows * wordsPerRow);
  let s = 12345;
  for (let i = 0; i < data.length; i++) { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; s >>>= 0; data[i] = format === 'f16' ? s & 0xb7ffb7ff : format === 'f32' ? (s & 0x807fffff) | 0x3c000000 : s; }
  return { format, rows, cols, data, scales: groupsPerRow ? randomNormal(rows * groupsPerRow, 1, 0.01) : null, wordsPerRow, groupsPerRow };
}
const V = 151936;
const SHAPES: [string, Omit<MatmulOptions, 'label' | 'maxRows'>, number, number][] = [
  ['lm_head 151936x64 q4 r1', { N: V, K: 64, format: 'q4' }, 1, 3],
  ['lm_head 151936x64 f32 r1', { N: V, K: 64, format: 'f32' }, 1, 3],
  ['lm_head 151936x1536 q4 r1', { N: V, K: 1536, format: 'q4' }, 1, 3],
  ['lm_head 151936x1536 f16 r1', { N: V, K: 1536, format: 'f16' }, 1, 3],
  ['up 8960x1536 q4 r1', { N: 8960, K: 1536, format: 'q4' }, 1, 7],
  ['up 8960x1536 q4 r4', { N: 8960, K: 1536, format: 'q4' }, 4, 7],
  ['gateUp 17920x1536 q4 norm+swiglu r1', { N: 17920, K: 1536, format: 'q4', norm: { eps: 1e-6 }, swiglu: true }, 1, 7],
  ['down 1536x8960 q4 residual r1', { N: 1536, K: 8960, format: 'q4', residual: true }, 1, 7],
  ['qkv 2048x1536 q4 norm+bias r1', { N: 2048, K: 1536, format: 'q4', norm: { eps: 1e-6 }, bias: true }, 1, 7],
  ['qkv 2048x1536 q4 norm+bias r4', { N: 2048, K: 1536, format: 'q4', norm: { eps: 1e-6 }, bias: true }, 4, 7],
  ['o 1536x1536 f16 residual r1', { N: 1536, K: 1536, format: 'f16', residual: true }, 1, 7],
];
bench('ab', async () => {
  const ctx = await nodeContext(process.env.BENCH_PROFILE === 'weak' ? PROFILES.weak : PROFILES.full);
  const only = process.env.BENCH_ONLY;
  for (const [name, o, rows, runs] of SHAPES) {
    if (only && !name.includes(only)) continue;
    const w = uploadWeight(ctx, 'w', packed(o.N, o.K, o.format));
    const x = uploadBuffer(ctx, 'x', randomNormal(4 * o.K, 7));
    const y = createBuffer(ctx, 'y', 4 * o.N * 4);
    const bias = o.bias ? uploadBuffer(ctx, 'b', randomNormal(o.N, 3)) : undefined;
    const ks = [new OldMatmulKernel(ctx, { ...o, maxRows: 4, label: 'old' }), new MatmulKernel(ctx, { ...o, maxRows: 4, label: 'new' })].map((k) => ({ k, b: k.bind(w, x, y, bias) }));
    const times: number[][] = ks.map(() => []);
    for (let it = 0; it <= runs; it++) {
      for (let i = 0; i < ks.length; i++) {
        const enc = ctx.device.createCommandEncoder();
        const pass = enc.beginComputePass();
        ks[i].k.encode(pass, ks[i].b, rows);
        pass.end();
        const t0 = performance.now();
        ctx.device.queue.submit([enc.finish()]);
        await ctx.device.queue.onSubmittedWorkDone();
        if (it > 0) times[i].push(performance.now() - t0);
      }
    }
    const med = (a: number[]) => a.sort((p, q) => p - q)[Math.floor(a.length / 2)];
    const [a, b] = times.map(med);
    console.log(`AB | ${name} | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(a / b).toFixed(1)}x`);
    w.chunks.forEach((c) => { c.data.destroy(); c.scales?.destroy(); });
    x.destroy(); y.destroy(); bias?.destroy();
  }
}, { iterations: 1, time: 0, warmupIterations: 0, warmupTime: 0 });
