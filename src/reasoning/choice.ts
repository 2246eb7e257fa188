// Multiple-choice answer extraction (NeMo-Skills mcq-*-boxed): the boxed content if it is one letter;
// else the last standalone capital letter in it; else the last "Answer: X" in the whole text.
import { extractBoxed } from './boxed';

/** NeMo-Skills' fallback, case-insensitive: `(?i)[*_]{0,2}Answer[*_]{0,2}\s*:[\s*_]{0,2}\s*([A-Z])(?![a-zA-Z0-9])`. */
const ANSWER_LINE = /[*_]{0,2}Answer[*_]{0,2}\s*:[\s*_]{0,2}\s*([A-Z])(?![a-zA-Z0-9])/gi;

/**
 * The chosen letter (uppercase, one of `letters`, e.g. 'ABCD'), or null. Candidates outside `letters`
 * are passed over and the next rule is tried.
 */
export function extractChoice(text: string, letters: string): string | null {
  const valid = (c: string | undefined): c is string => c !== undefined && c.length === 1 && letters.includes(c);
  const boxed = extractBoxed(text);
  if (boxed !== null) {
    const inside = boxed.trim();
    if (inside.length === 1 && valid(inside)) return inside;
    let last: string | undefined;
    for (const m of inside.matchAll(/(?<![A-Za-z0-9])([A-Z])(?![A-Za-z0-9])/g)) if (valid(m[1])) last = m[1];
    if (last !== undefined) return last;
  }
  let last: string | undefined;
  for (const m of text.matchAll(ANSWER_LINE)) {
    const c = m[1].toUpperCase();
    if (valid(c)) last = c;
  }
  return last ?? null;
}
