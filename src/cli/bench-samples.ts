// `bench --samples 1,4,8,16`: heavy mode's decode speed for each N in one run, on one loaded model (slots
// for the largest N): every N decodes the same prompt's candidates together; aggregate tokens/s counts
// every candidate's tokens, per-sequence tokens/s is that over N. A short untimed batch per N first
// compiles whatever that row count needs.
import { generateBatch } from '../engine/batch';
import { breakdownDecodeRows } from './bench-breakdown';
import { MAX_SAMPLES } from '../engine/heavy';
import { BoxedError } from '../protocol/errors';
import { Rng } from '../sampler/rng';
import { numberFlag, parseFlags } from './args';
import { MODEL_FLAGS, openNodeEngine } from './node-engine';

export function parseSampleList(v: string): number[] {
  const ns = v.split(',').map((x) => Number(x.trim()));
  if (ns.length === 0 || ns.some((n) => !Number.isInteger(n) || n < 1 || n > MAX_SAMPLES)) {
    throw new BoxedError('InvalidRequest', `--samples must be a comma-separated list of integers in 1..${MAX_SAMPLES}, got '${v}'`);
  }
  return ns;
}

export async function benchSamplesCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, [...MODEL_FLAGS, 'prompt-tokens', 'gen-tokens', 'samples'], ['json', 'breakdown', 'roofline-only']);
  const rooflineOnly = f['roofline-only'] === true;
  const list = parseSampleList(String(f.samples));
  const promptTokens = numberFlag(f, 'prompt-tokens', 128, { min: 1, max: 1 << 20, integer: true });
  const genTokens = numberFlag(f, 'gen-tokens', 32, { min: 2, max: 1 << 20, integer: true });
  const { engine, info } = await openNodeEngine(f, { context: Math.max(16, promptTokens + genTokens + 1), batch: Math.max(...list) });
  const model = engine.model!;
  const tok = engine.tokenizer!;
  const rng = new Rng(1234);
  const promptIds = Array.from({ length: promptTokens }, () => rng.int(0, Math.min(tok.size, 151643) - 1));
  const sampling = { temperature: 0.6, topP: 0.95, topK: 0 };
  const run = (n: number, maxTokens: number) =>
    generateBatch(model, { sequences: Array.from({ length: n }, (_, i) => ({ promptIds, seed: 7 + i })), maxTokens, sampling, eosIds: new Set() });
  // the roofline of a decode step of n rows (one per candidate, all sampled) on an H200: predicted aggregate ratio to n = 1
  const h200Ms = (n: number) =>
    model.traceStep(
      Array.from({ length: n }, (_, slot) => ({ slot, pos: promptTokens })),
      { lastRowOnly: false, sampling: Array.from({ length: n }, () => ({ ...sampling, coin: 0.5 })) },
    ).predicted_ms.h200;
  const roofOne = h200Ms(1);
  const samples = [];
  for (const n of list) {
    const roofMs = h200Ms(n);
    if (rooflineOnly) {
      samples.push({ n, h200_predicted_step_ms: roofMs, h200_predicted_ratio_to_n1: (n * roofOne) / roofMs });
      continue;
    }
    await run(n, 3);
    const r = await run(n, genTokens);
    samples.push({
      n,
      aggregate_tokens_per_s: r.stats.aggregateTokensPerSecond,
      per_sequence_tokens_per_s: r.stats.aggregateTokensPerSecond / n,
      decode_steps: r.stats.decodeSteps,
      rows_per_step: r.stats.decodeRows / Math.max(1, r.stats.decodeSteps),
      dispatches_per_step: r.stats.dispatchesPerStep,
      readbacks_per_step: r.stats.readbacksPerStep,
      cpu_ms_per_step: r.stats.cpuMsPerStep,
      h200_predicted_step_ms: roofMs,
      h200_predicted_ratio_to_n1: (n * roofOne) / roofMs,
    });
  }
  const one = samples.find((s) => s.n === 1);
  const base = one?.aggregate_tokens_per_s;
  const ratios = base ? Object.fromEntries(samples.filter((s) => s.n !== 1).map((s) => [`n${s.n}_over_n1`, (s.aggregate_tokens_per_s ?? 0) / base])) : {};
  // per kernel kind, on the slots the runs above filled (positions past the prompt)
  const breakdown = f.breakdown === true && !rooflineOnly ? await breakdownDecodeRows(model, list, promptTokens, 12) : undefined;
  const out = { model: info.name, weights: info.weights, prompt_tokens: promptTokens, gen_tokens: genTokens, samples, aggregate_ratios: ratios, adapter: info.gpu.adapter, breakdown };
  process.stdout.write((f.json === true ? JSON.stringify(out) : JSON.stringify(out, null, 2)) + '\n');
  await engine.unload();
}
