// Answer equivalence with the semantics of NeMo-Skills' math grader (docs/answers.md has the rules and a
// table of cases for each): option letters, a plain-number percent and trailing full stops, a literal
// comparison after LaTeX normalization, then a symbolic comparison of the parsed expressions.
// The symbolic stage needs a large library, loaded on demand: `answersEquivalent` is synchronous and uses
// it once `loadSymbolicEquivalence()` has resolved; before that, answers the literal stage cannot decide
// count as different. Equivalence is for display and grouping; the majority vote stays exact-string.
import { normalizeForParsing, normalizeLatex } from './latex-normalize';
import type { SymbolicComparer } from './symbolic';

/** Answers longer than this are compared as exact strings only (bounded work for any input). */
export const MAX_ANSWER_CHARS = 2000;

const OPTION_LETTERS = /^[A-J]$/;
/** An option letter as a prediction may write it: `B`, `(B)`, `B.`, `**B**`, `\text{B}`, `Answer: B`. */
const WRITTEN_OPTION = /^(?:answer\s*:\s*)?[*_]{0,2}(?:\\text(?:bf)?\{)?\(?([A-J])\)?\}?[*_]{0,2}[.:]?$/i;
/** The literal stage decides alone when both answers are only letters, spaces and commas, or only digits and spaces. */
const LITERAL = /^(?:[a-zA-Z ,]+|[0-9 ]+)$/;

let symbolic: SymbolicComparer | null = null;
let loading: Promise<void> | null = null;

/** Loads the symbolic stage (once); `answersEquivalent` uses it from then on. */
export function loadSymbolicEquivalence(): Promise<void> {
  loading ??= import('./symbolic').then((m) => {
    symbolic = new m.SymbolicComparer();
  });
  return loading;
}

/** True once the symbolic stage is loaded. */
export function symbolicEquivalenceLoaded(): boolean {
  return symbolic !== null;
}

/** The option letter an answer names, or null. */
function optionLetter(answer: string): string | null {
  const m = WRITTEN_OPTION.exec(answer.trim());
  return m ? m[1] : null;
}

/** A percent sign after a plain number goes (`50\%` is `50`); then trailing full stops and backslashes. */
export function stripDecorations(answer: string): string {
  const pct = /^(\d+\.?\d*)(?:\\%|%)$/.exec(answer);
  return (pct ? pct[1] : answer).replace(/[.\\]+$/, '');
}

/** The verdict of the stages before the symbolic one, or undefined when they cannot decide. */
export function literalVerdict(a: string, b: string): boolean | undefined {
  // Option letters: a bare letter on either side against the letter the other names.
  const la = OPTION_LETTERS.test(a.trim()) ? a.trim() : null;
  const lb = OPTION_LETTERS.test(b.trim()) ? b.trim() : null;
  if ((la !== null && la === optionLetter(b)) || (lb !== null && lb === optionLetter(a))) return true;
  const na = normalizeLatex(stripDecorations(a));
  const nb = normalizeLatex(stripDecorations(b));
  const equal = na.replace(/ /g, '') === nb.replace(/ /g, '');
  if (equal || (LITERAL.test(na) && LITERAL.test(nb))) return equal;
  return undefined;
}

const cache = new Map<string, boolean>();
const CACHE_SIZE = 4096;

/** True when two extracted answers are the same answer; a missing answer equals nothing. Symmetric. */
export function answersEquivalent(a: string | null | undefined, b: string | null | undefined): boolean {
  if (a == null || b == null) return false;
  if (a.length > MAX_ANSWER_CHARS || b.length > MAX_ANSWER_CHARS) return a.trim() === b.trim();
  const literal = literalVerdict(a, b);
  if (literal !== undefined) return literal;
  if (symbolic === null) return false;
  const key = a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const pa = normalizeForParsing(stripDecorations(a));
  const pb = normalizeForParsing(stripDecorations(b));
  const verdict = pa.replace(/ /g, '') === pb.replace(/ /g, '') || symbolic.equal(pa, pb);
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(key, verdict);
  return verdict;
}
