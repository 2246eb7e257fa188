// n completions of one prompt decoded together (batch.ts), without vote or selection: what `serve` answers an
// OpenAI request with `n` > 1 from. Sequence i samples with seed `sampling.seed + i`, as heavy mode's
// candidate i does, so the same request gives the same ids as `generate --samples n` (heavy.ts).
import type { GenerateRequest, SamplingParams, StopReason } from '../protocol/engine';
import { BoxedError } from '../protocol/errors';
import { StreamingDetokenizer } from '../tokenizer/detokenizer';
import { generateBatch, type BatchStats } from './batch';
import { MAX_SAMPLES, type HeavyDeps } from './heavy';

export interface ManyRequest {
  prompt: GenerateRequest['prompt'];
  /** Sequences, 1..16 (at most the batch the model was loaded with). */
  n: number;
  /** New tokens per sequence (cut to the context left after the prompt). */
  maxTokens: number;
  sampling: SamplingParams;
}

/** One step's new text per sequence (a piece may be '' while a character is incomplete) and the sequences that ended. */
export interface ManyStep {
  tokens: { seq: number; id: number; text: string; count: number }[];
  ended: { seq: number; stop: StopReason }[];
}

export interface ManyResult {
  sequences: { text: string; ids: number[]; stop: StopReason }[];
  promptTokens: number;
  stats: BatchStats;
}

/** What a batched run needs of the loaded model: the same as heavy mode's. */
export type ManyDeps = HeavyDeps;

export async function runMany(deps: ManyDeps, req: ManyRequest, onStep: (step: ManyStep) => void): Promise<ManyResult> {
  const { model, tokenizer } = deps;
  const n = req.n;
  if (!Number.isInteger(n) || n < 1 || n > MAX_SAMPLES) throw new BoxedError('InvalidRequest', `n must be an integer in 1..${MAX_SAMPLES}, got ${n}`);
  const promptIds = tokenizer.encode(deps.render(req.prompt));
  const budget = Math.max(1, Math.min(req.maxTokens, model.opts.context - promptIds.length));
  const detoks = Array.from({ length: n }, () => new StreamingDetokenizer(tokenizer));
  const texts = new Array<string>(n).fill('');
  const counts = new Array<number>(n).fill(0);
  const batch = await generateBatch(model, {
    sequences: Array.from({ length: n }, (_, i) => ({ promptIds, seed: (req.sampling.seed + i) >>> 0 })),
    maxTokens: budget,
    sampling: req.sampling,
    eosIds: deps.eosIds,
    shouldStop: deps.shouldStop,
    onStep: (tokens, ended) => {
      const step: ManyStep = { tokens: [], ended: [...ended] };
      for (const t of tokens) {
        const text = detoks[t.seq].push(t.id);
        texts[t.seq] += text;
        counts[t.seq] = t.count;
        step.tokens.push({ seq: t.seq, id: t.id, text, count: t.count });
      }
      for (const e of ended) {
        const tail = detoks[e.seq].flush();
        if (tail) {
          texts[e.seq] += tail;
          step.tokens.push({ seq: e.seq, id: -1, text: tail, count: counts[e.seq] });
        }
      }
      onStep(step);
    },
  });
  return { sequences: batch.sequences.map((s, i) => ({ text: texts[i], ids: s.ids, stop: s.stop })), promptTokens: promptIds.length, stats: batch.stats };
}
