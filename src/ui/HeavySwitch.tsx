// Heavy mode's switch: how many solutions to decode together (1 is off), how they are combined, and what
// it costs in memory (one KV cache of the context length per solution). The model holds as many KV slots
// as it was loaded with; asking for more offers to load it again.
import { useId } from 'react';
import { LOCAL_MAX_SAMPLES, SAMPLE_CHOICES, type Samples } from '../state/settings';
import { useBoxed } from '../state/store';
import { useController } from './controller-context';
import { useMemoryEstimate } from './use-memory-estimate';
import { formatBytes } from './units';

export function HeavySwitch() {
  const settings = useBoxed((s) => s.settings);
  const { samples, select, context } = settings;
  const estimate = useMemoryEstimate(settings);
  const model = useBoxed((s) => s.model);
  const busy = useBoxed((s) => s.phase.kind === 'generating' || s.phase.kind === 'loading');
  const update = useBoxed((s) => s.updateSettings);
  const controller = useController();
  const id = useId();
  const loadedFor = model?.batch ?? 1;
  const ctx = model?.context ?? context;
  // the loaded model's own plan when there is one (its KV cache holds `loadedFor` slots), else the start screen's estimate
  const need = model
    ? { kvCache: (model.memory.kvCache / loadedFor) * samples, total: model.memory.weights + model.memory.activations + (model.memory.kvCache / loadedFor) * samples }
    : estimate;
  return (
    <fieldset className="heavy-switch" data-testid="heavy-switch">
      <legend>Parallel solutions (heavy mode)</legend>
      <div className="mode-options" role="radiogroup" aria-label="Parallel solutions">
        {SAMPLE_CHOICES.filter((n) => settings.engine === 'server' || n <= LOCAL_MAX_SAMPLES).map((n) => (
          <label key={n} className={`mode-option${n === samples ? ' selected' : ''}`}>
            <input type="radio" name={`${id}-n`} value={n} checked={n === samples} onChange={() => update({ samples: n as Samples })} disabled={busy} />
            <span>{n === 1 ? 'Off' : `${n} solutions`}</span>
          </label>
        ))}
      </div>
      {samples > 1 && (
        <>
          <label className="heavy-select">
            <span>Combine by</span>
            <select value={select} onChange={(e) => update({ select: e.target.value === 'vote' ? 'vote' : 'genselect' })} disabled={busy} aria-label="Combine by">
              <option value="genselect">GenSelect (the model judges the solutions)</option>
              <option value="vote">Majority vote</option>
            </select>
          </label>
          {!model?.server && <p className="muted small" data-testid="heavy-memory">
            {samples} × {ctx.toLocaleString()} tokens of KV cache: about {formatBytes(need.kvCache)} ({formatBytes(need.total)} in all with the weights).
          </p>}
          {model && loadedFor < samples && (
            <p className="warn small" role="status">
              The model is loaded for {loadedFor} solution{loadedFor === 1 ? '' : 's'} at once.{' '}
              <button type="button" className="secondary" onClick={() => void controller.reload()} disabled={busy}>
                Load again for {samples}
              </button>
            </p>
          )}
        </>
      )}
    </fieldset>
  );
}
