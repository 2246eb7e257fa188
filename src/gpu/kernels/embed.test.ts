import { describe, it, expect, beforeAll } from 'vitest';
import { nodeContext, PROFILES } from '../test-device';
import { GpuContext } from '../context';
import { uploadBuffer, readF32 } from '../buffers';
import { uploadWeight, destroyWeight } from '../weights';
import { EmbedKernel } from './embed';
import { packWeight, dequantize, type WeightFormat } from '../../loader/quant';
import { randomNormal } from '../../cpu/random';
import { Rng } from '../../sampler/rng';

async function gather(ctx: GpuContext, format: WeightFormat, vocab: number, dim: number, tokens: number[], maxRows = tokens.length) {
  const packed = packWeight(randomNormal(vocab * dim, vocab + dim), vocab, dim, format);
  const table = dequantize(packed);
  const w = uploadWeight(ctx, 'embed', packed);
  const kernel = new EmbedKernel(ctx, { dim, vocab, format, maxRows });
  await ctx.pipelines.compile(); // the kernel's pipelines, asynchronously
  const x0 = randomNormal(maxRows * dim, 77);
  const xb = uploadBuffer(ctx, 'x', x0);
  const tb = uploadBuffer(ctx, 'tokens', Uint32Array.from({ length: maxRows }, (_, i) => tokens[i] ?? 0));
  const bound = kernel.bind(w, tb, xb);
  const before = ctx.stats.dispatches;
  const enc = ctx.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  kernel.encode(pass, bound, tokens.length);
  pass.end();
  ctx.submit([enc.finish()]);
  const got = await readF32(ctx, xb, maxRows * dim);
  const dispatches = ctx.stats.dispatches - before;
  const chunks = w.chunks.length;
  destroyWeight(w);
  xb.destroy();
  tb.destroy();
  // expected: the exact dequantized rows; rows with an out-of-range token or past `rows` keep x0
  const want = x0.slice();
  tokens.forEach((t, r) => {
    if (t < vocab) want.set(table.subarray(t * dim, (t + 1) * dim), r * dim);
  });
  return { got, want, dispatches, chunks };
}

describe.each(Object.entries(PROFILES))('embed on the %s profile', (_name, profile) => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await nodeContext(profile);
  });

  it.each([
    ['q4', 300, 45],
    ['q8', 97, 100],
    ['f16', 300, 333],
    ['f32', 61, 7],
  ] as const)('%s vocab %i dim %i gathers the exact dequantized rows', async (format, vocab, dim) => {
    const rng = new Rng(vocab * dim);
    const tokens = Array.from({ length: 37 }, () => rng.nextU32() % vocab);
    tokens[3] = 0;
    tokens[4] = vocab - 1;
    tokens[5] = tokens[6]; // repeated token
    const r = await gather(ctx, format, vocab, dim, tokens, 40);
    expect(Array.from(r.got)).toEqual(Array.from(r.want));
    expect(r.dispatches).toBe(1);
  });

  it('leaves rows whose token is outside the vocabulary untouched', async () => {
    const r = await gather(ctx, 'q4', 50, 40, [3, 50, 49, 0xffffffff, 7]);
    expect(Array.from(r.got)).toEqual(Array.from(r.want));
  });
});

describe('embed with a chunked table (bindings capped at 64 KiB)', () => {
  let ctx: GpuContext;
  beforeAll(async () => {
    const base = await nodeContext(PROFILES.weak);
    ctx = new GpuContext({ ...base.boxed, caps: { ...base.caps, limits: { ...base.caps.limits, maxStorageBufferBindingSize: 64 * 1024 } } });
  });

  it.each([
    ['q4', 600, 1000, 6, 112], // 576 B rows (4 superblocks), 112 a chunk
    ['f16', 700, 333, 8, 98], // 668 B rows, 98 a chunk
  ] as const)('%s vocab %i dim %i over %i chunks: one dispatch per chunk, rows from every chunk', async (format, vocab, dim, chunks, per) => {
    const rng = new Rng(5);
    const tokens = Array.from({ length: 23 }, () => rng.nextU32() % vocab);
    tokens[0] = per - 1; // last row of chunk 0 / first of chunk 1 boundaries
    tokens[1] = per;
    tokens[2] = vocab - 1;
    const r = await gather(ctx, format, vocab, dim, tokens);
    expect(r.chunks).toBe(chunks);
    expect(r.dispatches).toBe(chunks);
    expect(Array.from(r.got)).toEqual(Array.from(r.want));
  });
});
