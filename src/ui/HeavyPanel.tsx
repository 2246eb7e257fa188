// Heavy mode on screen: the candidates side by side (stacked on a phone), a live tally of their answers,
// the majority vote, GenSelect's reasoning as it streams, and the result with the chosen solution
// highlighted. The tally groups equivalent answers for display; the vote counts exact strings.
import { useState } from 'react';
import { extractAnswer } from '../reasoning/answer';
import { tallyAnswers } from '../reasoning/tally';
import { ShareMenu } from './ShareMenu';
import { majorityVote } from '../reasoning/vote';
import type { HeavyRoundView, HeavyRun } from '../state/heavy';
import { useBoxed } from '../state/store';
import { CandidateCard } from './CandidateCard';
import { modeLabel } from './modes';
import { WhereBadge } from './ServerPicker';
import { useNow } from './StatsBar';
import { formatPerSecond } from './units';

function liveAnswers(h: HeavyRun): (string | null)[] {
  return h.candidates.map((c) => (c.stop ? c.answer : extractAnswer(h.mode, c.text)));
}

function TallyView({ h }: { h: HeavyRun }) {
  // live: the literal equivalence steps; at the end, the worker's tally (with the symbolic comparison)
  const answers = liveAnswers(h);
  const tally = h.result?.tally ?? tallyAnswers(answers);
  const vote = h.result?.vote ?? majorityVote(answers);
  const n = h.candidates.length;
  return (
    <section className="card tally" aria-label="Tally of answers" data-testid="tally">
      <h3>Answers so far</h3>
      {tally.groups.length === 0 ? (
        <p className="muted small">No solution has an answer yet.</p>
      ) : (
        <ul className="tally-list">
          {tally.groups.map((g) => (
            <li key={g.label} data-testid="tally-group">
              <span className="tally-bar" style={{ width: `${(100 * g.indices.length) / n}%` }} aria-hidden="true" />
              <span className="tally-label mono">{g.label}</span>
              <span className="tally-count">
                {g.indices.length} of {n}
              </span>
              {g.forms.length > 1 && <span className="muted small"> (written as {g.forms.map((f) => `${f.answer} ×${f.count}`).join(', ')})</span>}
            </li>
          ))}
        </ul>
      )}
      <p className="muted small">
        Grouped by equivalent value, for display only. The majority vote counts exact answers
        {vote.answer !== null ? (
          <>
            : <strong className="mono" data-testid="vote-answer">{vote.answer}</strong> with {vote.votes} of {n}
          </>
        ) : (
          ''
        )}
        {tally.missing.length > 0 ? `; ${tally.missing.length} without an answer` : ''}.
      </p>
    </section>
  );
}

function RoundView({ r, index, rounds, live }: { r: HeavyRoundView; index: number; rounds: number; live: boolean }) {
  const title = rounds > 1 ? `GenSelect, round ${index + 1} of ${rounds}` : 'GenSelect';
  return (
    <section className="card selection" aria-label={title} data-testid="selection" aria-busy={live && !r.done}>
      <h3>{title}</h3>
      {r.skipped ? (
        <p className="muted small">These solutions agree: no judgment needed.</p>
      ) : (
        <>
          <p className="muted small">
            The model compares solutions {r.candidates.map((c) => c + 1).join(', ')} ({r.promptTokens.toLocaleString()} prompt tokens
            {r.summaryChars > 0 && r.summaryChars < 5000 ? `, summaries cut to ${r.summaryChars} characters to fit the context` : ''})
            {r.prefill && r.prefill.done < r.prefill.total ? `: reading ${r.prefill.done} / ${r.prefill.total}` : ''}.
          </p>
          <pre className="selection-text" data-testid="selection-text" tabIndex={0}>
            {r.text}
          </pre>
        </>
      )}
      {r.done && (
        <p data-testid="selection-judgment">
          {r.skipped ? '' : r.judgment !== null ? `Judgment: ${r.judgment}. ` : 'No valid judgment: a solution was picked at random. '}
          {r.pick !== null ? `Picked solution ${r.pick + 1}.` : ''}
        </p>
      )}
    </section>
  );
}

export function HeavyPanel() {
  const h = useBoxed((s) => s.heavy);
  const live = useBoxed((s) => s.phase.kind === 'generating' && s.heavy !== null && s.phase.runId === s.heavy.id);
  const now = useNow(live);
  const [open, setOpen] = useState<number | null>(null);
  if (!h) return null;
  const chosen = h.result?.chosen ?? null;
  const waiting = live && h.candidates.every((c) => c.tokens === 0);
  return (
    <section className="heavy" aria-label="Parallel solutions" data-testid="heavy">
      <div className="card heavy-head">
        <h2>
          {modeLabel(h.mode)}: {h.candidates.length} solutions, {h.select === 'vote' ? 'majority vote' : 'GenSelect'}
        </h2>
        <WhereBadge />
        <p className="problem-echo">{h.problem}</p>
        {waiting && (
          <p className="prefill-note" role="status">
            Reading the prompt{h.prefill ? ` (${h.prefill.done} / ${h.prefill.total} tokens)` : ''}…
          </p>
        )}
        {h.result && (
          <p className="heavy-result" data-testid="heavy-result">
            {h.result.answer !== null ? (
              <>
                Answer: <strong className="mono">{h.result.answer}</strong> (solution {chosen! + 1})
              </>
            ) : (
              'No solution gave an answer.'
            )}
            {h.stopped ? ' Stopped before the end.' : ''}
          </p>
        )}
        {h.result && h.result.chosen !== null && !live && <ShareMenu key={h.id} heavy={h} />}
        {h.stats && (
          <p className="muted small">
            {h.stats.decodeSteps} steps, {formatPerSecond(h.stats.aggregateTokensPerSecond)} over all solutions
          </p>
        )}
      </div>
      <div className="candidates">
        {h.candidates.map((c, i) => (
          <CandidateCard key={i} index={i} c={c} mode={h.mode} maxTokens={h.request.maxTokens} chosen={chosen === i} live={live} now={now} open={open === i} onOpen={() => setOpen(open === i ? null : i)} />
        ))}
      </div>
      <TallyView h={h} />
      {h.rounds.map((r, i) => (
        <RoundView key={i} r={r} index={i} rounds={h.rounds.length} live={live} />
      ))}
      {h.result?.skipped && h.select === 'genselect' && <p className="muted small">Every answer agreed: GenSelect was not needed.</p>}
      {h.selectionError && (
        <p className="warn small" role="status">
          GenSelect could not run ({h.selectionError.message}): the majority vote's choice is shown.
        </p>
      )}
    </section>
  );
}
