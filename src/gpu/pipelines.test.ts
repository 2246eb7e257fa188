// The pipeline cache's asynchronous compilation on a real device (Dawn): requests return handles at once,
// compile() builds them with createComputePipelineAsync a few at a time with monotonic progress, equal keys
// are compiled once, a kernel used before compile() fails clearly, and failures (a WGSL error, a layout
// that does not match the shader, a lost device) are typed BoxedErrors naming the shader.
import { describe, it, expect } from 'vitest';
import rmsnormSource from '../../shaders/rmsnorm.wgsl?raw';
import { nodeContext } from './test-device';
import type { GpuContext } from './context';
import { BoxedError } from '../protocol/errors';
import { createBuffer, readF32, uploadBuffer } from './buffers';
import { RmsnormKernel } from './kernels/rmsnorm';
import { rmsnorm } from '../cpu/norm';
import { randomNormal } from '../cpu/random';
import { assertClose } from '../cpu/compare';

const RMSNORM_LAYOUT = { 0: 'uniform', 1: 'read-only-storage', 2: 'read-only-storage', 3: 'storage' } as const;

/** Counts the device's createComputePipelineAsync calls in flight (the real calls, passed through). */
function countInFlight(ctx: GpuContext): { peak: number; calls: number } {
  const device = ctx.device;
  const real = device.createComputePipelineAsync.bind(device);
  const seen = { peak: 0, calls: 0 };
  let live = 0;
  device.createComputePipelineAsync = (d: GPUComputePipelineDescriptor) => {
    live++;
    seen.calls++;
    seen.peak = Math.max(seen.peak, live);
    return real(d).finally(() => live--);
  };
  return seen;
}

async function rejection(p: Promise<unknown>): Promise<BoxedError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(BoxedError);
  return e as BoxedError;
}

