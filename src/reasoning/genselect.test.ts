import { describe, expect, it } from 'vitest';
import { BoxedError } from '../protocol/errors';
import { Rng } from '../sampler/rng';
import { candidateSummary, codeCandidateSummary, genselectPrompt, needsSelection, parseJudgment, pickCandidate, selectionRounds, voteOfPicks } from './genselect';

describe('genselectPrompt', () => {
  it('fills the math prompt exactly', () => {
    const text = genselectPrompt('math', 'What is {x}?', ['Sol A \\boxed{1}', 'Sol B \\boxed{2}', 'Sol C']);
    expect(text.startsWith('You will be given a challenging math problem followed by 3 solutions. Your task is to systematically analyze')).toBe(true);
    expect(text).toContain('Solutions: Detailed solutions indexed 0-2, each concluding with an answer in \\boxed{} notation\n\nYOUR TASK\n\nProblem: What is {x}?\n\n');
    expect(text).toContain(
      'Solutions:\nSolution 0:\nSol A \\boxed{1}\n\nSolution 1:\nSol B \\boxed{2}\n\nSolution 2:\nSol C\n\n\n\nEvaluation Process:\n\n1. Initial Screening\n  - Group solutions',
    );
    expect(text).toContain('  - Proper use of mathematical notation, including \\boxed{}\n');
    expect(text.endsWith('End your evaluation with exactly:\nJudgment: [IDX]\nwhere IDX is the index 0-2 of the best solution.')).toBe(true);
    expect(text).not.toMatch(/\{(num_solutions|max_idx|problem|solutions)\}/);
  });

  it('fills the generic prompt exactly', () => {
    const text = genselectPrompt('generic', 'P', ['x', 'y']);
    expect(text).toBe(
      'You will be given a problem followed by an enumerated list of 2 candidate solutions. Your task is to systematically analyze these solutions to identify the best solution among them.\n\n' +
        'Problem: P\n\nSolutions:\nSolution 0:\nx\n\nSolution 1:\ny\n\n\n\n' +
        'End your evaluation with exactly:\nJudgment: [IDX]\nwhere IDX is the index 0-1 of the best solution.\n\n' +
        'Example: If Solution 2 (index 2) is best, write: "Judgment: 2" at the end.\n\n' +
        'Important: Use only the format "Judgment: 2" with no special formatting, quotes, or additional characters.',
    );
  });

  it('leaves placeholders inside the problem and summaries alone', () => {
    const text = genselectPrompt('generic', 'about {solutions} and {max_idx}', ['uses {problem}']);
    expect(text).toContain('Problem: about {solutions} and {max_idx}\n');
    expect(text).toContain('Solution 0:\nuses {problem}\n');
  });

  it('takes 1 to 16 candidates', () => {
    expect(() => genselectPrompt('math', 'p', [])).toThrow(BoxedError);
    expect(() => genselectPrompt('math', 'p', Array(17).fill('s'))).toThrow(/1 to 16/);
    expect(genselectPrompt('math', 'p', Array(16).fill('s'))).toContain('index 0-15');
  });
});

describe('candidateSummary', () => {
  it('keeps the text after the last </think>', () => {
    expect(candidateSummary('<think>a</think>b</think>\n\n final \\boxed{2}\n')).toBe('final \\boxed{2}');
  });

  it('without </think>, keeps the last 10 paragraphs', () => {
    const paras = Array.from({ length: 14 }, (_, i) => `p${i}`);
    expect(candidateSummary(paras.join('\n\n'))).toBe(paras.slice(4).join('\n\n'));
    expect(candidateSummary('one\n\ntwo')).toBe('one\n\ntwo');
  });

  it('cuts to the last 5000 characters without splitting a character', () => {
    const long = '</think>' + 'x'.repeat(6000) + 'END';
    const s = candidateSummary(long);
    expect(s).toHaveLength(5000);
    expect(s.endsWith('xEND')).toBe(true);
    const emoji = candidateSummary('</think>' + '😀'.repeat(5001));
    expect(Array.from(emoji)).toHaveLength(5000);
    expect(emoji).toBe('😀'.repeat(5000));
  });

  it('shows code candidates as their code', () => {
    expect(codeCandidateSummary('<think>t</think>Here it is:\n```python\nprint(1)\n```\nDone.')).toBe('```python\nprint(1)\n```');
    expect(codeCandidateSummary('<think>t</think>No code.')).toBe('No code.');
  });
});

