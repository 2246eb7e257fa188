// `generate`: streams the answer to stdout; with --json prints one JSON object at the end instead.
// With --samples N (heavy mode) N candidates are decoded together and combined (--select vote|genselect).
import { BoxedError } from '../protocol/errors';
import type { GenerateRequest, Mode } from '../protocol/engine';
import { buildMessages } from '../chat/prompts';
import { MODE_LIST } from '../protocol/lists';
import { choiceFlag, numberFlag, parseFlags, requireString } from './args';
import { MODEL_FLAGS, modelJson, openNodeEngine } from './node-engine';
import { generateHeavyCommand } from './generate-heavy';


export async function generateCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, [...MODEL_FLAGS, 'prompt', 'mode', 'max-tokens', 'temperature', 'top-p', 'top-k', 'seed', 'samples', 'select'], ['json']);
  const text = requireString(f, 'prompt');
  const mode = choiceFlag<Mode>(f, 'mode', MODE_LIST, 'raw');
  const maxTokens = numberFlag(f, 'max-tokens', 256, { min: 1, max: 65536, integer: true });
  const sampling = {
    temperature: numberFlag(f, 'temperature', 0.6, { min: 0, max: 100 }),
    topP: numberFlag(f, 'top-p', 0.95, { min: 0, max: 1 }),
    topK: numberFlag(f, 'top-k', 0, { min: 0, max: 1 << 20, integer: true }),
    seed: numberFlag(f, 'seed', 0, { min: 0, max: 2 ** 32 - 1, integer: true }),
  };
  const json = f.json === true;
  const prompt: GenerateRequest['prompt'] =
    mode === 'raw' ? { kind: 'raw', text } : { kind: 'chat', messages: buildMessages(mode, text) ?? fail(`mode ${mode} has no chat form`) };
  if (f.samples !== undefined || f.select !== undefined) return generateHeavyCommand(f, { text, mode, prompt, maxTokens, sampling, json });
  const { engine, info } = await openNodeEngine(f);
  const result = await engine.generate({ prompt, maxTokens, sampling }, (e) => {
    if (!json && e.type === 'token') process.stdout.write(e.text);
  });
  if (json) process.stdout.write(JSON.stringify({ text: result.text, ids: result.ids, stop: result.stop, stats: result.stats, model: modelJson(info) }) + '\n');
  else process.stdout.write('\n');
  await engine.unload();
}

function fail(msg: string): never {
  throw new BoxedError('InvalidRequest', msg);
}
