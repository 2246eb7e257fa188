// The tally shown next to heavy mode's candidates: answers grouped by equivalence (`1/2`, `0.5` and
// `\frac{1}{2}` in one group), for display only. The majority vote (vote.ts) counts exact strings and is
// never changed by this grouping; each group says which exact strings it holds, with their counts.
import type { Tally, TallyGroup } from '../protocol/engine';
import { answersEquivalent } from './equivalence';

export type { Tally, TallyGroup };

/**
 * Groups answers: each answer joins the first group whose first answer it is equivalent to, else starts
 * a group. Equivalence is checked against that first answer only, so the grouping does not depend on
 * equivalence being transitive.
 */
export function tallyAnswers(answers: ReadonlyArray<string | null | undefined>): Tally {
  const groups: { first: string; indices: number[]; counts: Map<string, number> }[] = [];
  const missing: number[] = [];
  answers.forEach((a, i) => {
    if (a == null) {
      missing.push(i);
      return;
    }
    let g = groups.find((x) => x.first === a || answersEquivalent(x.first, a));
    if (!g) {
      g = { first: a, indices: [], counts: new Map() };
      groups.push(g);
    }
    g.indices.push(i);
    g.counts.set(a, (g.counts.get(a) ?? 0) + 1);
  });
  const out = groups.map((g): TallyGroup => {
    // Map keeps insertion order, and the sort is stable: equal counts stay in order of first appearance
    const forms = [...g.counts].map(([answer, count]) => ({ answer, count })).sort((x, y) => y.count - x.count);
    return { label: forms[0].answer, indices: g.indices, forms };
  });
  out.sort((x, y) => y.indices.length - x.indices.length);
  return { groups: out, missing };
}
