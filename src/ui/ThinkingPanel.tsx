// The reasoning (<think>…</think>) in a collapsible panel with thinking time and token count. It is
// open while the model thinks and collapses by itself when the answer starts; the person can reopen it.
import { useEffect, useRef, useState } from 'react';
import { formatDuration } from './units';

export function ThinkingPanel({ text, thinking, ms, tokens }: { text: string; thinking: boolean; ms?: number; tokens: number }) {
  const [open, setOpen] = useState(thinking);
  const wasThinking = useRef(thinking);
  const body = useRef<HTMLPreElement>(null);
  useEffect(() => {
    // follow the model: open while it thinks, close once when it starts answering
    if (wasThinking.current !== thinking) setOpen(thinking);
    wasThinking.current = thinking;
  }, [thinking]);
  useEffect(() => {
    const el = body.current;
    if (el && thinking && open) el.scrollTop = el.scrollHeight;
  }, [text, thinking, open]);
  const summary = thinking ? `Thinking… ${formatDuration(ms)} · ${tokens.toLocaleString()} tokens` : `Thought for ${formatDuration(ms)} · ${tokens.toLocaleString()} tokens`;
  return (
    <details className={`thinking${thinking ? ' live' : ''}`} open={open} onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)} data-testid="thinking">
      <summary aria-live="off">
        <span className="thinking-dot" aria-hidden="true" />
        {summary}
      </summary>
      <pre ref={body} className="thinking-text" tabIndex={0} aria-label="Reasoning">
        {text}
      </pre>
    </details>
  );
}
