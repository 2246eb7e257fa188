// `answers --in FILE.jsonl`: the app's answer reading and equivalence over JSON lines, one JSON line out per
// line in, in order (blank lines are skipped):
//   {"gold": G, "pred": P}              -> {"equal": true|false}
//   {"mode": M, "text": T}              -> {"answer": string|null, "kind": ...}   (as the app reads T)
//   {"choices": "ABCD", "text": T}      -> {"letter": "B"|null}
// A line that is not one of these gives {"error": "..."} and the rest go on. `--in -` reads stdin.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { isMode } from '../chat/prompts';
import { BoxedError, toErrorInfo } from '../protocol/errors';
import { ANSWER_KIND, extractAnswer } from '../reasoning/answer';
import { extractChoice } from '../reasoning/choice';
import { answersEquivalent, loadSymbolicEquivalence } from '../reasoning/equivalence';
import { splitThinking } from '../reasoning/think';
import { parseFlags, requireString } from './args';

type Json = Record<string, unknown>;

function field(obj: Json, name: string): string {
  const v = obj[name];
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw new BoxedError('InvalidRequest', `"${name}" must be a string`);
}

/** One input line's result. */
export function answerLine(line: string): Json {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch (e) {
    return { error: `not JSON: ${(e as Error).message}` };
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return { error: 'a line must be a JSON object' };
  const o = obj as Json;
  try {
    if ('gold' in o || 'pred' in o) {
      const gold = field(o, 'gold');
      const pred = o.pred === null ? null : field(o, 'pred');
      return { equal: answersEquivalent(gold, pred) };
    }
    if ('mode' in o) {
      const mode = o.mode;
      if (!isMode(mode)) throw new BoxedError('InvalidRequest', `unknown mode ${JSON.stringify(mode)}`);
      return { answer: extractAnswer(mode, field(o, 'text')), kind: ANSWER_KIND[mode] };
    }
    if ('choices' in o) {
      const choices = field(o, 'choices');
      if (!/^[A-Z]+$/.test(choices) || new Set(choices).size !== choices.length) {
        throw new BoxedError('InvalidRequest', '"choices" must be distinct capital letters, e.g. "ABCD"');
      }
      // The answer part when the text has one; a text without `</think>` is read whole.
      const text = field(o, 'text');
      return { letter: extractChoice(splitThinking(text).answer ?? text, choices) };
    }
    return { error: 'expected {"gold","pred"}, {"mode","text"} or {"choices","text"}' };
  } catch (e) {
    return { error: toErrorInfo(e).message };
  }
}

export async function answersCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, ['in']);
  const path = requireString(f, 'in');
  if (path !== '-') {
    const s = await stat(path).catch(() => null);
    if (!s?.isFile()) throw new BoxedError('InvalidRequest', `--in: '${path}' is not a file`);
  }
  await loadSymbolicEquivalence();
  const input = path === '-' ? process.stdin : createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let out: string[] = [];
  const flush = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const chunk = out.join('');
      out = [];
      process.stdout.write(chunk, (err) => (err ? reject(err) : resolve()));
    });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    out.push(JSON.stringify(answerLine(line)) + '\n');
    if (out.length >= 256) await flush();
  }
  await flush();
}