describe('PipelineCache', () => {
  it('compiles every request asynchronously, at most `concurrency` at a time, with progress from 0 to total, each key once', async () => {
    const ctx = await nodeContext();
    const seen = countInFlight(ctx);
    const layout = ctx.pipelines.layout('rmsnorm', [RMSNORM_LAYOUT]);
    const sizes = [32, 64, 96, 128, 160, 192, 224];
    const handles = sizes.map((wg) => ctx.pipelines.request({ shader: 'rmsnorm', source: rmsnormSource, constants: { WG: wg }, layout: layout.pipeline }));
    // equal keys share a handle (and an equal layout spec the same layout object)
    expect(ctx.pipelines.request({ shader: 'rmsnorm', source: rmsnormSource, constants: { WG: 64 }, layout: ctx.pipelines.layout('rmsnorm', [RMSNORM_LAYOUT]).pipeline })).toBe(handles[1]);
    expect(handles.every((h) => !h.ready)).toBe(true);
    expect(seen.calls).toBe(0); // a request compiles nothing by itself
    expect(ctx.pipelines.pending).toBe(7);

    const progress: [number, number][] = [];
    await ctx.pipelines.compile((done, total) => progress.push([done, total]), 3);
    expect(progress).toEqual(sizes.map((_, i) => [i, 7]).concat([[7, 7]]));
    expect(seen.calls).toBe(7);
    expect(seen.peak).toBe(3); // bounded, and really concurrent
    expect(ctx.pipelines.peakInFlight).toBe(3);
    expect(ctx.pipelines.created).toBe(7);
    expect(handles.every((h) => h.ready)).toBe(true);
    expect(handles[2].pipeline.label).toBe('rmsnorm:main');

    // nothing left: a second compile reports 0 of 0 and builds nothing; a repeated request is the compiled handle
    const again: [number, number][] = [];
    await ctx.pipelines.compile((done, total) => again.push([done, total]));
    expect(again).toEqual([[0, 0]]);
    const repeat = ctx.pipelines.request({ shader: 'rmsnorm', source: rmsnormSource, constants: { WG: 224 }, layout: layout.pipeline });
    expect(repeat).toBe(handles[6]);
    expect(repeat.ready).toBe(true);
    expect(ctx.pipelines.pending).toBe(0);
    expect(ctx.pipelines.created).toBe(7);
    expect(seen.calls).toBe(7);
    ctx.device.destroy();
  });

  it('a kernel used before compile() fails clearly; bind groups work before it; after compile() it computes rmsnorm', async () => {
    const ctx = await nodeContext();
    const rows = 3;
    const dim = 77;
    const x = randomNormal(rows * dim, 1);
    const g = randomNormal(dim, 2, 0.5);
    const kernel = new RmsnormKernel(ctx, dim, 1e-6);
    const other = new RmsnormKernel(ctx, 2 * dim, 1e-5); // same pipeline key: the same handle
    expect(other.pipeline).toBe(kernel.pipeline);
    const y = createBuffer(ctx, 'y', rows * dim * 4);
    const b = kernel.bind(uploadBuffer(ctx, 'x', x), uploadBuffer(ctx, 'g', g), y); // explicit layout: no pipeline needed
    const enc = ctx.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    let err: unknown = null;
    try {
      kernel.encode(pass, b, rows);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BoxedError);
    expect((err as BoxedError).name).toBe('Internal');
    expect((err as BoxedError).message).toMatch(/pipeline rmsnorm:main was used before it was compiled/);
    expect(ctx.stats.dispatches).toBe(0);
    pass.end();

    await ctx.pipelines.compile();
    expect(ctx.pipelines.created).toBe(1);
    const enc2 = ctx.device.createCommandEncoder();
    const pass2 = enc2.beginComputePass();
    kernel.encode(pass2, b, rows);
    pass2.end();
    ctx.submit([enc2.finish()]);
    const want = rmsnorm(x, g, rows, dim, 1e-6);
    assertClose(await readF32(ctx, y, rows * dim), want, 1e-5, 1e-5, 'rmsnorm after compile');
    kernel.destroy();
    other.destroy();
    ctx.device.destroy();
  });

  it('a WGSL error or a layout that does not match the shader is an Internal BoxedError naming the shader; the rest still compile', async () => {
    const ctx = await nodeContext();
    const layout = ctx.pipelines.layout('rmsnorm', [RMSNORM_LAYOUT]);
    const good = ctx.pipelines.request({ shader: 'rmsnorm', source: rmsnormSource, constants: { WG: 64 }, layout: layout.pipeline });
    const broken = ctx.pipelines.request({ shader: 'broken', source: 'fn main( {\n}\n', layout: layout.pipeline });
    const e = await rejection(ctx.pipelines.compile());
    expect(e.name).toBe('Internal');
    expect(e.detail).toMatchObject({ shader: 'broken', pipeline: 'broken:main' });
    expect(e.message).toMatch(/^The shader broken:main did not compile \(validation\): broken\.wgsl:1:\d+: /);
    expect(good.ready).toBe(true);
    expect(() => broken.pipeline).toThrow(/broken:main did not compile/);

    // binding 3 declared read-only here, read_write in the shader
    const wrong = ctx.pipelines.layout('rmsnorm-wrong', [{ ...RMSNORM_LAYOUT, 3: 'read-only-storage' }]);
    ctx.pipelines.request({ shader: 'rmsnorm', source: rmsnormSource, constants: { WG: 64 }, layout: wrong.pipeline });
    const e2 = await rejection(ctx.pipelines.compile());
    expect(e2.name).toBe('Internal');
    expect(e2.detail).toMatchObject({ shader: 'rmsnorm' });
    expect(e2.message).toMatch(/rmsnorm:main did not compile \(validation\).*binding\(3\)|rmsnorm:main did not compile \(validation\).*ReadOnlyStorage/s);
    ctx.device.destroy();
  });

  it('a device lost while compiling is a DeviceLost error', async () => {
    const ctx = await nodeContext();
    const layout = ctx.pipelines.layout('rmsnorm', [RMSNORM_LAYOUT]);
    const h = ctx.pipelines.request({ shader: 'rmsnorm', source: rmsnormSource, constants: { WG: 128 }, layout: layout.pipeline });
    const compiling = ctx.pipelines.compile();
    ctx.device.destroy();
    const e = await rejection(compiling);
    expect(e.name).toBe('DeviceLost');
    expect(e.message).toMatch(/lost while compiling rmsnorm:main/);
    expect(h.ready).toBe(false);
  });
});
