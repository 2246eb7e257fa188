// The memory plan as arithmetic: the 1.5B's buffers by hand, GGUF rows in their block types, the activation
// table's conditions, and the buffer-limit rule against the largest batch it allows, on random shapes.
import { describe, it, expect } from 'vitest';
import { activationBuffers, bufferBytes, kvRowBytes, largestBatchWithin, limitBreach, limitError, planMemory, plannedWeights, ropeFusedIn, storedBytes, type PlanShape } from './memory-plan';
import { modelSize } from './config-sizes';
import { packedBytes } from '../loader/quant';
import type { GgmlTypeName } from '../loader/gguf/blocks';
import { Rng } from '../sampler/rng';

const ONE_5B = modelSize('1.5B').config;

describe('planMemory', () => {
  it("counts the 1.5B's q4 weights, f16 KV cache and activations buffer by buffer", () => {
    const p = planMemory(ONE_5B, { weights: 'q4', kv: 'f16', context: 4096, slots: 1, chunk: 128 });
    // q4: a 1536-value row is 48 groups = 6 superblocks of 144 bytes (16 of f16 scales + 128 of nibbles) = 864
    // bytes; an 8960-value row 280 groups = 35 superblocks = 5040 bytes (18 bytes per 32 values)
    const embed = 151936 * 864;
    const layer = (12 * 128 + 2 * 256) * 864 + (12 * 128 + 2 * 256) * 4 + 1536 * 864 + 2 * 8960 * 864 + 1536 * 35 * 144;
    expect(p.weights).toBe(embed + 1536 * 4 + 28 * layer);
    expect(p.kvCache).toBe(2 * 28 * 4096 * 256 * 2);
    // 128 rows of x, q, attnOut, h, tokens, meta (RoPE fused: no qkv); one row of xLast and logits; 3 staging
    expect(p.activations).toBe(128 * (1536 + 1536 + 1536 + 8960 + 1 + 2) * 4 + 1536 * 4 + 151936 * 4 + 3 * 512);
    expect(p.total).toBe(p.weights + p.kvCache + p.activations);
  });

  it('adds the qkv buffer when RoPE is a pass of its own', () => {
    const o = { weights: 'q8', kv: 'f32', context: 64, slots: 3, chunk: 5 } as const;
    const names = (fuse: boolean | undefined) => activationBuffers(ONE_5B, { ...o, fuseRope: fuse }).map((a) => a.name);
    expect(names(undefined)).not.toContain('qkv');
    expect(names(false)).toContain('qkv');
    expect(activationBuffers({ ...ONE_5B, headDim: 6 }, o).map((a) => a.name)).toContain('qkv'); // no whole RoPE quads
    const fused = planMemory(ONE_5B, o).activations;
    expect(planMemory(ONE_5B, { ...o, fuseRope: false }).activations - fused).toBe(5 * (1536 + 512) * 4);
    // rows: R = max(chunk, slots) for the step's buffers, slots for the logits
    const wide = activationBuffers(ONE_5B, { ...o, slots: 9 });
    expect(wide.find((a) => a.name === 'x')!.rows).toBe(9);
    expect(wide.find((a) => a.name === 'logits')!.rows).toBe(9);
    expect(activationBuffers(ONE_5B, o).find((a) => a.name === 'logits')!.rows).toBe(3);
  });

  it("counts the 1.5B's q8 KV cache: a byte a value and an f32 scale per (position, kv head); RoPE not in the qkv epilogue", () => {
    const o = { weights: 'q4', kv: 'q8', context: 4096, slots: 2, chunk: 128 } as const;
    const p = planMemory(ONE_5B, o);
    expect(p.kvCache).toBe(2 * 28 * 2 * 4096 * (256 + 2 * 4));
    expect(kvRowBytes({ kvDim: 256, heads: 2, format: 'q8' })).toBe(264);
    expect(kvRowBytes({ kvDim: 256, heads: 2, format: 'f16' })).toBe(512);
    expect(kvRowBytes({ kvDim: 256, heads: 2, format: 'f32' })).toBe(1024);
    // the per-head-vector amax needs the whole vector: the rope-kv pass writes the cache, from the qkv buffer
    expect(ropeFusedIn(ONE_5B, o)).toBe(false);
    expect(ropeFusedIn(ONE_5B, { ...o, kv: 'f16' })).toBe(true);
    expect(activationBuffers(ONE_5B, o).map((a) => a.name)).toContain('qkv');
    expect(p.activations - planMemory(ONE_5B, { ...o, kv: 'f16' }).activations).toBe(128 * (1536 + 512) * 4);
    expect(p.weights).toBe(planMemory(ONE_5B, { ...o, kv: 'f16' }).weights);
    // a layer's K buffer at 128 MiB bindings: 262144 f16 positions, 508400 q8 (floor(2^27 / 264))
    const limits = { maxBufferSize: 1 << 30, maxStorageBufferBindingSize: 128 << 20 };
    expect(limitBreach(ONE_5B, { kv: 'q8', context: 262145, slots: 1 }, limits)).toBeNull();
    expect(limitBreach(ONE_5B, { kv: 'q8', context: 508400, slots: 1 }, limits)).toBeNull();
    expect(limitBreach(ONE_5B, { kv: 'q8', context: 508401, slots: 1 }, limits)).toMatchObject({ what: 'kvLayer', bytes: 508401 * 264 });
    // heavy mode at 32768 positions: 15 slots of q8 KV within a 128 MiB K buffer, 8 of f16
    expect(largestBatchWithin(ONE_5B, { kv: 'q8', context: 32768 }, limits)).toBe(15);
    expect(largestBatchWithin(ONE_5B, { kv: 'f16', context: 32768 }, limits)).toBe(8);
  });

  it('keeps the tiny buffers at the 16-byte minimum createBuffer gives them', () => {
    expect(bufferBytes(4)).toBe(16);
    expect(bufferBytes(18)).toBe(20);
    const tokens = activationBuffers(ONE_5B, { weights: 'q4', kv: 'f16', context: 16, slots: 1, chunk: 1 }).find((a) => a.name === 'staging')!;
    expect(tokens.copies).toBe(3);
    expect(tokens.bytes).toBe(3 * 16);
  });

  it('every format: the plan equals the packing rule per matrix, tied and untied', () => {
    const rng = new Rng(7);
    const rnd = () => rng.next();
    for (let i = 0; i < 20; i++) {
      const nHeads = 1 + Math.floor(rnd() * 5);
      const headDim = 2 * (1 + Math.floor(rnd() * 20));
      const s: PlanShape = { dim: 8 + Math.floor(rnd() * 300), ffnDim: 5 + Math.floor(rnd() * 500), nLayers: 1 + Math.floor(rnd() * 4), nHeads, headDim, kvDim: headDim * (1 + Math.floor(rnd() * nHeads)), vocab: 17 + Math.floor(rnd() * 999), tiedEmbeddings: rnd() < 0.5 };
      for (const f of ['q4', 'q8', 'f16', 'f32'] as const) {
        const qDim = s.nHeads * s.headDim;
        const layer = packedBytes(qDim + 2 * s.kvDim, s.dim, f) + (qDim + 2 * s.kvDim) * 4 + packedBytes(s.dim, qDim, f) + packedBytes(2 * s.ffnDim, s.dim, f) + packedBytes(s.dim, s.ffnDim, f);
        const want = packedBytes(s.vocab, s.dim, f) * (s.tiedEmbeddings ? 1 : 2) + s.dim * 4 + s.nLayers * layer;
        expect(planMemory(s, { weights: f, kv: 'f16', context: 8, slots: 1, chunk: 4 }).weights).toBe(want);
      }
    }
  });
});

