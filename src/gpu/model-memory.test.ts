// GpuModel's buffers against its memory plan, counted on the real test device through a wrapper around
// device.createBuffer: the weights, KV cache and activation buffers a load creates add up to the plan's numbers
// (src/model/memory-plan.ts) exactly, every other buffer is a kernel's own (uniforms, tables, scratch), and after
// destroy() no buffer the load or a step made is alive (safetensors and GGUF, both device profiles); a load
// that fails halfway (a tensor that cannot be read) leaves none alive either.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSyntheticModel } from '../../scripts/synthetic-model';
import { openCheckpoint, type Checkpoint } from '../loader/checkpoint';
import { openGgufCheckpoint } from '../loader/gguf/checkpoint';
import { dirProvider, fileSource } from '../cli/file-source';
import { nodeContext, PROFILES } from './test-device';
import type { GpuContext } from './context';
import { GpuModel, type GpuModelOptions, type TensorReader } from './model';
import { activationBuffers } from '../model/memory-plan';

interface Made {
  label: string;
  size: number;
  live: boolean;
}

/** Records every buffer created through ctx.device from now on, and whether it was destroyed. */
function trackBuffers(ctx: GpuContext): { made: Made[]; live: () => number; stop: () => void } {
  const device = ctx.device;
  const create = device.createBuffer;
  const made: Made[] = [];
  device.createBuffer = function (desc: GPUBufferDescriptor): GPUBuffer {
    const buf = create.call(device, desc);
    const rec: Made = { label: desc.label ?? '', size: desc.size, live: true };
    made.push(rec);
    const destroy = buf.destroy;
    buf.destroy = function () {
      rec.live = false;
      destroy.call(buf);
    };
    return buf;
  };
  return { made, live: () => made.filter((m) => m.live).length, stop: () => void (device.createBuffer = create) };
}

const KV = /^kv\.[kv]\d+$/;
// GpuModel's weight labels: a matrix, its row chunks (#i) and their q4/q8 scales
const WEIGHT = /^(embed|lm_head|norm|L\d+\.(qkv|qkv\.bias|o|gateUp|down|attnNorm|mlpNorm))(#\d+)?(\.scales)?$/;
// the kernels' own buffers: row-count tables, RoPE tables, partials and candidates, uniforms
const KERNEL = /^(embed|qkv|o|gateUp|down|lm_head|rope-kv|attention|rmsnorm|sample)\.(rows|ropeTable|table|partials|cand|cfg|params)$/;

function byKind(made: readonly Made[], activationLabels: ReadonlySet<string>) {
  const sum = (f: (m: Made) => boolean) => made.filter(f).reduce((a, m) => a + m.size, 0);
  return {
    activations: sum((m) => activationLabels.has(m.label)),
    kvCache: sum((m) => KV.test(m.label)),
    weights: sum((m) => WEIGHT.test(m.label)),
    other: made.filter((m) => !activationLabels.has(m.label) && !KV.test(m.label) && !WEIGHT.test(m.label)).map((m) => m.label),
  };
}

async function checkModel(ctx: GpuContext, ckpt: Checkpoint, opts: GpuModelOptions) {
  const t = trackBuffers(ctx);
  try {
    const m = await GpuModel.load(ctx, ckpt.config, ckpt, opts, ckpt.config.vocab);
    const loaded = [...t.made];
    // a prefill chunk, a sampling decode step over every slot, a logits readback, a KV slot copy
    const n = Math.min(m.rowsPerStep, 5);
    m.submitStep(Array.from({ length: n }, (_, pos) => ({ slot: 0, pos })), { tokens: Array.from({ length: n }, (_, i) => 100 + i), lastRowOnly: true });
    if (opts.slots > 1) m.copySlot(0, 1, n);
    const rows = Array.from({ length: opts.slots }, (_, slot) => ({ slot, pos: n }));
    const h = m.submitStep(rows, { tokens: rows.map(() => 7), lastRowOnly: false, sampling: rows.map(() => ({ temperature: 0, topP: 1, topK: 0, coin: 0 })) });
    const ids = await m.readTokens(h);
    expect(ids.length).toBe(opts.slots);
    expect((await m.readLogits(opts.slots)).length).toBe(opts.slots * ckpt.config.vocab);
    // every name the table can hold (a buffer the plan left out would then be counted, and the sums differ)
    const every = activationBuffers(ckpt.config, { ...opts, fuseRope: false });
    const labels = new Set(every.flatMap((a) => (a.copies > 1 ? Array.from({ length: a.copies }, (_, i) => `${a.name}${i}`) : [a.name])));
    const kinds = byKind(loaded, labels);
    expect(t.live()).toBeGreaterThan(0);
    m.destroy();
    return { kinds, plan: m.memory, liveAfter: t.live(), made: t.made.length };
  } finally {
    t.stop();
  }
}

let dir: string;
let st: Checkpoint;
let stUntied: Checkpoint;
let gguf: Checkpoint;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'boxed-memory-'));
  await makeSyntheticModel({ out: join(dir, 'odd'), preset: 'odd', seed: 3, untied: true });
  await makeSyntheticModel({ out: join(dir, 'tiny'), preset: 'tiny', seed: 4 });
  await makeSyntheticModel({ out: join(dir, 'k256'), preset: 'k256', seed: 5, gguf: ['Q4_K_M'] });
  stUntied = await openCheckpoint(dirProvider(join(dir, 'odd')));
  st = await openCheckpoint(dirProvider(join(dir, 'tiny')));
  gguf = await openGgufCheckpoint(await fileSource(join(dir, 'k256', 'model-Q4_K_M.gguf'), 'model-Q4_K_M.gguf'));
}, 600_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

