// `bench`: prefill and decode speed with the GPU counters that matter on any machine: dispatches and
// readbacks per decoded token, and the CPU time to record one decode step. `--rows 1,2,4,8,16` also times
// decode steps of each row count (one token of each of N sequences); the `roofline` predicts a decode step
// and a prefill chunk on named GPUs from the kernels' stated costs (src/gpu/roofline.ts). `--roofline-only`
// skips the timed runs (the roofline of a full-size model on a machine without a GPU).
import { generateSequence } from '../engine/generate';
import type { GpuModel } from '../gpu/model';
import { Rng } from '../sampler/rng';
import { numberFlag, parseFlags } from './args';
import { MODEL_FLAGS, openNodeEngine } from './node-engine';
import { benchSamplesCommand } from './bench-samples';
import { timeDecodeRows } from './bench-steps';
import { BoxedError } from '../protocol/errors';
import { DISPATCH_GAP_S, MEMORY_LATENCY_S, ROOFLINE_TARGETS } from '../gpu/roofline';

const ROOFLINE_CONSTANTS = { dispatch_gap_s: DISPATCH_GAP_S, memory_latency_s: MEMORY_LATENCY_S, targets: ROOFLINE_TARGETS };

/** `--rows 1,2,4,8,16`: the decode row counts to time (each at most 64). */
function parseRows(v: string | boolean | undefined): number[] {
  if (v === undefined) return [];
  const list = typeof v === 'string' ? v.split(',').map((s) => Number(s.trim())) : [];
  if (list.length === 0 || !list.every((n) => Number.isInteger(n) && n >= 1 && n <= 64)) {
    throw new BoxedError('InvalidRequest', `--rows must be a comma-separated list of integers in [1, 64], got '${String(v)}'`);
  }
  return list;
}

export async function benchCommand(argv: string[]): Promise<void> {
  if (argv.some((a) => a === '--samples' || a.startsWith('--samples='))) return benchSamplesCommand(argv);
  const f = parseFlags(argv, [...MODEL_FLAGS, 'prompt-tokens', 'gen-tokens', 'rows'], ['json', 'roofline-only']);
  const promptTokens = numberFlag(f, 'prompt-tokens', 128, { min: 1, max: 1 << 20, integer: true });
  const genTokens = numberFlag(f, 'gen-tokens', 32, { min: 2, max: 1 << 20, integer: true });
  const rooflineOnly = f['roofline-only'] === true;
  const rowCounts = parseRows(f.rows);
  const maxRows = Math.max(1, ...rowCounts);
  const stepsPerRow = 8;
  const context = Math.max(16, promptTokens + Math.max(genTokens, stepsPerRow + 2) + 1);
  const { engine, info } = await openNodeEngine(f, { context, batch: maxRows });
  const model = engine.model!;
  const tok = engine.tokenizer!;
  const rng = new Rng(1234);
  // ordinary text tokens (no special ids), so the prompt is like a real one
  const promptIds = Array.from({ length: promptTokens }, () => rng.int(0, Math.min(tok.size, 151643) - 1));
  const measured = rooflineOnly ? {} : await measure(model, promptIds, genTokens, rowCounts, stepsPerRow);
  // the roofline of one decode step (one row, sampled) and one prefill chunk, from the kernels' stated costs
  const sampling = [{ temperature: 0.6, topP: 0.95, topK: 0, coin: 0.5 }];
  const chunkRows = Math.min(model.opts.chunk, promptTokens);
  const roofline = {
    decode: model.traceStep([{ slot: 0, pos: promptTokens }], { lastRowOnly: false, sampling }),
    prefill: model.traceStep(
      Array.from({ length: chunkRows }, (_, pos) => ({ slot: 0, pos })),
      { tokens: promptIds.slice(0, chunkRows), lastRowOnly: true, sampling },
    ),
  };
  const bytes = model.gpuBytes();
  const out = {
    model: info.name,
    weights: info.weights,
    // a GGUF file: its file type and block types (the weights are kept in them; `weights` is the fallback format)
    ...(info.gguf ? { gguf: info.gguf } : {}),
    prompt_tokens: promptTokens,
    ...measured,
    roofline: { constants: ROOFLINE_CONSTANTS, ...roofline },
    gpu_bytes: { weights: bytes.weights, kv_cache: bytes.kvCache, activations: bytes.activations },
    adapter: info.gpu.adapter,
    features: info.gpu.features,
  };
  process.stdout.write((f.json === true ? JSON.stringify(out) : JSON.stringify(out, null, 2)) + '\n');
  await engine.unload();
}

/** Generation speed, the counters per token, encode time, and (with --rows) decode steps per row count. */
async function measure(model: GpuModel, promptIds: number[], genTokens: number, rowCounts: number[], stepsPerRow: number): Promise<Record<string, unknown>> {
  const promptTokens = promptIds.length;
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
  // the same prompt in every slot, then decode steps of each row count
  const maxRows = Math.max(1, ...rowCounts);
  for (let s = 1; s < maxRows; s++) model.copySlot(0, s, promptTokens);
  const rows = rowCounts.length > 0 ? await timeDecodeRows(model, rowCounts, promptTokens, stepsPerRow) : undefined;
  return {
    gen_tokens: r.ids.length,
    prefill_tokens_per_s: r.stats.prefillTokensPerSecond,
    decode_tokens_per_s: r.stats.decodeTokensPerSecond,
    time_to_first_token_ms: r.stats.timeToFirstTokenMs,
    dispatches_per_token: r.stats.dispatchesPerToken,
    readbacks_per_token: r.stats.readbacksPerToken,
    encode_ms_per_token: encodeMs,
    ...(rows ? { rows, rows_8_over_1: ratio(rows, 8) } : {}),
  };
}

/** step time of `n` rows over that of 1 row, when both were timed */
function ratio(rows: { rows: number; step_ms: number }[], n: number): number | undefined {
  const one = rows.find((r) => r.rows === 1);
  const other = rows.find((r) => r.rows === n);
  return one && other ? other.step_ms / one.step_ms : undefined;
}