describe('GGUF weights in their block types', () => {
  it('pads each row of blocks to whole words', () => {
    expect(storedBytes(3, 256, 'Q4_K')).toBe(3 * 144);
    expect(storedBytes(3, 256, 'Q6_K')).toBe(3 * 212); // 210 bytes a row
    expect(storedBytes(5, 64, 'Q8_0')).toBe(5 * 68);
    expect(storedBytes(2, 96, 'Q4_0')).toBe(2 * 56); // 3 blocks of 18 bytes = 54
    expect(storedBytes(4, 3, 'F16')).toBe(4 * 8);
    expect(storedBytes(4, 3, 'BF16')).toBe(4 * 8);
    expect(storedBytes(4, 3, 'F32')).toBe(packedBytes(4, 3, 'f32'));
  });

  it('plans each matrix in its own type, gate/up of two types packed in the fallback format, the layer gains kept', () => {
    const s: PlanShape = { dim: 256, ffnDim: 512, nLayers: 2, nHeads: 4, headDim: 64, kvDim: 128, vocab: 1000, tiedEmbeddings: true };
    const types = (name: string): GgmlTypeName => (name.includes('layers.1.mlp.up') ? 'Q5_K' : name.includes('v_proj') ? 'Q6_K' : name.includes('embed') ? 'Q8_0' : 'Q4_K');
    const w = plannedWeights(s, 'q8', { type: types });
    const bytesOf = (label: string) => w.find((x) => x.label === label)!.bytes;
    expect(bytesOf('embed')).toBe(1000 * 8 * 34);
    expect(bytesOf('L0.qkv:v')).toBe(128 * 212);
    expect(bytesOf('L0.gateUp:gate') + bytesOf('L0.gateUp:up')).toBe(2 * 512 * 144);
    expect(bytesOf('L1.gateUp')).toBe(packedBytes(1024, 256, 'q8'));
    expect(w.filter((x) => x.label.endsWith('Norm')).length).toBe(4);
    const plan = planMemory(s, { weights: 'q8', kv: 'f32', context: 16, slots: 1, chunk: 4 }, { type: types });
    expect(plan.weights).toBe(w.reduce((a, x) => a + x.bytes, 0));
  });
});

