// The KV cache: per layer one K and one V buffer, layout [slot][pos][kvDim]. A slot is one sequence
// (heavy mode decodes several at once). Format 'f16' packs two f16 per u32 (pack2x16float, core WGSL:
// no shader-f16 needed); 'f32' stores plain f32; 'q8' stores int8 values (4 per u32) of each (position, KV head)
// vector with one f32 scale (amax/127, symmetric): [slot][pos][kvDim] int8, then [slot][pos][heads] f32 scales.
import type { GpuContext } from './context';
import { BoxedError } from '../protocol/errors';
import { createBuffer, STORAGE } from './buffers';
import { kvBytesPerElement, kvLayerBytes, kvRowBytes, planKvBytes, type KvShape } from '../model/memory-plan';

// the cache's byte rules live with the rest of the memory plan (src/model/memory-plan.ts)
export { kvBytesPerElement, kvLayerBytes, kvRowBytes, planKvBytes, type KvShape } from '../model/memory-plan';

// copySlot goes through a scratch buffer (WebGPU forbids a copy within one buffer), in chunks of at most this size
const SCRATCH_BYTES = 8 * 1024 * 1024;

export interface KvCacheOptions {
  /** size of copySlot's scratch buffer (tests use a small one to exercise chunking) */
  scratchBytes?: number;
}

export class KvCache {
  readonly shape: KvShape;
  /** total bytes of all K and V buffers */
  readonly bytes: number;
  private readonly ks: GPUBuffer[] = [];
  private readonly vs: GPUBuffer[] = [];
  private scratch: GPUBuffer | undefined;
  private readonly scratchBytes: number;

  constructor(
    private readonly ctx: GpuContext,
    shape: KvShape,
    opts: KvCacheOptions = {},
  ) {
    this.scratchBytes = Math.max(16, opts.scratchBytes ?? SCRATCH_BYTES);
    this.shape = { ...shape };
    const { nLayers, kvDim, heads, slots, context, format } = shape;
    for (const [name, v] of Object.entries({ nLayers, kvDim, heads, slots, context })) {
      if (!Number.isInteger(v) || v <= 0) throw new BoxedError('InvalidRequest', `KV cache: ${name} must be a positive integer, got ${v}`);
    }
    if (kvDim % heads !== 0) throw new BoxedError('InvalidRequest', `KV cache: kvDim ${kvDim} is not a multiple of ${heads} heads`);
    if (format === 'q8' && (kvDim / heads) % 4 !== 0) throw new BoxedError('InvalidRequest', `KV cache: the q8 format needs a head dimension that is a multiple of 4, got ${kvDim / heads}`);
    if (format === 'f16' && kvDim % 2 !== 0) throw new BoxedError('InvalidRequest', `KV cache: kvDim ${kvDim} must be even for the f16 format`);
    const layerBytes = kvLayerBytes(shape);
    const limit = Math.min(ctx.caps.limits.maxStorageBufferBindingSize, ctx.caps.limits.maxBufferSize);
    if (layerBytes > limit) {
      throw new BoxedError(
        'OutOfMemory',
        `KV cache: one layer's K buffer needs ${layerBytes} bytes (${slots} slots x ${context} positions x ${kvDim} values in ${format}), more than this GPU's limit of ${limit} bytes per buffer; use fewer parallel sequences or a shorter context`,
        { detail: { neededBytes: layerBytes, limitBytes: limit } },
      );
    }
    this.bytes = planKvBytes(shape);
    for (let l = 0; l < nLayers; l++) {
      // [slots, context, kvDim] in `format`
      this.ks.push(createBuffer(ctx, `kv.k${l}`, layerBytes, STORAGE));
      this.vs.push(createBuffer(ctx, `kv.v${l}`, layerBytes, STORAGE));
    }
  }

  k(layer: number): GPUBuffer {
    return this.ks[layer];
  }

  v(layer: number): GPUBuffer {
    return this.vs[layer];
  }

  /** Copies positions 0..positions-1 of slot `from` to slot `to`, every layer (prompt-KV sharing). */
  copySlot(encoder: GPUCommandEncoder, from: number, to: number, positions: number): void {
    const { slots, context, kvDim, format } = this.shape;
    if (from === to) return;
    // regions of a buffer, each [slots][context][row bytes]: the values, and for q8 the scales after them
    const valueRow = kvDim * kvBytesPerElement(format); // a multiple of 4 (kvDim even for f16, a multiple of 4 for q8)
    const regions = [{ base: 0, rowBytes: valueRow }];
    if (format === 'q8') regions.push({ base: slots * context * valueRow, rowBytes: kvRowBytes(this.shape) - valueRow });
    if (![from, to].every((s) => Number.isInteger(s) && s >= 0 && s < slots)) throw new BoxedError('InvalidRequest', `copySlot: slots ${from} -> ${to} out of range 0..${slots - 1}`);
    if (!Number.isInteger(positions) || positions < 0 || positions > context) throw new BoxedError('InvalidRequest', `copySlot: ${positions} positions out of range 0..${context}`);
    if (positions === 0) return;
    if (!this.scratch) this.scratch = createBuffer(this.ctx, 'kv.scratch', Math.min(this.scratchBytes, context * valueRow), STORAGE);
    const chunk = this.scratch.size - (this.scratch.size % 4);
    for (const buf of [...this.ks, ...this.vs]) {
      for (const { base, rowBytes } of regions) {
        const bytes = positions * rowBytes;
        const slotBytes = context * rowBytes;
        for (let off = 0; off < bytes; off += chunk) {
          const n = Math.min(chunk, bytes - off);
          encoder.copyBufferToBuffer(buf, base + from * slotBytes + off, this.scratch, 0, n);
          encoder.copyBufferToBuffer(this.scratch, 0, buf, base + to * slotBytes + off, n);
        }
      }
    }
  }

  destroy(): void {
    for (const b of [...this.ks, ...this.vs]) b.destroy();
    this.scratch?.destroy();
    this.ks.length = 0;
    this.vs.length = 0;
  }
}
