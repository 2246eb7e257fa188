// Output: the answer on screen. Tokens stream in; the reasoning streams into a collapsible panel that
// closes when the answer starts; the answer renders as sanitized Markdown; the extracted answer is on top.
import { useDeferredValue } from 'react';
import type { StopReason } from '../protocol/engine';
import { readAnswer } from '../reasoning/answer';
import { runNumbers } from '../state/run';
import { useBoxed } from '../state/store';
import { FinalAnswerCard } from './FinalAnswerCard';
import { Markdown } from './Markdown';
import { modeLabel } from './modes';
import { ShareMenu } from './ShareMenu';
import { StatsBar, useNow } from './StatsBar';
import { ThinkingPanel } from './ThinkingPanel';
import { WhereBadge } from './ServerPicker';

/** What a stop means when no model is loaded (a history entry opened from the start screen). */
const STOP_NOTE_NO_MODEL: Partial<Record<StopReason, string>> = {
  'max-tokens': 'Stopped at the token limit. Load a model to continue it.',
  aborted: 'Stopped before the end. Load a model to continue it.',
};

const STOP_NOTE: Record<StopReason, string> = {
  eos: '',
  'max-tokens': 'Stopped at the token limit: Continue to let it write more.',
  'context-full': 'Stopped: the context is full. Load the model with a longer context to go further.',
  aborted: 'Stopped. Continue to let it write more.',
  error: 'Stopped by an error.',
};

export function OutputPanel() {
  const run = useBoxed((s) => s.run);
  const generating = useBoxed((s) => s.phase.kind === 'generating');
  const hasModel = useBoxed((s) => s.model !== null);
  const text = useDeferredValue(run?.text ?? '');
  const now = useNow(generating);
  if (!run) {
    return (
      <section className="card output empty" aria-label="Answer">
        <p className="muted">The reasoning and the answer appear here.</p>
      </section>
    );
  }
  const view = readAnswer(run.mode, text);
  const n = runNumbers(run, now);
  const thinking = view.answer === null;
  const waiting = generating && run.text === run.base;
  return (
    <section className="card output" aria-label="Answer" aria-busy={generating} data-testid="output">
      <div className="output-head">
        <h2>{modeLabel(run.mode)}</h2>
        <WhereBadge />
        {run.stop && !generating && view.answer !== null && <ShareMenu key={run.id} run={run} />}
      </div>
      <p className="problem-echo">{run.problem}</p>
      {waiting && (
        <p className="prefill-note" role="status">
          Reading the prompt{run.prefill ? ` (${run.prefill.done} / ${run.prefill.total} tokens)` : ''}…
        </p>
      )}
      {view.thinking !== '' || thinking ? (
        <ThinkingPanel text={view.thinking} live={thinking && generating} finished={!thinking} ms={n.thinkingMs} tokens={n.thinkingTokens} />
      ) : null}
      {view.final && <FinalAnswerCard final={view.final} />}
      {view.answer !== null && (
        <div className={generating ? 'cursor-host' : undefined} data-testid="answer">
          <Markdown text={view.answer} />
        </div>
      )}
      {run.stop && STOP_NOTE[run.stop] && <p className="stop-note">{(!hasModel && STOP_NOTE_NO_MODEL[run.stop]) || STOP_NOTE[run.stop]}</p>}
      <StatsBar run={run} now={now} />
    </section>
  );
}
