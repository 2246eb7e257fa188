// A heavy-mode result as the share record's `heavy` field: the candidates' extracted answers and stop
// reasons, the tally (by the majority vote's own grouping, src/reasoning/vote.ts), the selection method
// and the chosen candidate, and GenSelect's judgment cut to fit (its end, where the verdict is, kept).
import type { StopReason } from '../protocol/engine';
import { majorityVote } from '../reasoning/vote';
import { LIMITS, type HeavyMethod, type ShareHeavy } from './record';

export interface HeavyResult {
  candidates: ReadonlyArray<{ answer: string | null; stop: StopReason }>;
  method: HeavyMethod;
  /** Index of the chosen candidate: its text is the record's answer and reasoning. */
  chosen: number;
  judgment?: string;
}

const JUDGMENT_CUT = '[…] ';

const capAnswer = (a: string) => (a.length <= LIMITS.candidateAnswer ? a : a.slice(0, LIMITS.candidateAnswer - 1) + '…');

export function heavyRecord(h: HeavyResult): ShareHeavy {
  const candidates = h.candidates.map((c) => ({ answer: c.answer === null ? null : capAnswer(c.answer), stop: c.stop }));
  const tally = majorityVote(candidates.map((c) => c.answer)).groups.map((g) => ({ answer: g.answer, votes: g.votes }));
  const out: ShareHeavy = { n: candidates.length, candidates, tally, method: h.method, chosen: h.chosen };
  if (h.judgment !== undefined) {
    const j = h.judgment;
    out.judgment = j.length <= LIMITS.judgment ? j : JUDGMENT_CUT + j.slice(j.length - (LIMITS.judgment - JUDGMENT_CUT.length));
  }
  return out;
}
