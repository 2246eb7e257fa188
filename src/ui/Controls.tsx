// Stop, regenerate, continue: what can be done with the answer on screen, depending on the phase.
import { useBoxed } from '../state/store';
import { canContinueHeavy } from '../state/heavy';
import { useController } from './controller-context';

export function Controls() {
  const phase = useBoxed((s) => s.phase);
  const run = useBoxed((s) => s.run);
  const heavy = useBoxed((s) => s.heavy !== null);
  const heavyStopped = useBoxed((s) => s.run === null && canContinueHeavy(s.heavy));
  const hasModel = useBoxed((s) => s.model !== null);
  const controller = useController();
  const generating = phase.kind === 'generating';
  const canContinue = hasModel && !generating && ((run !== null && run.text !== '' && (run.stop === 'aborted' || run.stop === 'max-tokens')) || heavyStopped);
  return (
    <div className="controls" role="toolbar" aria-label="Answer controls">
      {generating ? (
        <button type="button" className="danger" onClick={() => void controller.stop()} disabled={phase.stopping} aria-keyshortcuts="Escape">
          {phase.stopping ? 'Stopping…' : 'Stop'}
        </button>
      ) : (
        <>
          <button type="button" className="secondary" onClick={() => void controller.regenerate()} disabled={!hasModel || (run === null && !heavy)}>
            Regenerate
          </button>
          {canContinue && (
            <button type="button" className="secondary" onClick={() => void controller.continueAnswer()}>
              Continue
            </button>
          )}
        </>
      )}
    </div>
  );
}
