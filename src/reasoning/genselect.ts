// GenSelect: the model judges N candidate solutions and names the best one (docs/heavy-mode.md states the rules).
// Candidates are reduced to summaries, listed as `Solution {i}:\n{summary}\n\n` inside the selection prompt
// (exact NeMo-Skills texts below), and the judgment is the LAST `Judg[e]?ment: (\d+)` in the output.
import { BoxedError } from '../protocol/errors';
import { extractCode } from './code';
import { THINK_CLOSE } from './think';
import { majorityVote } from './vote';

export type GenSelectKind = 'math' | 'generic';

/** The most candidates one selection prompt may hold. */
export const GENSELECT_MAX_CANDIDATES = 16;
/** A summary keeps this many characters (code points) from its end. */
export const SUMMARY_MAX_CHARS = 5000;
/** Without `</think>`, a summary is the last this-many paragraphs. */
export const SUMMARY_PARAGRAPHS = 10;

const MATH_PROMPT = `You will be given a challenging math problem followed by {num_solutions} solutions. Your task is to systematically analyze these solutions to identify the most mathematically sound approach.

Input Format:
Problem: A complex mathematical word problem at advanced high school or college level
Solutions: Detailed solutions indexed 0-{max_idx}, each concluding with an answer in \\boxed{} notation

YOUR TASK

Problem: {problem}

Solutions:
{solutions}

Evaluation Process:

1. Initial Screening
  - Group solutions by their final answers
  - Identify and explain mathematical contradictions between different answers
  - Eliminate solutions with clear mathematical errors

2. Detailed Analysis
  For remaining solutions, evaluate:
  - Mathematical precision and accuracy
  - Logical progression of steps
  - Completeness of mathematical reasoning
  - Proper use of mathematical notation, including \\boxed{}
  - Handling of edge cases or special conditions
  - For solutions containing and addressing errors, evaluate the error identification and correction methodology.

3. Solution Comparison
  Compare viable solutions based on:
  - Efficiency of approach
  - Clarity of mathematical reasoning
  - Sophistication of method
  - Robustness of solution (works for all cases)

Your response should include:
1. Brief analysis of conflicting answers
2. Detailed evaluation of mathematically sound solutions
3. Justification for eliminating incorrect solutions
4. Clear explanation for selecting the best approach

End your evaluation with exactly:
Judgment: [IDX]
where IDX is the index 0-{max_idx} of the best solution.`;

const GENERIC_PROMPT = `You will be given a problem followed by an enumerated list of {num_solutions} candidate solutions. Your task is to systematically analyze these solutions to identify the best solution among them.

Problem: {problem}

Solutions:
{solutions}

End your evaluation with exactly:
Judgment: [IDX]
where IDX is the index 0-{max_idx} of the best solution.

Example: If Solution 2 (index 2) is best, write: "Judgment: 2" at the end.

Important: Use only the format "Judgment: 2" with no special formatting, quotes, or additional characters.`;

/**
 * The selection prompt (the user turn's text) for the problem and 1..16 candidate summaries.
 * Placeholders are filled in one pass, so braces in the problem or the summaries are left as they are.
 */
export function genselectPrompt(kind: GenSelectKind, problem: string, summaries: readonly string[]): string {
  const n = summaries.length;
  if (n < 1 || n > GENSELECT_MAX_CANDIDATES) {
    throw new BoxedError('InvalidRequest', `GenSelect takes 1 to ${GENSELECT_MAX_CANDIDATES} candidates, got ${n}`);
  }
  const values: Record<string, string> = {
    num_solutions: String(n),
    max_idx: String(n - 1),
    problem,
    solutions: summaries.map((s, i) => `Solution ${i}:\n${s}\n\n`).join(''),
  };
  const template = kind === 'math' ? MATH_PROMPT : GENERIC_PROMPT;
  return template.replace(/\{(num_solutions|max_idx|problem|solutions)\}/g, (_, key: string) => values[key]);
}

/** The last `max` code points of the text (never splitting a surrogate pair). */
function lastChars(text: string, max: number): string {
  if (text.length <= max) return text;
  const chars = Array.from(text);
  return chars.length <= max ? text : chars.slice(chars.length - max).join('');
}

