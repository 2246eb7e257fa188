// Sampling and length settings. The load-time settings (weight format, context) are on the start
// screen and apply at the next load; they are shown here read-only with an "unload" to change them.
import { useId } from 'react';
import { MAX_NEW_TOKENS } from '../state/settings';
import { useBoxed } from '../state/store';
import { useController } from './controller-context';
import { weightsPhrase } from './model-format';

function NumberField({ label, value, min, max, step, onChange, hint }: { label: string; value: number; min: number; max: number; step: number; onChange(v: number): void; hint?: string }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="number"
        inputMode="decimal"
        value={value}
        min={min}
        max={max}
        step={step}
        onChange={(e) => {
          const v = e.target.valueAsNumber;
          if (Number.isFinite(v)) onChange(v);
        }}
        aria-describedby={hint ? `${id}-hint` : undefined}
      />
      {hint && (
        <small id={`${id}-hint`} className="muted">
          {hint}
        </small>
      )}
    </div>
  );
}

export function SettingsPanel() {
  const s = useBoxed((st) => st.settings);
  const model = useBoxed((st) => st.model);
  const busy = useBoxed((st) => st.phase.kind === 'generating');
  const update = useBoxed((st) => st.updateSettings);
  const reset = useBoxed((st) => st.resetSampling);
  const controller = useController();
  return (
    <details className="card settings">
      <summary>Settings</summary>
      <fieldset disabled={busy}>
        <legend className="visually-hidden">Sampling</legend>
        <div className="settings-grid">
          <NumberField label="Temperature" value={s.temperature} min={0} max={2} step={0.05} onChange={(v) => update({ temperature: v })} hint="0 = always the likeliest token" />
          <NumberField label="Top-p" value={s.topP} min={0.01} max={1} step={0.01} onChange={(v) => update({ topP: v })} />
          <NumberField label="Top-k" value={s.topK} min={0} max={1000} step={1} onChange={(v) => update({ topK: v })} hint="0 = off" />
          <NumberField label="Max new tokens" value={s.maxTokens} min={1} max={MAX_NEW_TOKENS} step={256} onChange={(v) => update({ maxTokens: v })} />
          <NumberField label="Seed" value={s.seed} min={0} max={2 ** 31 - 1} step={1} onChange={(v) => update({ seed: v })} />
        </div>
      </fieldset>
      {model && (
        <p className="muted small">
          Loaded: {model.server ? `${model.server.model} on the server at ${model.server.host}` : `${model.name}, ${weightsPhrase(model)}`}, {model.context.toLocaleString()} tokens of context. To change these,{' '}
          <button type="button" className="link" onClick={() => void controller.unload()} disabled={busy}>
            unload the model
          </button>
          .
        </p>
      )}
      <button type="button" className="link" onClick={reset} disabled={busy}>
        Reset sampling to defaults
      </button>
    </details>
  );
}
