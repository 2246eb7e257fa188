// Buffer helpers. Every buffer has a label; uploads go through queue.writeBuffer; readbacks are
// counted (one per decode step is the budget).
import type { GpuContext } from './context';

// GPUBufferUsage / GPUMapMode values from the WebGPU spec, as literals: in Node the GPU* globals exist
// only after Dawn is created, which is later than module evaluation.
export const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
export const STORAGE = USAGE.STORAGE | USAGE.COPY_DST | USAGE.COPY_SRC;
export const UNIFORM = USAGE.UNIFORM | USAGE.COPY_DST;
const MAP_MODE_READ = 0x1;

/** Rounds up to a multiple of 4 bytes (buffer sizes and writeBuffer lengths must be). */
export function align4(bytes: number): number {
  return Math.ceil(bytes / 4) * 4;
}

export function createBuffer(ctx: GpuContext, label: string, bytes: number, usage: GPUBufferUsageFlags = STORAGE): GPUBuffer {
  return ctx.device.createBuffer({ label, size: Math.max(16, align4(bytes)), usage });
}

/** A storage buffer filled with `data` (padded to 4 bytes). */
export function uploadBuffer(ctx: GpuContext, label: string, data: ArrayBufferView, usage: GPUBufferUsageFlags = STORAGE): GPUBuffer {
  const buf = createBuffer(ctx, label, data.byteLength, usage);
  writeBuffer(ctx, buf, 0, data);
  return buf;
}

export function writeBuffer(ctx: GpuContext, buf: GPUBuffer, offset: number, data: ArrayBufferView): void {
  ctx.stats.writes++;
  ctx.stats.apiCalls++;
  if (data.byteLength % 4 === 0) {
    // the whole view, given as (buffer, byte offset, byte size): no view object is made per call
    ctx.device.queue.writeBuffer(buf, offset, data.buffer, data.byteOffset, data.byteLength);
  } else {
    const padded = new Uint8Array(align4(data.byteLength));
    padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    ctx.device.queue.writeBuffer(buf, offset, padded);
  }
}

/** Copies `bytes` from `src` and maps them back to the CPU. Counted as a readback. */
export async function readBuffer(ctx: GpuContext, src: GPUBuffer, bytes = src.size, offset = 0): Promise<ArrayBuffer> {
  const size = align4(bytes);
  const staging = ctx.device.createBuffer({ label: `${src.label}:readback`, size, usage: USAGE.COPY_DST | USAGE.MAP_READ });
  const enc = ctx.device.createCommandEncoder({ label: 'readback' });
  enc.copyBufferToBuffer(src, offset, staging, 0, size);
  ctx.submit([enc.finish()]);
  await staging.mapAsync(MAP_MODE_READ);
  const out = staging.getMappedRange().slice(0, bytes);
  staging.unmap();
  staging.destroy();
  ctx.stats.readbacks++;
  return out;
}

export async function readF32(ctx: GpuContext, src: GPUBuffer, count: number, offsetFloats = 0): Promise<Float32Array> {
  return new Float32Array(await readBuffer(ctx, src, count * 4, offsetFloats * 4));
}

export async function readU32(ctx: GpuContext, src: GPUBuffer, count: number, offsetWords = 0): Promise<Uint32Array> {
  return new Uint32Array(await readBuffer(ctx, src, count * 4, offsetWords * 4));
}
