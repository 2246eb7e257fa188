// `make-model --out DIR --preset tiny|odd|full [--untied] [--seed N]`: writes a synthetic Qwen2 model folder.
import { choiceFlag, numberFlag, parseFlags, requireString } from './args';
import { makeSyntheticModel, PRESETS, type Preset } from '../../scripts/synthetic-model';

export { makeSyntheticModel, type SyntheticModelOptions } from '../../scripts/synthetic-model';

export async function makeModelCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, ['out', 'preset', 'seed'], ['untied']);
  const out = requireString(f, 'out');
  requireString(f, 'preset');
  const preset: Preset = choiceFlag(f, 'preset', PRESETS, 'tiny');
  const seed = numberFlag(f, 'seed', 1, { min: 0, max: 2 ** 32 - 1, integer: true });
  await makeSyntheticModel({ out, preset, untied: f.untied === true, seed });
  process.stdout.write(`${out}: ${preset} model written\n`);
}
