// The model size: OpenReasoning-Nemotron 1.5B (the default), 7B, 14B or 32B, each with its AIME25 score, its
// download (BF16 safetensors) and the GPU memory per weight format at the chosen context; choosing one sets the
// hub repository. The fit check judges the chosen size, format and context against this adapter's limits
// (browsers do not expose GPU memory, so beyond the limits it says "probably"), and "Try it on this GPU"
// allocates and frees the buffers the load would hold, before anything is downloaded.
import { useId, useState } from 'react';
import { MODEL_SIZES, downloadBytesBf16, shapeInfo, sizeOfRepo, type ModelSize } from '../model/config-sizes';
import { WEIGHT_FORMATS, type WeightFormat } from '../protocol/lists';
import { toErrorInfo } from '../protocol/errors';
import { useBoxed } from '../state/store';
import { useController } from './controller-context';
import { estimateMemory, fitVerdict, type FitVerdict } from './memory-estimate';
import { formatBytes } from './units';

type Trial = { kind: 'idle' } | { kind: 'trying' } | { kind: 'ok'; bytes: number } | { kind: 'failed'; message: string };

export interface ModelSizePickerProps {
  /** Switches to the server engine (the advice when this GPU probably cannot hold the size). */
  onUseServer: () => void;
}

export function ModelSizePicker({ onUseServer }: ModelSizePickerProps) {
  const settings = useBoxed((s) => s.settings);
  const update = useBoxed((s) => s.updateSettings);
  const gpu = useBoxed((s) => s.gpu);
  const controller = useController();
  const id = useId();
  const [trial, setTrial] = useState<{ key: string; state: Trial }>({ key: '', state: { kind: 'idle' } });
  const chosen = sizeOfRepo(settings.repo);
  const { weights, kv, context, samples } = settings;
  const key = `${chosen?.id}:${weights}:${kv}:${context}:${samples}`;
  const trialState = trial.key === key ? trial.state : ({ kind: 'idle' } as const);
  const verdict: FitVerdict | null = chosen && gpu.kind === 'ok' ? fitVerdict(chosen.config, weights, context, samples, gpu.report, kv) : null;

  const tryIt = (size: ModelSize) => {
    setTrial({ key, state: { kind: 'trying' } });
    controller
      .trialAllocation({ shape: shapeInfo(size.config), weights, kv, context, batch: samples })
      .then((r) => setTrial({ key, state: { kind: 'ok', bytes: r.bytes } }))
      .catch((e: unknown) => setTrial({ key, state: { kind: 'failed', message: toErrorInfo(e).message } }));
  };
  const adviseServer = verdict?.kind === 'no' || verdict?.kind === 'unlikely' || trialState.kind === 'failed';

  return (
    <section className="card model-size" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Model size</h2>
      {/* the table scrolls inside the card on a narrow screen (seven columns do not fit a phone) */}
      <div className="size-table-scroll">
      <table className="size-table">
        <caption className="muted small">
          AIME25 pass@1 from the model card; GPU memory at a context of {context.toLocaleString()} tokens{samples > 1 ? ` × ${samples} solutions` : ''}, {kv} KV cache
        </caption>
        <thead>
          <tr>
            <th scope="col">Size</th>
            <th scope="col">AIME25</th>
            <th scope="col">Download (BF16)</th>
            {WEIGHT_FORMATS.map((f) => (
              <th key={f} scope="col" aria-current={f === weights ? 'true' : undefined}>
                {f}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {MODEL_SIZES.map((m) => (
            <tr key={m.id} aria-selected={chosen?.id === m.id}>
              <th scope="row">
                <label>
                  <input type="radio" name={`${id}-size`} value={m.id} checked={chosen?.id === m.id} onChange={() => update({ repo: m.repo })} /> {m.id}
                </label>
              </th>
              <td>{m.aime25.toFixed(1)}%</td>
              <td>{formatBytes(downloadBytesBf16(m.config))}</td>
              {WEIGHT_FORMATS.map((f: WeightFormat) => (
                <td key={f} data-format={f}>
                  {formatBytes(estimateMemory(m.config, f, context, samples, kv).total)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      </div>
      {!chosen && <p className="muted small">The repository in the form is not one of these sizes; its own config.json decides its memory.</p>}
      {chosen && verdict && (
        <p className={`fit fit-${verdict.kind}`} role="status">
          <strong>{chosen.id}, {weights}:</strong> {verdict.text}
        </p>
      )}
      {chosen && gpu.kind === 'ok' && verdict?.kind !== 'no' && (
        <div className="actions">
          <button type="button" className="secondary" disabled={trialState.kind === 'trying'} onClick={() => tryIt(chosen)}>
            Try it on this GPU
          </button>
          <span className="small" role="status">
            {trialState.kind === 'trying' && 'Allocating…'}
            {trialState.kind === 'ok' && `This GPU granted all ${formatBytes(trialState.bytes)} (and it was freed again): it probably fits.`}
            {trialState.kind === 'failed' && trialState.message}
          </span>
        </div>
      )}
      {adviseServer && (
        <button type="button" className="secondary" onClick={onUseServer}>
          Use a server instead
        </button>
      )}
    </section>
  );
}
