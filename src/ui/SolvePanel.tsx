// Solve: the mode picker, the problem, and "show the prompt" (exactly what the model receives,
// rendered by the engine with the model's own chat template).
import { useEffect, useId, useState, type FormEvent, type KeyboardEvent } from 'react';
import { UI_MODES, type UiMode } from '../state/settings';
import { useBoxed } from '../state/store';
import { toErrorInfo } from '../protocol/errors';
import { useController } from './controller-context';
import { HeavySwitch } from './HeavySwitch';
import { MODE_INFO } from './modes';

function PromptPreview({ mode, problem }: { mode: UiMode; problem: string }) {
  const controller = useController();
  const [state, setState] = useState<{ kind: 'loading' } | { kind: 'ok'; text: string; tokens: number } | { kind: 'error'; message: string }>({ kind: 'loading' });
  useEffect(() => {
    let live = true;
    const t = setTimeout(() => {
      controller.renderPrompt(mode, problem).then(
        (r) => live && setState({ kind: 'ok', ...r }),
        (e: unknown) => live && setState({ kind: 'error', message: toErrorInfo(e).message }),
      );
    }, 150);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [controller, mode, problem]);
  if (state.kind === 'loading') return <p className="muted">Rendering…</p>;
  if (state.kind === 'error') return <p className="error-text">{state.message}</p>;
  return (
    <>
      <p className="muted small">{state.tokens.toLocaleString()} tokens</p>
      <pre className="prompt-text" data-testid="prompt-text" tabIndex={0}>
        {state.text}
      </pre>
    </>
  );
}

export function SolvePanel() {
  const mode = useBoxed((s) => s.settings.mode);
  const draft = useBoxed((s) => s.draft);
  const phase = useBoxed((s) => s.phase.kind);
  const hasModel = useBoxed((s) => s.model !== null);
  const setDraft = useBoxed((s) => s.setDraft);
  const update = useBoxed((s) => s.updateSettings);
  const controller = useController();
  const [showPrompt, setShowPrompt] = useState(false);
  const id = useId();
  const busy = phase === 'generating';
  const samples = useBoxed((s) => s.settings.samples);
  const loadedFor = useBoxed((s) => s.model?.batch ?? 1);
  const canSolve = hasModel && !busy && draft.trim() !== '' && loadedFor >= samples;

  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    if (canSolve) void controller.solve();
  };
  const onKey = (ev: KeyboardEvent<HTMLTextAreaElement>) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      if (canSolve) void controller.solve();
    }
  };

  return (
    <form className="card solve" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} className="visually-hidden">
        Problem
      </h2>
      <fieldset className="modes">
        <legend>Mode</legend>
        <div className="mode-options" role="radiogroup" aria-label="Mode">
          {UI_MODES.map((m) => (
            <label key={m} className={`mode-option${m === mode ? ' selected' : ''}`}>
              <input type="radio" name={`${id}-mode`} value={m} checked={m === mode} onChange={() => update({ mode: m })} disabled={busy} />
              <span>{MODE_INFO[m].label}</span>
            </label>
          ))}
        </div>
        <p className="muted small">{MODE_INFO[mode].hint}</p>
      </fieldset>
      <HeavySwitch />
      <div className="field">
        <label htmlFor={`${id}-problem`}>Your problem</label>
        <textarea
          id={`${id}-problem`}
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={onKey}
          placeholder={MODE_INFO[mode].placeholder}
          rows={6}
          aria-describedby={`${id}-kbd`}
        />
        <p id={`${id}-kbd`} className="muted small">
          Ctrl+Enter to solve.
        </p>
      </div>
      <div className="actions">
        <button type="submit" className="primary" disabled={!canSolve}>
          Solve
        </button>
        <button type="button" className="secondary" aria-expanded={showPrompt} aria-controls={`${id}-prompt`} onClick={() => setShowPrompt((v) => !v)} disabled={!hasModel}>
          {showPrompt ? 'Hide the prompt' : 'Show the prompt'}
        </button>
      </div>
      {showPrompt && hasModel && (
        <section id={`${id}-prompt`} className="prompt-view" aria-label="The prompt the model receives">
          <PromptPreview mode={mode} problem={draft} />
        </section>
      )}
    </form>
  );
}