describe('the buffer-limit rule', () => {
  it('names the K buffer first, then the logits', () => {
    const limits = { maxBufferSize: 1 << 30, maxStorageBufferBindingSize: 128 << 20 };
    expect(limitBreach(ONE_5B, { kv: 'f16', context: 32768, slots: 1 }, limits)).toBeNull();
    // 256 KV values x 2 bytes = 512 bytes a position: 128 MiB is 262144 positions of one slot
    expect(limitBreach(ONE_5B, { kv: 'f16', context: 262144, slots: 1 }, limits)).toBeNull();
    expect(limitBreach(ONE_5B, { kv: 'f16', context: 262145, slots: 1 }, limits)).toMatchObject({ what: 'kvLayer', bytes: 262145 * 512, limit: 128 << 20 });
    const tiny = { maxBufferSize: 1 << 30, maxStorageBufferBindingSize: 4 << 20 };
    expect(limitBreach(ONE_5B, { kv: 'f16', context: 16, slots: 7 }, tiny)).toMatchObject({ what: 'logits', bytes: 7 * 151936 * 4 });
    const e = limitError(limitBreach(ONE_5B, { kv: 'f16', context: 16, slots: 7 }, tiny)!, { context: 16, slots: 7 });
    expect(e.name).toBe('OutOfMemory');
    expect(e.message).toMatch(/logits for 7 sequences .* fewer parallel solutions/);
    expect(limitError(limitBreach(ONE_5B, { kv: 'f16', context: 262145, slots: 1 }, limits)!, { context: 262145, slots: 1 }, 99).detail).toMatchObject({ neededBytes: 99, kvLayerBytes: 262145 * 512 });
  });

  it('the largest batch within the limits is the last one without a breach (random shapes and limits)', () => {
    const rng = new Rng(3);
    const rnd = () => rng.next();
    for (let i = 0; i < 200; i++) {
      const s: PlanShape = { ...ONE_5B, kvDim: 2 * (1 + Math.floor(rnd() * 600)), vocab: 1 + Math.floor(rnd() * 200000) };
      const limits = { maxBufferSize: Math.floor(rnd() * 2e9), maxStorageBufferBindingSize: Math.floor(rnd() * 2e9) };
      const o = { kv: rnd() < 0.5 ? 'f16' : 'f32', context: 16 + Math.floor(rnd() * 200000) } as const;
      const n = largestBatchWithin(s, o, limits);
      if (n >= 1) expect(limitBreach(s, { ...o, slots: n }, limits)).toBeNull();
      expect(limitBreach(s, { ...o, slots: n + 1 }, limits)).not.toBeNull();
    }
  });
});
