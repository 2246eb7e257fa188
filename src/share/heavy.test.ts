// The heavy-mode field of a share record, made from a heavy result, valid and readable back.
import { describe, expect, it } from 'vitest';
import { decodeShare, encodeShare } from './codec';
import { heavyRecord } from './heavy';
import { LIMITS } from './record';
import { SAMPLE } from './test-links';

describe('heavy-mode share records', () => {
  it('tallies the candidates as the majority vote groups them, and round-trips in a link', async () => {
    const heavy = heavyRecord({
      candidates: [
        { answer: '6', stop: 'eos' },
        { answer: '2, 3', stop: 'eos' },
        { answer: null, stop: 'max-tokens' },
        { answer: '2, 3', stop: 'eos' },
        { answer: '6', stop: 'eos' },
      ],
      method: 'majority',
      chosen: 1,
    });
    // a tie goes to the smaller string: '2, 3' < '6'
    expect(heavy.tally).toEqual([
      { answer: '2, 3', votes: 2 },
      { answer: '6', votes: 2 },
    ]);
    expect(heavy.n).toBe(5);
    const { url } = await encodeShare({ ...SAMPLE, heavy }, { base: 'https://boxed.test/' });
    expect((await decodeShare(url)).heavy).toEqual(heavy);
  });

  it('cuts a long judgment to its limit, keeping the verdict at its end, and long answers to theirs', async () => {
    const judgment = 'x'.repeat(10_000) + ' Judgment: 2';
    const heavy = heavyRecord({ candidates: [{ answer: 'a'.repeat(5000), stop: 'eos' }, { answer: 'b', stop: 'eos' }], method: 'genselect', chosen: 1, judgment });
    expect(heavy.judgment!.length).toBe(LIMITS.judgment);
    expect(heavy.judgment!.startsWith('[…] ')).toBe(true);
    expect(heavy.judgment!.endsWith(' Judgment: 2')).toBe(true);
    expect(heavy.candidates[0].answer!.length).toBe(LIMITS.candidateAnswer);
    const { url } = await encodeShare({ ...SAMPLE, heavy }, { base: 'https://boxed.test/' });
    expect((await decodeShare(url)).heavy).toEqual(heavy);
  });
});
