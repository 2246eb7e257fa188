// Start: where the model comes from (hub repo, revision, endpoint; or a local folder), how to load it
// (weight format, KV cache format, context), the GPU report, and the WebGPU help when there is no GPU.
import { useId, useRef, type FormEvent } from 'react';
import type { KvFormat, WeightFormat } from '../protocol/engine';
import { KV_FORMATS, WEIGHT_FORMATS } from '../state/settings';
import { useBoxed } from '../state/store';
import { useController } from './controller-context';
import { GpuReportCard } from './GpuReportCard';
import { GgufPicker } from './GgufPicker';
import { ModelSizePicker } from './ModelSizePicker';
import { useMemoryEstimate } from './use-memory-estimate';
import { StoragePanel } from './StoragePanel';
import { formatBytes } from './units';
import { WebGpuHelp } from './WebGpuHelp';
import { ServerPicker } from './ServerPicker';

export const WEIGHT_LABEL: Record<WeightFormat, string> = {
  q4: '4-bit (smallest, fastest)',
  q8: '8-bit',
  f16: '16-bit float',
  f32: '32-bit float (largest)',
};

export const KV_LABEL: Record<KvFormat, string> = {
  f16: '16-bit float (default)',
  f32: '32-bit float (twice the memory of f16)',
  q8: '8-bit: half the memory of f16, for long contexts and heavy mode',
};

export const CONTEXT_CHOICES = [2048, 4096, 8192, 16384, 32768, 65536, 131072];

export function ModelSourceForm() {
  const settings = useBoxed((s) => s.settings);
  const update = useBoxed((s) => s.updateSettings);
  const gpu = useBoxed((s) => s.gpu);
  const controller = useController();
  const folder = useRef<HTMLInputElement>(null);
  const id = useId();
  const mem = useMemoryEstimate(settings);
  const noGpu = gpu.kind === 'unavailable';

  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    void controller.load();
  };
  const onFolder = () => {
    const files = folder.current?.files;
    if (files && files.length > 0) void controller.load(Array.from(files));
  };

  return (
    <form className="card source" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Model</h2>
      <div className="field">
        <label htmlFor={`${id}-repo`}>Hub repository</label>
        <input id={`${id}-repo`} name="repo" value={settings.repo} onChange={(e) => update({ repo: e.target.value, file: '' })} spellCheck={false} autoComplete="off" />
      </div>
      <div className="field-row">
        <div className="field">
          <label htmlFor={`${id}-rev`}>Revision</label>
          <input id={`${id}-rev`} name="revision" value={settings.revision} onChange={(e) => update({ revision: e.target.value })} spellCheck={false} autoComplete="off" />
        </div>
        <div className="field grow">
          <label htmlFor={`${id}-endpoint`}>Hub endpoint</label>
          <input id={`${id}-endpoint`} name="endpoint" type="url" value={settings.endpoint} onChange={(e) => update({ endpoint: e.target.value })} spellCheck={false} autoComplete="off" />
        </div>
      </div>
      <GgufPicker />
      <div className="field-row">
        <div className="field">
          <label htmlFor={`${id}-weights`}>Weight format</label>
          <select id={`${id}-weights`} value={settings.weights} onChange={(e) => update({ weights: e.target.value as WeightFormat })}>
            {WEIGHT_FORMATS.map((w) => (
              <option key={w} value={w}>
                {WEIGHT_LABEL[w]}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-kv`}>KV cache</label>
          <select id={`${id}-kv`} value={settings.kv} onChange={(e) => update({ kv: e.target.value as KvFormat })}>
            {KV_FORMATS.map((k) => (
              <option key={k} value={k}>
                {KV_LABEL[k]}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-context`}>Context length (tokens)</label>
          <select id={`${id}-context`} value={settings.context} onChange={(e) => update({ context: Number(e.target.value) })}>
            {[...new Set([...CONTEXT_CHOICES, settings.context])]
              .sort((a, b) => a - b)
              .map((c) => (
                <option key={c} value={c}>
                  {c.toLocaleString()}
                </option>
              ))}
          </select>
        </div>
      </div>
      <p className="muted small">
        Needs about {formatBytes(mem.total)} of GPU memory for {settings.file ? mem.subject : (mem.from ?? 'a model of the 1.5B size')} ({formatBytes(mem.weights)} weights, {formatBytes(mem.kvCache)} for the context{settings.samples > 1 ? ` of ${settings.samples} parallel solutions` : ''}){mem.from ? '' : "; the repository's config.json has not been read"}.
      </p>
      <div className="actions">
        <button type="submit" className="primary" disabled={noGpu}>
          Load model
        </button>
        <label className="button secondary file-button" aria-disabled={noGpu}>
          Open a local folder…
          <input
            ref={folder}
            type="file"
            multiple
            disabled={noGpu}
            onChange={onFolder}
            aria-label="Open a local folder of model files"
            {...{ webkitdirectory: '', directory: '' }}
          />
        </label>
      </div>
    </form>
  );
}

export function StartScreen() {
  const gpu = useBoxed((s) => s.gpu);
  const settings = useBoxed((s) => s.settings);
  const update = useBoxed((s) => s.updateSettings);
  const mem = useMemoryEstimate(settings);
  return (
    <div className="start">
      <section className="intro">
        <h1>A reasoning model on your own GPU</h1>
        <p>
          Boxed runs <strong>OpenReasoning-Nemotron</strong> (1.5B by default) entirely in this tab, on your graphics card. It thinks step by step, then answers math, Python and
          science questions. Your questions never leave your computer.
        </p>
      </section>
      {gpu.kind === 'unavailable' && <WebGpuHelp error={gpu.error} />}
      <div className="start-grid">
        <ServerPicker />
        {settings.engine === 'gpu' && (
          <>
            <ModelSizePicker onUseServer={() => update({ engine: 'server' })} />
            <ModelSourceForm />
          </>
        )}
        {gpu.kind === 'ok' && <GpuReportCard report={gpu.report} needBytes={mem.total} needFor={mem.subject} />}
        {(gpu.kind === 'probing' || gpu.kind === 'unknown') && (
          <section className="card gpu" aria-busy="true">
            <h2>Your GPU</h2>
            <p className="muted">Asking the browser for a GPU…</p>
          </section>
        )}
        <StoragePanel />
      </div>
    </div>
  );
}