describe('parseJudgment', () => {
  it.each([
    ['... Judgment: 2', 3, 2],
    ['Judgment: 0 at first, then Judgment: 1', 3, 1], // the last match
    ['Judgement: 1', 2, 1],
    ['Judgment: 3', 3, null], // out of range
    ['Judgment: 12', 16, 12],
    ['Judgment: [2]', 3, null], // the format must be exact
    ['judgment: 1', 3, null],
    ['Judgment:1', 3, null],
    ['no verdict', 3, null],
    ['Judgment: 1\nwait, Judgment: 9', 3, null], // the last match counts even when out of range
  ] as [string, number, number | null][])('%j of %d -> %j', (text, n, expected) => {
    expect(parseJudgment(text, n)).toBe(expected);
  });
});

describe('needsSelection and pickCandidate', () => {
  it('skips selection when the answers agree', () => {
    expect(needsSelection(['4', '4', null, '4'])).toBe(false);
    expect(needsSelection([null, null])).toBe(false);
    expect(needsSelection(['4', '5'])).toBe(true);
  });

  it('uses the judgment, else a coin-chosen candidate', () => {
    expect(pickCandidate(2, 4, 0.99)).toBe(2);
    expect(pickCandidate(null, 4, 0)).toBe(0);
    expect(pickCandidate(null, 4, 0.5)).toBe(2);
    expect(pickCandidate(null, 4, 0.999999)).toBe(3);
    expect(pickCandidate(7, 4, 0.3)).toBe(1);
    expect(() => pickCandidate(0, 0, 0.5)).toThrow(BoxedError);
  });
});

describe('selectionRounds and voteOfPicks (more than 16 candidates)', () => {
  it('judges up to 16 candidates in one round, in order', () => {
    const coin = () => 0.5;
    expect(selectionRounds(1, coin)).toEqual([[0]]);
    expect(selectionRounds(16, coin)).toEqual([Array.from({ length: 16 }, (_, i) => i)]);
    expect(() => selectionRounds(0, coin)).toThrow(BoxedError);
  });

  it('draws an odd number of random subsets of 16 distinct candidates beyond 16', () => {
    const rng = new Rng(9);
    for (const n of [17, 20, 32, 33, 64]) {
      const rounds = selectionRounds(n, () => rng.next());
      expect(rounds).toHaveLength(2 * Math.ceil(n / 16) - 1);
      for (const r of rounds) {
        expect(r).toHaveLength(16);
        expect(new Set(r).size).toBe(16);
        expect(r.every((i) => Number.isInteger(i) && i >= 0 && i < n)).toBe(true);
      }
      expect(new Set(rounds.map((r) => r.join(','))).size).toBe(rounds.length); // the subsets differ
    }
    // a coin at the top of its range still stays in bounds
    expect(selectionRounds(20, () => 0.9999999).flat().every((i) => i < 20)).toBe(true);
  });

  it('votes the picks by their answers, ties to the smallest string, missing ignored', () => {
    const answers = ['5', '7', '7', null, '5', '6'];
    expect(voteOfPicks([0, 1, 2], answers)).toBe(1); // '7' twice
    expect(voteOfPicks([5, 0, 1], answers)).toBe(0); // one each: '5' is the smallest string
    expect(voteOfPicks([3, 5, 3], answers)).toBe(5); // the missing answers do not count
    expect(voteOfPicks([3, 3], answers)).toBe(3); // no pick has an answer: the first pick
    expect(voteOfPicks([2, 1, 4, 0], answers)).toBe(4); // '7' x2 vs '5' x2: '5' wins, its first pick is 4
    expect(() => voteOfPicks([], answers)).toThrow(BoxedError);
  });
});
