// The same synthetic model as safetensors and as GGUF in each written type: the same config and tokenizer,
// weights within each type's quantization error, and CPU-oracle logits within a per-type bound (measured
// against the safetensors model's f32 result).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSyntheticModel } from '../../../scripts/synthetic-model';
import { GGUF_WRITE_TYPES, type GgufWriteType } from '../../../scripts/synthetic-gguf';
import { dirProvider, fileSource } from '../../cli/file-source';
import { CpuModel } from '../../cpu/model';
import { mapWeights } from '../../model/weights';
import { Tokenizer } from '../../tokenizer/tokenizer';
import { openCheckpoint, type Checkpoint } from '../checkpoint';
import { openGgufCheckpoint } from './checkpoint';
import { relRms } from '../../cpu/compare';

let dir: string;
let st: Checkpoint;
let stWeights: Map<string, Float32Array>;
let want: Float32Array;
const gguf = new Map<GgufWriteType, Checkpoint>();
const ROWS = [9707, 11, 1879, 0, 151644, 872].map((token, pos) => ({ token, pos, slot: 0 }));

async function readAll(c: Checkpoint): Promise<Map<string, Float32Array>> {
  const w = new Map<string, Float32Array>();
  for (const n of c.tensorNames) w.set(n, await c.read(n));
  return w;
}

/** Last-position logits of the prompt ROWS on the CPU oracle. */
function logits(c: Checkpoint, w: Map<string, Float32Array>): Float32Array {
  const m = new CpuModel(c.config, mapWeights(c.config, (n) => w.get(n)!), { context: 16, slots: 1, kv: 'f32' });
  return m.step(ROWS, true).slice();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'boxed-gguf-'));
  await makeSyntheticModel({ out: dir, preset: 'k256', seed: 5, gguf: GGUF_WRITE_TYPES });
  st = await openCheckpoint(dirProvider(dir));
  stWeights = await readAll(st);
  want = logits(st, stWeights);
  for (const t of GGUF_WRITE_TYPES) gguf.set(t, await openGgufCheckpoint(await fileSource(join(dir, `model-${t}.gguf`), `model-${t}.gguf`)));
}, 600_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

// Worst relative RMS weight error of a tensor per type, on N(0, σ) weights. Measured: F16 ~1e-8 (it holds
// the BF16 values exactly, up to f16 subnormals), Q8_0 0.54%, Q6_K 1.9%, Q4_K 7.9%, Q4_0 8.6% (for Gaussian
// weights Boxed's min/max Q4_K encoder is no better than Q4_0; llama.cpp's searched scales do better).
const WEIGHT_BOUND: Record<GgufWriteType, number> = { F16: 1e-6, Q8_0: 0.007, Q6_K: 0.025, Q4_K: 0.1, Q4_0: 0.11 };
// Logit error relative to the logits' RMS, on a 6-token prompt through the 2-layer models. Measured:
// F16 8e-8, Q8_0 1.2%, Q6_K 4.0%, Q4_K 16%, Q4_0 17%.
const LOGIT_BOUND: Record<GgufWriteType, number> = { F16: 1e-5, Q8_0: 0.02, Q6_K: 0.06, Q4_K: 0.22, Q4_0: 0.24 };

describe('GGUF vs safetensors, same synthetic model', () => {
  it('has the same config', () => {
    for (const g of gguf.values()) {
      const { normEps, ...rest } = g.config;
      const { normEps: want, ...wantRest } = st.config;
      expect(rest).toEqual({ ...wantRest, torchDtype: rest.torchDtype, eosTokenIds: [151645] });
      expect(normEps).toBeCloseTo(want, 12); // stored as f32
      expect(g.tensorNames).toEqual(st.tensorNames);
      for (const n of st.tensorNames) expect(g.info(n).shape).toEqual(st.info(n).shape);
    }
  });

  it('has the same tokenizer and chat template', () => {
    const a = Tokenizer.fromFiles(st.tokenizerJson, st.tokenizerConfig);
    const b = Tokenizer.fromFiles(gguf.get('Q4_K')!.tokenizerJson, gguf.get('Q4_K')!.tokenizerConfig);
    expect(b.size).toBe(a.size);
    for (const text of ['Hello, world!', '  spaces\tand\nlines\n\n', 'naïve café — 東京 🚀', '<|im_start|>user\n2+2?<|im_end|>', "it's 12345 o'clock", '<tool_call>x</tool_call>']) {
      const ids = a.encode(text);
      expect(b.encode(text), text).toEqual(ids);
      expect(b.decode(ids)).toBe(a.decode(ids));
    }
    expect(b.eosIds()).toEqual(a.eosIds());
    expect((gguf.get('F16')!.tokenizerConfig as { chat_template: string }).chat_template).toBe((st.tokenizerConfig as { chat_template: string }).chat_template);
  });

  for (const type of GGUF_WRITE_TYPES) {
    it(`${type}: weights within the type's error, logits within its bound`, async () => {
      const g = gguf.get(type)!;
      const w = await readAll(g);
      let worst = 0;
      for (const name of st.tensorNames) worst = Math.max(worst, relRms(w.get(name)!, stWeights.get(name)!));
      expect(worst).toBeLessThan(WEIGHT_BOUND[type]);
      if (type !== 'F16') expect(worst).toBeGreaterThan(WEIGHT_BOUND[type] / 20); // really quantized
      const got = logits(g, w);
      const rel = relRms(got, want);
      process.stdout.write(`GGUF ${type}: weight error ${worst.toExponential(2)}, logit error ${rel.toExponential(2)} (relative RMS)\n`);
      expect(rel).toBeLessThan(LOGIT_BOUND[type]);
    });
  }
});
