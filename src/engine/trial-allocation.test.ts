// The trial allocation before a download: the planned buffers follow the load's chunking (no buffer over the
// binding limit, the 1.09 GB f16 embedding of the 7B cut into pieces), a KV layer over the limits is a typed
// OutOfMemory without allocating, and a model that fits is allocated and freed.
import { describe, expect, it } from 'vitest';
import { nodeContext, PROFILES } from '../gpu/test-device';
import { plannedBuffers, trialAllocation } from './memory';
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
    expect(r.bytes).toBe(plannedBuffers(ctx, cfg, opts).reduce((a, b) => a + b, 0));
    expect(r.buffers).toBeGreaterThan(2 * cfg.nLayers * 5);
  });
});
