// `generate --samples N [--select vote|genselect]`: heavy mode from the CLI. N candidates decoded together
// (the model is loaded with N KV slots), their answers voted, or judged by GenSelect. --json prints
// {candidates: [{text, ids, answer, stop}], tally, selection, answer}; else each candidate as it ends,
// the selection's reasoning as it streams, and the answer.
import type { GenerateRequest, HeavySelect, Mode, SamplingParams } from '../protocol/engine';
import { BoxedError } from '../protocol/errors';
import { MAX_SAMPLES } from '../engine/heavy';
import { choiceFlag, numberFlag, type Flags } from './args';
import { modelJson, openNodeEngine } from './node-engine';

const SELECTS: readonly HeavySelect[] = ['vote', 'genselect'];

export interface HeavyCliInput {
  text: string;
  mode: Mode;
  prompt: GenerateRequest['prompt'];
  maxTokens: number;
  sampling: SamplingParams;
  json: boolean;
}

export async function generateHeavyCommand(f: Flags, input: HeavyCliInput): Promise<void> {
  if (f.samples === undefined) throw new BoxedError('InvalidRequest', '--select needs --samples N');
  const samples = numberFlag(f, 'samples', 1, { min: 1, max: MAX_SAMPLES, integer: true });
  const select = choiceFlag(f, 'select', SELECTS, 'vote');
  const { engine, info } = await openNodeEngine(f, { batch: samples });
  const out = process.stdout;
  const texts = new Array<string>(samples).fill('');
  const r = await engine.generateHeavy(
    { prompt: input.prompt, mode: input.mode, problem: input.text, samples, select, maxTokens: input.maxTokens, sampling: input.sampling },
    (events) => {
      if (input.json) return;
      for (const e of events) {
        if (e.type === 'token') texts[e.seq] += e.text;
        else if (e.type === 'candidate-end') out.write(`--- candidate ${e.seq} (${e.stop}, answer: ${e.answer ?? 'none'})\n${texts[e.seq]}\n`);
        else if (e.type === 'selection-start') out.write(`--- GenSelect round ${e.round + 1}/${e.rounds} over candidates ${e.candidates.join(',')} (${e.promptTokens} prompt tokens)\n`);
        else if (e.type === 'selection-token') out.write(e.text);
        else if (e.type === 'selection-end') out.write(`\n--- judgment: ${e.judgment ?? 'none'}; picked candidate ${e.pick}${e.skipped ? ' (answers agreed)' : ''}\n`);
      }
    },
  );
  if (input.json) {
    const candidates = r.candidates.map((c) => ({ text: c.text, ids: c.ids, answer: c.answer, stop: c.stop }));
    const selection = { ...r.selection, chosen: r.chosen, vote: r.vote };
    out.write(JSON.stringify({ candidates, tally: r.tally, selection, answer: r.answer, stats: r.stats, model: modelJson(info) }) + '\n');
  } else {
    out.write(`--- answer: ${r.answer ?? 'none'} (candidate ${r.chosen ?? '-'}; vote ${r.vote.answer ?? 'none'} with ${r.vote.votes}/${samples})\n`);
  }
  await engine.unload();
}
