import { describe, it, expect, beforeAll } from 'vitest';
import { nodeContext, PROFILES } from '../test-device';
import type { GpuContext } from '../context';
import { uploadBuffer, createBuffer, readF32 } from '../buffers';
import { RmsnormKernel } from './rmsnorm';
import { rmsnorm } from '../../cpu/norm';
import { randomNormal } from '../../cpu/random';
import { assertClose } from '../../cpu/compare';

describe.each(Object.entries(PROFILES))('rmsnorm on the %s profile', (_name, profile) => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await nodeContext(profile);
  });

  it.each([
    [1, 7],
    [3, 1536],
    [5, 333],
    [2, 1031],
  ])('matches the CPU reference for %i rows x %i', async (rows, dim) => {
    const x = randomNormal(rows * dim, rows * 1000 + dim, 3);
    const g = randomNormal(dim, dim + 17);
    const kernel = new RmsnormKernel(ctx, dim, 1e-6);
    await ctx.pipelines.compile(); // the kernel's pipelines, asynchronously
    const xb = uploadBuffer(ctx, 'x', x);
    const gb = uploadBuffer(ctx, 'g', g);
    const yb = createBuffer(ctx, 'y', rows * dim * 4);
    const bound = kernel.bind(xb, gb, yb);
    const enc = ctx.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    kernel.encode(pass, bound, rows);
    pass.end();
    ctx.submit([enc.finish()]);
    const got = await readF32(ctx, yb, rows * dim);
    const want = rmsnorm(x, g, rows, dim, 1e-6);
    const c = assertClose(got, want, 1e-5, 1e-5, 'rmsnorm');
    expect(c.ok).toBe(true);
  });
});
