// The reasoning (<think>…</think>) in a collapsible panel with thinking time and token count. It is
// open while the model thinks and collapses by itself once the answer starts (`finished`); the person can
// reopen it. A reasoning cut off before `</think>` (stopped, interrupted) stays open and says so: it is
// all there is to read, and the model has not finished thinking. The reasoning stays plain text, with its
// math rendered by KaTeX (each formula once: see inline-math.ts).
import { memo, useEffect, useMemo, useRef, useState } from 'react';
import { katexReady, loadKatex, renderMath, splitMath } from './inline-math';
import { formatDuration } from './units';

export interface ThinkingPanelProps {
  text: string;
  /** The model is writing this reasoning right now. */
  live: boolean;
  /** `</think>` has been written: the answer follows. */
  finished: boolean;
  ms?: number;
  tokens: number;
}

function summaryOf({ live, finished, ms, tokens }: ThinkingPanelProps): string {
  const tail = `${formatDuration(ms)} · ${tokens.toLocaleString()} tokens`;
  if (finished) return `Thought for ${tail}`;
  return live ? `Thinking… ${tail}` : `Unfinished reasoning · ${tail}`;
}

/** One rendered formula; memoized, so streaming text re-renders only the formulas that are new. */
const MathPiece = memo(function MathPiece({ tex, display, ready }: { tex: string; display: boolean; ready: boolean }) {
  const html = ready ? renderMath(tex, display) : null;
  // before KaTeX has loaded: the TeX source as text
  if (html === null) return display ? `$$${tex}$$` : `$${tex}$`;
  // KaTeX's own markup, from the model's text with trust off: no links, no raw HTML of the model's.
  return <span className={display ? 'reasoning-math display' : 'reasoning-math'} dangerouslySetInnerHTML={{ __html: html }} />;
});

function ReasoningText({ text }: { text: string }) {
  const pieces = useMemo(() => splitMath(text), [text]);
  const hasMath = pieces.some((p) => p.kind === 'math');
  const [ready, setReady] = useState(katexReady);
  useEffect(() => {
    if (!hasMath || ready) return;
    let live = true;
    void loadKatex().then(() => live && setReady(true));
    return () => {
      live = false;
    };
  }, [hasMath, ready]);
  return pieces.map((p, i) => (p.kind === 'text' ? p.text : <MathPiece key={i} tex={p.tex} display={p.display} ready={ready} />));
}

export function ThinkingPanel(props: ThinkingPanelProps) {
  const { text, live, finished } = props;
  const [open, setOpen] = useState(!finished);
  const wasFinished = useRef(finished);
  const body = useRef<HTMLPreElement>(null);
  useEffect(() => {
    // follow the model: close once when it starts answering, open again when a new reasoning starts
    if (wasFinished.current !== finished) setOpen(!finished);
    wasFinished.current = finished;
  }, [finished]);
  useEffect(() => {
    const el = body.current;
    if (el && live && open) el.scrollTop = el.scrollHeight;
  }, [text, live, open]);
  return (
    <details className={`thinking${live ? ' live' : ''}`} open={open} onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)} data-testid="thinking">
      <summary aria-live="off">
        <span className="thinking-dot" aria-hidden="true" />
        {summaryOf(props)}
      </summary>
      <pre ref={body} className="thinking-text" tabIndex={0} aria-label="Reasoning">
        <ReasoningText text={text} />
      </pre>
    </details>
  );
}
