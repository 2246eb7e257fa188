// Test harness page (built only for the end-to-end tests): runs the engine's GPU forward pass in the
// browser's own WebGPU and compares its logits with the CPU oracle, on a random model with awkward shapes.
// e2e/gpu-parity.spec.ts calls window.boxedParity() through Playwright.
import { openDevice } from '../../src/gpu/device';
import { GpuContext } from '../../src/gpu/context';
import { GpuModel } from '../../src/gpu/model';
import { CpuModel } from '../../src/cpu/model';
import { storedWeights } from '../../src/cpu/stored-weights';
import { randomNormal } from '../../src/cpu/random';
import { sample } from '../../src/sampler/sample';
import { expectedTensors, mapWeights, type ModelWeights } from '../../src/model/weights';
import type { ModelConfig } from '../../src/model/config';
import type { KvFormat, WeightFormat } from '../../src/protocol/engine';

const BASE: ModelConfig = {
  architecture: 'Qwen2ForCausalLM',
  dim: 72,
  ffnDim: 131,
  nLayers: 2,
  nHeads: 3,
  nKvHeads: 3,
  headDim: 24,
  kvDim: 72,
  vocab: 1003,
  normEps: 1e-6,
  ropeTheta: 1e6,
  maxPositions: 4096,
  tiedEmbeddings: false,
  torchDtype: 'float32',
  bosTokenId: null,
  eosTokenIds: [],
};

function randomTensors(cfg: ModelConfig): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  expectedTensors(cfg).forEach((t, i) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const name = t.name;
    let v: Float32Array;
    if (name.endsWith('norm.weight')) v = randomNormal(n, 100 + i, 0.1).map((x) => 1 + x);
    else if (name.endsWith('.bias')) v = randomNormal(n, 100 + i, 0.05);
    else if (name.includes('embed') || name.includes('lm_head')) v = randomNormal(n, 100 + i, 1);
    else v = randomNormal(n, 100 + i, 1 / Math.sqrt(t.shape[1] * (/o_proj|down_proj/.test(name) ? cfg.nLayers : 1)));
    out.set(name, v);
  });
  return out;
}

export interface ParityResult {
  adapter: string;
  shaderF16: boolean;
  subgroups: boolean;
  /** worst |gpu - cpu| / max |cpu| over the logits */
  relErr: number;
  argmaxGpu: number;
  argmaxCpu: number;
  /** the GPU sampler's id (temperature 0.7, top-p 0.9, fixed coin) and the CPU sampler's on the GPU's logits */
  sampledGpu: number;
  sampledCpu: number;
  finite: boolean;
}

const SAMPLING = { temperature: 0.7, topP: 0.9, topK: 0, coin: 0.37 };

const TOKENS = [5, 17, 999, 3, 250, 1002, 0, 42, 77]; // all < the smallest vocab used

async function parity(format: WeightFormat, kv: KvFormat, chunk: number, vocab = 1003): Promise<ParityResult> {
  const CFG = { ...BASE, vocab };
  const boxed = await openDevice(navigator.gpu);
  const ctx = new GpuContext(boxed);
  const tensors = randomTensors(CFG);
  const reader = { read: async (name: string) => tensors.get(name)! };
  const model = await GpuModel.load(ctx, CFG, reader, { weights: format, kv, context: 64, slots: 1, chunk }, CFG.vocab);
  let handle = null;
  for (let s = 0; s < TOKENS.length; s += chunk) {
    const part = TOKENS.slice(s, s + chunk);
    const last = s + chunk >= TOKENS.length;
    handle = model.submitStep(part.map((_, i) => ({ slot: 0, pos: s + i })), { tokens: part, lastRowOnly: true, sampling: last ? [SAMPLING] : undefined });
  }
  const sampled = (await model.readTokens(handle!))[0];
  const got = await model.readLogits(1);
  model.destroy();
  const w: ModelWeights<Float32Array> = mapWeights(CFG, (n) => tensors.get(n)!);
  const cpu = new CpuModel(CFG, storedWeights(CFG, w, format), { context: 64, slots: 1, kv });
  const want = cpu.step(TOKENS.map((token, pos) => ({ token, pos, slot: 0 })), true);
  let worst = 0;
  let scale = 0;
  let finite = true;
  let ag = 0;
  let ac = 0;
  for (let i = 0; i < want.length; i++) {
    if (!Number.isFinite(got[i])) finite = false;
    worst = Math.max(worst, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
    if (got[i] > got[ag]) ag = i;
    if (want[i] > want[ac]) ac = i;
  }
  boxed.device.destroy();
  return {
    adapter: boxed.report.adapter.description || boxed.report.adapter.vendor,
    shaderF16: boxed.caps.shaderF16,
    subgroups: boxed.caps.subgroups,
    relErr: finite ? worst / scale : NaN,
    argmaxGpu: ag,
    argmaxCpu: ac,
    sampledGpu: sampled,
    sampledCpu: sample(got, SAMPLING, SAMPLING.coin, CFG.vocab),
    finite,
  };
}

declare global {
  interface Window {
    boxedParity: typeof parity;
  }
}
window.boxedParity = parity;
document.body.dataset.ready = 'true';
