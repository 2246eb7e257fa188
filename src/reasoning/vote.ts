// Majority vote over the answers of N generations, with NeMo-Skills' rules: answers are grouped by their
// exact extracted string, missing answers are ignored, the largest group wins, and a tie goes to the
// smallest string in sort order (code-unit order).
import type { VoteResult } from '../protocol/engine';

export type { VoteResult };

export function majorityVote(answers: ReadonlyArray<string | null | undefined>): VoteResult {
  const byAnswer = new Map<string, number[]>();
  answers.forEach((a, i) => {
    if (a == null) return;
    const group = byAnswer.get(a);
    if (group) group.push(i);
    else byAnswer.set(a, [i]);
  });
  const ranked = [...byAnswer.entries()].sort(([a, ia], [b, ib]) => ib.length - ia.length || (a < b ? -1 : a > b ? 1 : 0));
  const groups = ranked.map(([answer, idx]) => ({ answer, votes: idx.length }));
  if (ranked.length === 0) return { answer: null, votes: 0, indices: [], groups };
  const [answer, indices] = ranked[0];
  return { answer, votes: indices.length, indices, groups };
}
