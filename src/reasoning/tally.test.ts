import { beforeAll, describe, expect, it } from 'vitest';
import { loadSymbolicEquivalence } from './equivalence';
import { tallyAnswers } from './tally';
import { majorityVote } from './vote';

describe('tallyAnswers', () => {
  // the app groups with the full comparison (the worker and the tally view load it); 1/2 = 0.5 is symbolic
  beforeAll(() => loadSymbolicEquivalence(), 60_000);

  it('groups equivalent answers and lists their exact forms', () => {
    const answers = ['1/2', '0.5', '3', null, '\\frac{1}{2}', '3', '0.5'];
    const t = tallyAnswers(answers);
    expect(t.groups).toEqual([
      { label: '0.5', indices: [0, 1, 4, 6], forms: [{ answer: '0.5', count: 2 }, { answer: '1/2', count: 1 }, { answer: '\\frac{1}{2}', count: 1 }] },
      { label: '3', indices: [2, 5], forms: [{ answer: '3', count: 2 }] },
    ]);
    expect(t.missing).toEqual([3]);
  });

  it('never changes the vote, which counts exact strings', () => {
    const answers = ['1/2', '0.5', '\\frac{1}{2}', '3', '3'];
    expect(tallyAnswers(answers).groups[0].label).toBe('1/2'); // three equivalent answers form the largest group
    expect(majorityVote(answers).answer).toBe('3'); // but exact strings vote: '3' has two, each form of 1/2 one
  });

  it('keeps the first-seen order for groups of equal size, and handles no answers', () => {
    expect(tallyAnswers(['b', 'a', 'a', 'b']).groups.map((g) => g.label)).toEqual(['b', 'a']);
    expect(tallyAnswers([null, undefined])).toEqual({ groups: [], missing: [0, 1] });
    expect(tallyAnswers([])).toEqual({ groups: [], missing: [] });
  });

  it('puts every answered candidate in exactly one group', () => {
    const answers = ['1', '1.0', '2', null, '\\dfrac{2}{1}', 'x', '50\\%', '50'];
    const t = tallyAnswers(answers);
    const all = t.groups.flatMap((g) => g.indices).concat(t.missing).sort((a, b) => a - b);
    expect(all).toEqual(answers.map((_, i) => i));
    for (const g of t.groups) expect(g.forms.reduce((a, f) => a + f.count, 0)).toBe(g.indices.length);
  });
});
