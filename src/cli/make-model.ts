// `make-model --out DIR --preset tiny|odd|full|k256|7b2 [--untied] [--seed N] [--gguf TYPE]`: writes a synthetic
// Qwen2 model folder; --gguf also writes it as DIR/model-TYPE.gguf.
import { choiceFlag, numberFlag, parseFlags, requireString } from './args';
import { makeSyntheticModel, PRESETS, type Preset } from '../../scripts/synthetic-model';
import { GGUF_MIXES, GGUF_WRITE_TYPES } from '../../scripts/synthetic-gguf';

export { makeSyntheticModel, type SyntheticModelOptions } from '../../scripts/synthetic-model';

export async function makeModelCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, ['out', 'preset', 'seed', 'gguf'], ['untied']);
  const out = requireString(f, 'out');
  requireString(f, 'preset');
  const preset: Preset = choiceFlag(f, 'preset', PRESETS, 'tiny');
  const seed = numberFlag(f, 'seed', 1, { min: 0, max: 2 ** 32 - 1, integer: true });
  const gguf = f.gguf === undefined ? undefined : choiceFlag(f, 'gguf', [...GGUF_WRITE_TYPES, ...GGUF_MIXES], 'F16');
  await makeSyntheticModel({ out, preset, untied: f.untied === true, seed, gguf: gguf ? [gguf] : [] });
  process.stdout.write(`${out}: ${preset} model written${gguf ? ` (and model-${gguf}.gguf)` : ''}\n`);
}
