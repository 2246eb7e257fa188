// Memory for heavy mode: a model loaded for N sequences holds N KV slots of `context` positions each
// (N x context). Before loading, the per-buffer limits give the largest N exactly (one layer's K buffer
// and the N rows of logits must each fit one binding); when the GPU itself runs out while loading, the
// largest N is found by allocating (and freeing at once) the buffers a smaller N would need. Either way
// the OutOfMemory error names that N.
import type { ModelConfig } from '../model/config';
import type { GpuModelOptions } from '../gpu/model';
import { planMemory } from '../gpu/model';
import { kvLayerBytes } from '../gpu/kv';
import type { GpuContext } from '../gpu/context';
import { BoxedError } from '../protocol/errors';

const mb = (b: number) => Math.round(b / 1e6);

/** The largest batch whose buffers each fit the adapter's limits (0 when not even one does). */
export function largestBatchByLimits(ctx: GpuContext, cfg: ModelConfig, opts: GpuModelOptions): number {
  const { maxStorageBufferBindingSize: binding, maxBufferSize } = ctx.caps.limits;
  const limit = Math.min(binding, maxBufferSize);
  const perSlotKv = kvLayerBytes({ nLayers: cfg.nLayers, kvDim: cfg.kvDim, slots: 1, context: opts.context, format: opts.kv });
  const perSlotLogits = cfg.vocab * 4;
  return Math.max(0, Math.min(Math.floor(limit / perSlotKv), Math.floor(binding / perSlotLogits)));
}

/** Throws OutOfMemory, naming the largest batch that fits the limits, when `opts.slots` does not. */
export function checkBatchLimits(ctx: GpuContext, cfg: ModelConfig, opts: GpuModelOptions): void {
  if (opts.slots <= 1) return;
  const largest = largestBatchByLimits(ctx, cfg, opts);
  if (opts.slots <= largest) return;
  const plan = planMemory(cfg, opts);
  throw new BoxedError(
    'OutOfMemory',
    `${opts.slots} parallel solutions at a context of ${opts.context} need a KV cache of ${mb(plan.kvCache)} MB, more than this GPU's buffers hold: ` +
      (largest >= 1 ? `use at most ${largest} parallel solutions, or a shorter context` : 'use a shorter context'),
    { detail: { neededBytes: plan.total, kvCacheBytes: plan.kvCache, largestBatch: largest } },
  );
}

/**
 * After an out-of-memory load of `opts.slots` sequences: the largest smaller batch whose weights, KV cache
 * and activations can be allocated now (0 if none), tried from the largest down.
 */
export async function probeLargestBatch(ctx: GpuContext, cfg: ModelConfig, opts: GpuModelOptions): Promise<number> {
  const device = ctx.device;
  const maxBuf = Math.min(ctx.caps.limits.maxBufferSize, 256 << 20);
  for (let n = Math.min(opts.slots - 1, largestBatchByLimits(ctx, cfg, opts)); n >= 1; n--) {
    const plan = planMemory(cfg, { ...opts, slots: n });
    const layer = kvLayerBytes({ nLayers: cfg.nLayers, kvDim: cfg.kvDim, slots: n, context: opts.context, format: opts.kv });
    const sizes: number[] = [];
    for (let left = plan.weights + plan.activations; left > 0; left -= maxBuf) sizes.push(Math.min(maxBuf, left));
    for (let l = 0; l < 2 * cfg.nLayers; l++) sizes.push(layer);
    device.pushErrorScope('out-of-memory');
    const bufs: GPUBuffer[] = [];
    for (const size of sizes) bufs.push(device.createBuffer({ label: 'probe', size: Math.ceil(size / 4) * 4, usage: 0x80 /* STORAGE */ }));
    const err = await device.popErrorScope();
    for (const b of bufs) b.destroy();
    if (!err) return n;
  }
  return 0;
}
