// The trial allocation before a download: the planned buffers follow the load's chunking (no buffer over the
// binding limit, the 1.09 GB f16 embedding of the 7B cut into pieces), a KV layer over the limits is a typed
// OutOfMemory without allocating, and a model that fits is allocated and freed. A GGUF model is planned in its
// own block types (planMemory's GGUF path), not in the Boxed format the request names.
import { describe, expect, it } from 'vitest';
import { nodeContext, PROFILES } from '../gpu/test-device';
import { checkBatchLimits, plannedBuffers, trialAllocation } from './memory';
import type { GgmlTensors } from '../loader/gguf/checkpoint';
import type { GgmlTypeName } from '../loader/gguf/blocks';
import { planMemory } from '../gpu/model';
import { modelSize } from '../model/config-sizes';
import { BoxedError } from '../protocol/errors';

const MIB = 1024 * 1024;

describe('trial allocation', () => {
  it("plans the 7B's buffers within 128 MiB bindings, adding up to the memory plan", async () => {
    const ctx = await nodeContext(PROFILES.weak);
    const cfg = modelSize('7B').config;
    const opts = { weights: 'f16', kv: 'f16', context: 4096, slots: 1, chunk: 128 } as const;
    const sizes = plannedBuffers(ctx, cfg, opts);
    const plan = planMemory(cfg, opts);
    const activations = sizes[sizes.length - 1];
    expect(activations).toBe(plan.activations);
    expect(Math.max(...sizes.slice(0, -1))).toBeLessThanOrEqual(128 * MIB);
    // the embedding alone: 152064 x 3584 f16 = 1.09 GB in at least 9 chunks
    const embedChunks = Math.ceil((152064 * 3584 * 2) / (128 * MIB));
    expect(sizes.slice(0, embedChunks).reduce((a, b) => a + b, 0)).toBe(152064 * 3584 * 2);
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(Math.abs(total - plan.total) / plan.total).toBeLessThan(1e-3); // the plan rounds nothing but the biases' padding
  });

  it("refuses a context whose KV layer exceeds the adapter's largest buffer, before allocating", async () => {
    const ctx = await nodeContext(PROFILES.weak);
    const shape = modelSize('14B').config; // 1024 KV values a position: 256 MiB a layer at 131072
    const err = await trialAllocation(ctx, shape, { weights: 'q4', kv: 'f16', context: 131072, slots: 1, chunk: 128 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BoxedError);
    expect((err as BoxedError).name).toBe('OutOfMemory');
    expect((err as BoxedError).message).toMatch(/shorter context/);
  });

  it('allocates and frees what a small model needs', async () => {
    const ctx = await nodeContext(PROFILES.weak);
    const cfg = { ...modelSize('1.5B').config, nLayers: 2, vocab: 4000 };
    const opts = { weights: 'q4', kv: 'f16', context: 256, slots: 1, chunk: 16 } as const;
    const r = await trialAllocation(ctx, cfg, opts);
    const sizes = plannedBuffers(ctx, cfg, opts);
    expect(r.bytes).toBe(sizes.reduce((a, b) => a + b, 0));
    // none is over the limit here, so one buffer each: per layer q4 qkv (its f16 scales in its words), the qkv
    // bias, o, gate/up, down, K and V; then the embedding, the final norm and the activations
    expect(r.buffers).toBe(sizes.length);
    expect(r.buffers).toBe(7 * cfg.nLayers + 3);
  });

  /** A GGUF file's block types as GgmlTensors (only `type` is read when planning): Q6_K for the embedding and
   *  the layers' down matrices, F32 for the vectors, Q4_K for the rest, as a Q4_K_M file has them. */
  const q4km: GgmlTensors = {
    type: (name): GgmlTypeName => (name.endsWith('embed_tokens.weight') || name.endsWith('down_proj.weight') ? 'Q6_K' : /norm|bias/.test(name) ? 'F32' : 'Q4_K'),
    readRows: () => Promise.reject(new Error('planning reads no tensor')),
  };

  it("plans a GGUF model's weights in its block types, in pieces within the limits", async () => {
    const ctx = await nodeContext(PROFILES.weak);
    const cfg = modelSize('1.5B').config;
    const opts = { weights: 'f32', kv: 'f16', context: 4096, slots: 1, chunk: 128 } as const;
    const sizes = plannedBuffers(ctx, cfg, opts, q4km);
    const gguf = planMemory(cfg, opts, q4km);
    const f32 = planMemory(cfg, opts);
    // Q4_K/Q6_K, not the f32 the request names: about a sixth of it
    expect(gguf.weights).toBeLessThan(f32.weights / 5);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(gguf.total);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(128 * MIB);
    expect(sizes[sizes.length - 1]).toBe(gguf.activations);
  });

  it("names a GGUF model's own figures when a batch exceeds the limits, and allocates what it plans", async () => {
    const ctx = await nodeContext(PROFILES.weak);
    const cfg = { ...modelSize('1.5B').config, nLayers: 2, vocab: 4000 };
    const big = { weights: 'f32', kv: 'f32', context: 32768, slots: 16, chunk: 128 } as const;
    const err = (() => {
      try {
        checkBatchLimits(ctx, cfg, big, q4km);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(BoxedError);
    expect((err as BoxedError).name).toBe('OutOfMemory');
    expect((err as BoxedError).detail?.neededBytes).toBe(planMemory(cfg, big, q4km).total);
    expect((err as BoxedError).detail?.neededBytes).not.toBe(planMemory(cfg, big).total);
    const opts = { weights: 'f32', kv: 'f16', context: 256, slots: 2, chunk: 16 } as const;
    const r = await trialAllocation(ctx, cfg, opts, q4km);
    expect(r.bytes).toBe(planMemory(cfg, opts, q4km).total);
    expect(r.bytes).toBeLessThan(planMemory(cfg, opts).total);
  });
});
