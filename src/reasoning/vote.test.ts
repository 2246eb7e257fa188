import { describe, expect, it } from 'vitest';
import { Rng } from '../sampler/rng';
import { majorityVote } from './vote';

describe('majorityVote', () => {
  it('picks the largest group and reports its members', () => {
    const r = majorityVote(['4', '5', '4', null, '4', '5']);
    expect(r.answer).toBe('4');
    expect(r.votes).toBe(3);
    expect(r.indices).toEqual([0, 2, 4]);
    expect(r.groups).toEqual([
      { answer: '4', votes: 3 },
      { answer: '5', votes: 2 },
    ]);
  });

  it('ignores missing answers, even when they are the majority', () => {
    expect(majorityVote([null, undefined, null, '7']).answer).toBe('7');
    expect(majorityVote([null, undefined])).toEqual({ answer: null, votes: 0, indices: [], groups: [] });
    expect(majorityVote([]).answer).toBeNull();
  });

  it('breaks ties toward the smallest string', () => {
    expect(majorityVote(['b', 'a', 'c', 'b', 'a', 'c']).answer).toBe('a');
    expect(majorityVote(['10', '9']).answer).toBe('10'); // string order, not numeric
    expect(majorityVote(['B', 'a']).answer).toBe('B'); // uppercase sorts first
  });

  it('groups by the exact string only', () => {
    const r = majorityVote(['1/2', '\\frac{1}{2}', '0.5', '0.5 ']);
    expect(r.groups).toHaveLength(4);
    expect(r.votes).toBe(1);
  });

  it('agrees with a brute-force count on random votes', () => {
    const rng = new Rng(7);
    const pool = ['1', '2', '3', '12', '\\frac{1}{2}'];
    for (let t = 0; t < 100; t++) {
      const answers = Array.from({ length: rng.int(1, 16) }, () => (rng.next() < 0.2 ? null : pool[rng.int(0, pool.length - 1)]));
      const counts = new Map<string, number>();
      for (const a of answers) if (a !== null) counts.set(a, (counts.get(a) ?? 0) + 1);
      const best = Math.max(0, ...counts.values());
      const winners = [...counts].filter(([, c]) => c === best).map(([a]) => a).sort();
      const r = majorityVote(answers);
      expect(r.answer).toBe(winners[0] ?? null);
      expect(r.votes).toBe(best);
      expect(r.indices.every((i) => answers[i] === r.answer)).toBe(true);
    }
  });
});
