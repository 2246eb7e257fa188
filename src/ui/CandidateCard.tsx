// One heavy-mode candidate as a card: progress, thinking time, tokens, its extracted answer and stop
// reason; the chosen one is highlighted. "Open" shows the whole solution (reasoning and answer).
import { useDeferredValue } from 'react';
import type { StopReason } from '../protocol/engine';
import type { HeavyCandidateView } from '../state/heavy';
import type { UiMode } from '../state/settings';
import { extractAnswer } from '../reasoning/answer';
import { readAnswer } from '../reasoning/answer';
import { Markdown } from './Markdown';
import { formatDuration } from './units';

export const STOP_LABEL: Record<StopReason, string> = { eos: 'finished', 'max-tokens': 'token limit', 'context-full': 'context full', aborted: 'stopped', error: 'error' };

export function CandidateCard(props: { index: number; c: HeavyCandidateView; mode: UiMode; maxTokens: number; chosen: boolean; live: boolean; now: number; open: boolean; onOpen(): void }) {
  const { index, c, mode, maxTokens, chosen, live, now, open, onOpen } = props;
  const text = useDeferredValue(c.text);
  const view = readAnswer(mode, text);
  const answer = c.stop ? c.answer : extractAnswer(mode, text);
  const thinking = c.thinkMs ?? (c.firstTokenAt !== undefined ? (live && !c.stop ? now : (c.lastTokenAt ?? now)) - c.firstTokenAt : undefined);
  const running = live && !c.stop;
  return (
    <article className={`card candidate${chosen ? ' chosen' : ''}`} aria-label={`Solution ${index + 1}`} data-testid="candidate" data-stop={c.stop ?? ''} aria-busy={running}>
      <header className="candidate-head">
        <h3>Solution {index + 1}</h3>
        {chosen && <span className="badge chosen-badge">chosen</span>}
      </header>
      <div className="candidate-progress" role="progressbar" aria-label={`Solution ${index + 1} progress`} aria-valuemin={0} aria-valuemax={maxTokens} aria-valuenow={c.tokens}>
        <div className="progress-fill" style={{ width: `${Math.min(100, (100 * c.tokens) / Math.max(1, maxTokens))}%` }} />
      </div>
      <dl className="candidate-stats">
        <div>
          <dt>Tokens</dt>
          <dd data-testid="candidate-tokens">{c.tokens.toLocaleString()}</dd>
        </div>
        <div>
          <dt>Thinking</dt>
          <dd>{formatDuration(thinking)}</dd>
        </div>
        <div>
          <dt>Answer</dt>
          <dd className="candidate-answer" data-testid="candidate-answer">
            {answer ?? <span className="muted">{c.stop ? 'none' : '…'}</span>}
          </dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd>{c.stop ? STOP_LABEL[c.stop] : running ? 'writing…' : 'interrupted'}</dd>
        </div>
      </dl>
      <p className="candidate-tail mono small">{text.slice(-160)}</p>
      <button type="button" className="secondary" onClick={onOpen} aria-expanded={open}>
        {open ? 'Close' : 'Open in full'}
      </button>
      {open && (
        <section className="candidate-full" aria-label={`Solution ${index + 1} in full`}>
          {view.thinking !== '' && <pre className="thinking-text">{view.thinking}</pre>}
          {view.answer !== null && <Markdown text={view.answer} />}
        </section>
      )}
    </article>
  );
}
