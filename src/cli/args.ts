// Argument parsing shared by the CLI commands: node:util parseArgs plus typed, range-checked getters.
import { parseArgs } from 'node:util';
import { BoxedError } from '../protocol/errors';

export type Flags = Record<string, string | boolean | undefined>;

export function parseFlags(argv: string[], strings: string[], booleans: string[] = []): Flags {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const s of strings) options[s] = { type: 'string' };
  for (const b of booleans) options[b] = { type: 'boolean' };
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Flags;
  } catch (e) {
    throw new BoxedError('InvalidRequest', (e as Error).message);
  }
}

export function requireString(f: Flags, name: string): string {
  const v = f[name];
  if (typeof v !== 'string' || v === '') throw new BoxedError('InvalidRequest', `--${name} is required`);
  return v;
}

export function numberFlag(f: Flags, name: string, def: number, opts: { min?: number; max?: number; integer?: boolean } = {}): number {
  const v = f[name];
  if (v === undefined) return def;
  const n = Number(v);
  const { min = -Infinity, max = Infinity, integer = false } = opts;
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new BoxedError('InvalidRequest', `--${name} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got '${String(v)}'`);
  }
  return n;
}

export function choiceFlag<T extends string>(f: Flags, name: string, choices: readonly T[], def: T): T {
  const v = f[name];
  if (v === undefined) return def;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw new BoxedError('InvalidRequest', `--${name} must be one of ${choices.join('|')}, got '${String(v)}'`);
  }
  return v as T;
}

export { KV_FORMATS, WEIGHT_FORMATS } from '../protocol/lists';
