// `bench`: prefill and decode speed with the GPU counters that matter on any machine: dispatches and
// readbacks per decoded token, and the CPU time to record one decode step.
import { generateSequence } from '../engine/generate';
import { Rng } from '../sampler/rng';
import { numberFlag, parseFlags } from './args';
import { MODEL_FLAGS, openNodeEngine } from './node-engine';
import { benchSamplesCommand } from './bench-samples';

export async function benchCommand(argv: string[]): Promise<void> {
  if (argv.some((a) => a === '--samples' || a.startsWith('--samples='))) return benchSamplesCommand(argv);
  const f = parseFlags(argv, [...MODEL_FLAGS, 'prompt-tokens', 'gen-tokens'], ['json']);
  const promptTokens = numberFlag(f, 'prompt-tokens', 128, { min: 1, max: 1 << 20, integer: true });
  const genTokens = numberFlag(f, 'gen-tokens', 32, { min: 2, max: 1 << 20, integer: true });
  const { engine, info } = await openNodeEngine(f, { context: Math.max(16, promptTokens + genTokens + 1) });
  const model = engine.model!;
  const tok = engine.tokenizer!;
  const rng = new Rng(1234);
  // ordinary text tokens (no special ids), so the prompt is like a real one
  const promptIds = Array.from({ length: promptTokens }, () => rng.int(0, Math.min(tok.size, 151643) - 1));
  const r = await generateSequence(model, {
    promptIds,
    maxTokens: genTokens,
    sampling: { temperature: 0.6, topP: 0.95, topK: 0, seed: 7 },
    eosIds: new Set(), // run the full length
  });
  // CPU time to record (encode and submit) one decode step
  const steps = Math.min(16, genTokens);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) model.submitStep([{ slot: 0, pos: promptTokens + i }], { lastRowOnly: false, sampling: [{ temperature: 0, topP: 1, topK: 0, coin: 0 }] });
  const encodeMs = (performance.now() - t0) / steps;
  await model.ctx.device.queue.onSubmittedWorkDone();
  const bytes = model.gpuBytes();
  const out = {
    model: info.name,
    weights: info.weights,
    prompt_tokens: promptTokens,
    gen_tokens: r.ids.length,
    prefill_tokens_per_s: r.stats.prefillTokensPerSecond,
    decode_tokens_per_s: r.stats.decodeTokensPerSecond,
    time_to_first_token_ms: r.stats.timeToFirstTokenMs,
    dispatches_per_token: r.stats.dispatchesPerToken,
    readbacks_per_token: r.stats.readbacksPerToken,
    encode_ms_per_token: encodeMs,
    gpu_bytes: { weights: bytes.weights, kv_cache: bytes.kvCache, activations: bytes.activations },
    adapter: info.gpu.adapter,
    features: info.gpu.features,
  };
  process.stdout.write((f.json === true ? JSON.stringify(out) : JSON.stringify(out, null, 2)) + '\n');
  await engine.unload();
}
