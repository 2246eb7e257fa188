// A heavy-mode result in a shared solution: how many answers, how the one shown was chosen, the tally
// of answers, each candidate's answer and how it ended, and GenSelect's judgment (collapsed).
import type { ShareHeavy } from '../share/record';

const STOP_LABEL: Record<ShareHeavy['candidates'][number]['stop'], string> = {
  eos: 'finished',
  'max-tokens': 'token limit',
  'context-full': 'context full',
  aborted: 'stopped',
  error: 'failed',
};

export function HeavySummary({ heavy }: { heavy: ShareHeavy }) {
  const how = heavy.method === 'genselect' ? 'chosen by GenSelect (the model compared the solutions)' : 'chosen by majority vote';
  return (
    <section className="heavy-summary" aria-label="Heavy mode" data-testid="heavy-summary">
      <h3>
        Heavy mode: {heavy.n} answers, {how}; shown: answer {heavy.chosen + 1}
      </h3>
      {heavy.tally.length > 0 ? (
        <table className="tally">
          <thead>
            <tr>
              <th scope="col">Answer</th>
              <th scope="col">Votes</th>
            </tr>
          </thead>
          <tbody>
            {heavy.tally.map((t, i) => (
              <tr key={i}>
                <td>
                  <code>{t.answer}</code>
                </td>
                <td>
                  {t.votes} of {heavy.n}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted small">No candidate gave an answer.</p>
      )}
      <ol className="candidates">
        {heavy.candidates.map((c, i) => (
          <li key={i} aria-current={i === heavy.chosen ? 'true' : undefined}>
            {c.answer === null ? <span className="muted">no answer</span> : <code>{c.answer}</code>} <span className="muted small">({STOP_LABEL[c.stop]})</span>
            {i === heavy.chosen && <strong> ← shown</strong>}
          </li>
        ))}
      </ol>
      {heavy.judgment !== undefined && (
        <details className="thinking">
          <summary>GenSelect’s judgment</summary>
          <pre className="thinking-text">{heavy.judgment}</pre>
        </details>
      )}
    </section>
  );
}
