// `logits`: the last position's logits as raw little-endian float32 (vocab_size values), through the
// prefill path (all tokens in one step) or the decode path (one token a step through the KV cache).
import { writeFile } from 'node:fs/promises';
import { BoxedError } from '../protocol/errors';
import { choiceFlag, parseFlags, requireString } from './args';
import { MODEL_FLAGS, openNodeEngine } from './node-engine';

export function parseTokenList(s: string, vocab: number): number[] {
  const ids = s.split(',').map((t) => t.trim());
  if (ids.length === 0 || ids.some((t) => !/^\d+$/.test(t))) throw new BoxedError('InvalidRequest', `--tokens must be comma-separated token ids, got '${s}'`);
  const out = ids.map(Number);
  const bad = out.find((t) => t >= vocab);
  if (bad !== undefined) throw new BoxedError('InvalidRequest', `token id ${bad} is outside the vocabulary (${vocab})`);
  return out;
}

export async function logitsCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, [...MODEL_FLAGS, 'tokens', 'out', 'path']);
  const out = requireString(f, 'out');
  const path = choiceFlag(f, 'path', ['prefill', 'decode'] as const, 'prefill');
  const tokensArg = requireString(f, 'tokens');
  const count = tokensArg.split(',').length;
  // prefill runs every token in one step: the chunk must hold them all
  const { engine, info } = await openNodeEngine(f, { prefillChunk: path === 'prefill' ? Math.max(1, count) : 1, context: Math.max(16, count + 1) });
  const tokens = parseTokenList(tokensArg, info.config.vocabSize);
  const model = engine.model!;
  if (tokens.length >= model.opts.context) throw new BoxedError('InvalidRequest', `${tokens.length} tokens do not fit a context of ${model.opts.context}`);
  if (path === 'prefill') {
    model.submitStep(tokens.map((_, i) => ({ slot: 0, pos: i })), { tokens, lastRowOnly: true });
  } else {
    tokens.forEach((t, i) => model.submitStep([{ slot: 0, pos: i }], { tokens: [t], lastRowOnly: true }));
  }
  const logits = await model.readLogits(1);
  await writeFile(out, new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength));
  await engine.unload();
}
