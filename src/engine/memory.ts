// Memory for heavy mode: a model loaded for N sequences holds N KV slots of `context` positions each
// (N x context). Before loading, the per-buffer limits give the largest N exactly (one layer's K buffer
// and the N rows of logits must each fit one binding); when the GPU itself runs out while loading, the
// largest N is found by allocating (and freeing at once) the buffers a smaller N would need. Either way
// the OutOfMemory error names that N. A GGUF model's weights are counted in the file's own block types
// (planMemory's GGUF path, given the file's GgmlTensors), not in the Boxed format the request names.
import type { ModelConfig } from '../model/config';
import type { GpuModelOptions } from '../gpu/model';
import { largestBatchWithin, limitBreach, limitError, planMemory, plannedWeights } from '../model/memory-plan';
import { kvLayerBytes } from '../gpu/kv';
import type { GpuContext } from '../gpu/context';
import type { GgmlTensors } from '../loader/gguf/checkpoint';
import { BoxedError } from '../protocol/errors';
import { rowLayout } from '../loader/quant';
import { rowsPerChunk } from '../gpu/weights';

const mb = (b: number) => Math.round(b / 1e6);

/** The largest batch whose buffers each fit the adapter's limits (0 when not even one does): the plan's limit rule. */
export function largestBatchByLimits(ctx: GpuContext, cfg: ModelConfig, opts: GpuModelOptions): number {
  return largestBatchWithin(cfg, opts, ctx.caps.limits);
}

/** Throws OutOfMemory, naming the largest batch that fits the limits, when `opts.slots` does not. */
export function checkBatchLimits(ctx: GpuContext, cfg: ModelConfig, opts: GpuModelOptions, ggml?: GgmlTensors): void {
  if (opts.slots <= 1) return;
  const largest = largestBatchByLimits(ctx, cfg, opts);
  if (opts.slots <= largest) return;
  const plan = planMemory(cfg, opts, ggml);
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
export async function probeLargestBatch(ctx: GpuContext, cfg: ModelConfig, opts: GpuModelOptions, ggml?: GgmlTensors): Promise<number> {
  for (let n = Math.min(opts.slots - 1, largestBatchByLimits(ctx, cfg, opts)); n >= 1; n--) {
    if (!(await allocateAndFree(ctx, plannedBuffers(ctx, cfg, { ...opts, slots: n }, ggml))).failure) return n;
  }
  return 0;
}

/**
 * Creates buffers of these sizes (each above the device's buffer limit in pieces below it), then frees them
 * all: the failure, if the device refused (out of memory, invalid, or thrown outright), and the count made.
 */
async function allocateAndFree(ctx: GpuContext, sizes: readonly number[]): Promise<{ failure: string | null; buffers: number }> {
  const device = ctx.device;
  const limit = Math.min(ctx.caps.limits.maxStorageBufferBindingSize, ctx.caps.limits.maxBufferSize);
  const bufs: GPUBuffer[] = [];
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let thrown: unknown = null;
  try {
    for (const size of sizes) {
      for (let left = size; left > 0; left -= limit) bufs.push(device.createBuffer({ label: 'trial', size: Math.ceil(Math.min(limit, left) / 4) * 4, usage: 0x80 /* STORAGE */ }));
    }
  } catch (e) {
    thrown = e; // some implementations throw (a RangeError) for an allocation they refuse outright
  }
  const invalid = await device.popErrorScope();
  const oom = await device.popErrorScope();
  for (const b of bufs) b.destroy();
  const failure = oom || invalid || thrown ? oom?.message || invalid?.message || (thrown instanceof Error ? thrown.message : String(thrown)) : null;
  return { failure, buffers: bufs.length };
}

/**
 * The buffers a load of this model creates, in bytes, as GpuModel makes them: the plan's weights
 * (plannedWeights), every matrix cut into its binding-sized row chunks (data and q4/q8 scales), the biases and norm, one K and one V buffer per
 * layer, and the activations (as one figure, each of its buffers being far below any limit). Throws the
 * typed OutOfMemory of rowsPerChunk when a weight row pair exceeds the binding limit. A GGUF model's weights
 * (`ggml`) are planMemory's figure for its block types, in pieces of at most the buffer limit.
 */
export function plannedBuffers(ctx: GpuContext, cfg: ModelConfig, opts: GpuModelOptions, ggml?: GgmlTensors): number[] {
  const f = opts.weights;
  const plan = planMemory(cfg, opts, ggml);
  const sizes: number[] = [];
  const matrix = (rows: number, cols: number) => {
    const { wordsPerRow, groupsPerRow } = rowLayout(cols, f);
    const per = rowsPerChunk(ctx, rows, wordsPerRow, groupsPerRow);
    for (let r = 0; r < rows; r += per) {
      const n = Math.min(per, rows - r);
      sizes.push(n * wordsPerRow * 4);
      if (groupsPerRow > 0) sizes.push(n * groupsPerRow * 4);
    }
  };
  if (ggml) {
    const limit = Math.min(ctx.caps.limits.maxStorageBufferBindingSize, ctx.caps.limits.maxBufferSize);
    for (let left = plan.weights; left > 0; left -= limit) sizes.push(Math.min(limit, left));
  } else {
    // the plan's weights in its order; each matrix cut into the row chunks GpuModel makes
    for (const w of plannedWeights(cfg, f)) {
      if (w.rows === 1) sizes.push(w.bytes);
      else matrix(w.rows, w.cols);
    }
  }
  const layer = kvLayerBytes({ nLayers: cfg.nLayers, kvDim: cfg.kvDim, heads: cfg.nKvHeads, slots: opts.slots, context: opts.context, format: opts.kv });
  for (let l = 0; l < 2 * cfg.nLayers; l++) sizes.push(layer);
  sizes.push(plan.activations);
  return sizes;
}

export interface TrialAllocation {
  /** bytes allocated (and freed at once) */
  bytes: number;
  buffers: number;
  /** the largest single buffer */
  largestBuffer: number;
}

/**
 * Allocates every buffer a load of this model would hold, then frees them: a model that cannot fit is refused
 * with a typed OutOfMemory before a long download rather than after it. A buffer over the adapter's limits
 * fails without allocating anything. Success means the driver granted the memory now; WebGPU reports
 * nothing about the memory left, and some drivers commit memory only when it is first written.
 */
export async function trialAllocation(ctx: GpuContext, cfg: ModelConfig, opts: GpuModelOptions, ggml?: GgmlTensors): Promise<TrialAllocation> {
  const sizes = plannedBuffers(ctx, cfg, opts, ggml);
  const total = sizes.reduce((a, b) => a + b, 0);
  const largest = Math.max(...sizes);
  const breach = limitBreach(cfg, opts, ctx.caps.limits);
  if (breach) throw limitError(breach, opts, breach.what === 'kvLayer' ? total : breach.bytes);
  // the activations figure is several buffers in a load; it is allocated in pieces below the limit
  const { failure, buffers } = await allocateAndFree(ctx, sizes);
  if (failure !== null) {
    const smaller = ggml ? 'a smaller GGUF file' : 'a smaller model or weight format';
    throw new BoxedError('OutOfMemory', `This GPU could not allocate the ${mb(total)} MB this model needs (weights ${mb(planMemory(cfg, opts, ggml).weights)} MB${ggml ? ' in its GGUF block types' : ''}) at a context of ${opts.context}: ${failure}. Use ${smaller}, a shorter context, or a server.`, {
      detail: { neededBytes: total, largestBufferBytes: largest },
    });
  }
  return { bytes: total, buffers, largestBuffer: largest };
}