// the full profile: fused and separate RoPE, tied and untied, one and several slots, GGUF; the weak one (128 MiB
// bindings, no f16): several slots, more than a chunk's rows; q8 KV on both
const CASES: ['full' | 'weak', string, () => Checkpoint, GpuModelOptions][] = [
  ['full', 'tiny, q4, fused RoPE, 1 slot', () => st, { weights: 'q4', kv: 'f16', context: 40, slots: 1, chunk: 7 }],
  ['full', 'odd untied, q8, separate RoPE, 3 slots', () => stUntied, { weights: 'q8', kv: 'f32', context: 33, slots: 3, chunk: 5, fuseRope: false }],
  ['full', 'GGUF Q4_K_M (gate/up of two types in layer 1), 2 slots', () => gguf, { weights: 'q8', kv: 'f32', context: 24, slots: 2, chunk: 6 }],
  ['weak', 'odd untied, f16, 4 slots > chunk', () => stUntied, { weights: 'f16', kv: 'f16', context: 19, slots: 4, chunk: 3 }],
  // q8 KV: codes then scales in each K/V buffer, written by the rope-kv pass (the qkv activation buffer)
  ['full', 'tiny, q4, q8 KV, 2 slots', () => st, { weights: 'q4', kv: 'q8', context: 40, slots: 2, chunk: 7 }],
  ['full', 'GGUF Q4_K_M, q8 KV', () => gguf, { weights: 'q8', kv: 'q8', context: 24, slots: 1, chunk: 6 }],
  ['weak', 'odd untied, f16, q8 KV, 3 slots', () => stUntied, { weights: 'f16', kv: 'q8', context: 19, slots: 3, chunk: 4 }],
];

describe('GpuModel buffers = the memory plan, none left after destroy', () => {
  const contexts = new Map<string, Promise<GpuContext>>();
  const device = (p: 'full' | 'weak') => contexts.get(p) ?? contexts.set(p, nodeContext(PROFILES[p])).get(p)!;
  it.each(CASES)('%s profile: %s', async (profile, _name, ckpt, opts) => {
    const r = await checkModel(await device(profile), ckpt(), opts);
    expect(r.kinds.weights).toBe(r.plan.weights);
    expect(r.kinds.kvCache).toBe(r.plan.kvCache);
    expect(r.kinds.activations).toBe(r.plan.activations);
    expect(r.plan.total).toBe(r.plan.weights + r.plan.kvCache + r.plan.activations);
    // every other buffer of the load is a kernel's own
    expect(r.kinds.other.length).toBeGreaterThan(0);
    for (const label of r.kinds.other) expect(label).toMatch(KERNEL);
    expect(r.liveAfter, `${r.made} buffers made`).toBe(0);
  });
});

/** The checkpoint, except that reading `failing` (any rows of it) rejects. */
function failingReader(ckpt: Checkpoint, failing: string): TensorReader {
  const fail = (name: string) => Promise.reject(new Error(`cannot read ${name}`));
  const g = ckpt.ggml;
  return {
    read: (name) => (name === failing ? fail(name) : ckpt.read(name)),
    readRows: ckpt.readRows ? (name, start, count) => (name === failing ? fail(name) : ckpt.readRows!(name, start, count)) : undefined,
    ggml: g && { type: (name) => g.type(name), readRows: (name, start, count) => (name === failing ? fail(name) : g.readRows(name, start, count)) },
  };
}

describe('a load that fails halfway leaves no buffer alive', () => {
  it.each([
    // the up rows are read into the gate/up chunk already made (a streamed weight's piece)
    ['safetensors: layer 1 up_proj', () => stUntied, 'model.layers.1.mlp.up_proj.weight', { weights: 'q4', kv: 'f16', context: 16, slots: 2, chunk: 4 }],
    ['GGUF: layer 1 down_proj', () => gguf, 'model.layers.1.mlp.down_proj.weight', { weights: 'q8', kv: 'f32', context: 16, slots: 1, chunk: 4 }],
    // layer 0's q and k (Q4_K) are one piece already uploaded when its v (Q6_K) is read
    ['GGUF: layer 0 v_proj, after q and k', () => gguf, 'model.layers.0.self_attn.v_proj.weight', { weights: 'q8', kv: 'f32', context: 16, slots: 1, chunk: 4 }],
  ] as [string, () => Checkpoint, string, GpuModelOptions][])('%s', async (_name, ckpt, failing, opts) => {
    const ctx = await nodeContext(PROFILES.full);
    const t = trackBuffers(ctx);
    try {
      const err = await GpuModel.load(ctx, ckpt().config, failingReader(ckpt(), failing), opts, ckpt().config.vocab).catch((e: unknown) => e);
      expect(String(err)).toContain(`cannot read ${failing}`);
      expect(t.made.length).toBeGreaterThan(10); // the KV cache, activations and earlier weights were made
      expect(t.made.filter((m) => m.live).map((m) => m.label)).toEqual([]);
    } finally {
      t.stop();
    }
  });
});
