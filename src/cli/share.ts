// `share-link` and `share-open`: the app's share links from the command line, through the same codec
// (src/share/codec.ts).
//   share-link --in RECORD.json [--base URL]   prints the link (the reasoning cut to fit, with a note)
//   share-open --url URL [--json]              prints the decoded record as JSON, or as Markdown
import { readFile } from 'node:fs/promises';
import { THINK_CLOSE, THINK_OPEN } from '../reasoning/think';
import { extractAnswer } from '../reasoning/answer';
import { BoxedError } from '../protocol/errors';
import { decodeShare, encodeShare } from '../share/codec';
import { shareMarkdown } from '../share/markdown';
import type { ShareInput } from '../share/record';
import { parseFlags, requireString } from './args';

/** Where `npm start` serves the app; links made without --base open there. */
export const DEFAULT_BASE = 'http://127.0.0.1:5173/';

async function readRecord(file: string): Promise<ShareInput> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new BoxedError('InvalidRequest', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return JSON.parse(text) as ShareInput;
  } catch (e) {
    throw new BoxedError('InvalidRequest', `${file} is not JSON: ${(e as Error).message}`);
  }
}

export async function shareLinkCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, ['in', 'base']);
  const input = await readRecord(requireString(f, 'in'));
  const base = typeof f.base === 'string' ? f.base : DEFAULT_BASE;
  // a record without its extracted answer gets the one the mode's rules read from the answer
  if (typeof input === 'object' && input !== null && !Array.isArray(input) && input.extracted === undefined && typeof input.answer === 'string' && typeof input.mode === 'string') {
    const text = `${THINK_OPEN}${typeof input.reasoning === 'string' ? input.reasoning : ''}${THINK_CLOSE}${input.answer}`;
    try {
      input.extracted = extractAnswer(input.mode, text);
    } catch {
      // an unknown mode: validation below names it
    }
  }
  const { url, record } = await encodeShare(input, { base });
  process.stdout.write(url + '\n');
  if (record.reasoningCut) process.stderr.write(`note: ${record.reasoningCut} characters of reasoning were cut to fit the link\n`);
}

export async function shareOpenCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, ['url'], ['json']);
  const record = await decodeShare(requireString(f, 'url'));
  process.stdout.write(f.json === true ? JSON.stringify(record, null, 2) + '\n' : shareMarkdown(record));
}