/**
 * A candidate reduced for the selection prompt: the text after the last `</think>` (if there is none, the
 * last 10 paragraphs), trimmed, cut to its last 5000 characters (fewer only when a smaller context
 * cannot hold the selection prompt otherwise).
 */
export function candidateSummary(text: string, maxChars = SUMMARY_MAX_CHARS): string {
  const close = text.lastIndexOf(THINK_CLOSE);
  const summary = close >= 0 ? text.slice(close + THINK_CLOSE.length) : text.split('\n\n').slice(-SUMMARY_PARAGRAPHS).join('\n\n');
  return lastChars(summary.trim(), maxChars);
}

/** For code: the candidate's extracted code alone, fenced; its plain summary when it has no code block. */
export function codeCandidateSummary(text: string, maxChars = SUMMARY_MAX_CHARS): string {
  const code = extractCode(text);
  return code === null ? candidateSummary(text, maxChars) : lastChars('```python\n' + code + '\n```', maxChars);
}

/** The judged index: the LAST `Judg[e]?ment: (\d+)` in the output; null if none or not in 0..n-1. */
export function parseJudgment(text: string, n: number): number | null {
  let last: string | undefined;
  for (const m of text.matchAll(/Judg[e]?ment: (\d+)/g)) last = m[1];
  if (last === undefined) return null;
  const idx = Number(last);
  return Number.isSafeInteger(idx) && idx >= 0 && idx < n ? idx : null;
}

/** Selection is needed only when the candidates' (non-missing) answers disagree. */
export function needsSelection(answers: ReadonlyArray<string | null | undefined>): boolean {
  return new Set(answers.filter((a): a is string => a != null)).size > 1;
}

/**
 * The candidate to use: the judged index, or, when the judgment is missing or out of range, a random one
 * chosen by `coin` (uniform in [0, 1), from the caller's seeded RNG), as NeMo-Skills falls back.
 */
export function pickCandidate(judgment: number | null, n: number, coin: number): number {
  if (!Number.isInteger(n) || n < 1) throw new BoxedError('InvalidRequest', `no candidates to pick from (n = ${n})`);
  if (judgment !== null && Number.isInteger(judgment) && judgment >= 0 && judgment < n) return judgment;
  return Math.min(n - 1, Math.floor(coin * n));
}

/**
 * The candidate subsets that selection judges. Up to 16 candidates: one round over all of them, in order.
 * More: `2 * ceil(n / 16) - 1` rounds (an odd number, so the vote of picks rarely ties), each over 16
 * distinct candidates drawn at random (partial Fisher-Yates with `rng`, a [0, 1) source); the pick of
 * each round is then majority-voted (see `voteOfPicks`), as NeMo-Skills repeats selection over random
 * subsets.
 */
export function selectionRounds(n: number, rng: () => number): number[][] {
  if (!Number.isInteger(n) || n < 1) throw new BoxedError('InvalidRequest', `no candidates to select from (n = ${n})`);
  const all = Array.from({ length: n }, (_, i) => i);
  if (n <= GENSELECT_MAX_CANDIDATES) return [all];
  const rounds = 2 * Math.ceil(n / GENSELECT_MAX_CANDIDATES) - 1;
  return Array.from({ length: rounds }, () => {
    const pool = all.slice();
    for (let i = 0; i < GENSELECT_MAX_CANDIDATES; i++) {
      const j = i + Math.min(n - i - 1, Math.floor(rng() * (n - i)));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    return pool.slice(0, GENSELECT_MAX_CANDIDATES);
  });
}

/**
 * The final choice from the rounds' picks (candidate indices): the picks' answers are majority-voted with
 * the vote's rules (exact strings, missing ignored, ties to the smallest string); the chosen candidate is
 * the first pick with the winning answer, or the first pick when no pick has an answer.
 */
export function voteOfPicks(picks: readonly number[], answers: ReadonlyArray<string | null | undefined>): number {
  if (picks.length === 0) throw new BoxedError('InvalidRequest', 'no picks to vote on');
  const winner = majorityVote(picks.map((p) => answers[p])).answer;
  return winner === null ? picks[0] : picks.find((p) => answers[p] === winner)!;
}
