// Where answers are computed: "This GPU" (the WGSL engine in this tab) or "Server" (an OpenAI-compatible server:
// vLLM, SGLang, llama.cpp's server, Boxed's own `serve`). For a server: its address, the model name it serves,
// and an optional API key, kept only in this browser (localStorage, per endpoint) and sent only to that server.
import { useId, useState, type FormEvent } from 'react';
import { readServerKey, saveServerKey } from '../state/server-key';
import { useBoxed } from '../state/store';
import { useController } from './controller-context';

export function ServerPicker() {
  const settings = useBoxed((s) => s.settings);
  const update = useBoxed((s) => s.updateSettings);
  const loading = useBoxed((s) => s.phase.kind === 'loading');
  const controller = useController();
  const id = useId();
  const [key, setKey] = useState(() => readServerKey(localStorage, settings.serverEndpoint) ?? '');
  const [badKey, setBadKey] = useState(false);
  const server = settings.engine === 'server';

  const setEndpoint = (endpoint: string) => {
    update({ serverEndpoint: endpoint });
    setKey(readServerKey(localStorage, endpoint) ?? '');
    setBadKey(false);
  };
  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    if (!saveServerKey(localStorage, settings.serverEndpoint, key)) return setBadKey(true);
    void controller.load();
  };

  return (
    <form className="card server-picker" onSubmit={submit} aria-labelledby={`${id}-title`} data-testid="server-picker">
      <h2 id={`${id}-title`}>Where answers are computed</h2>
      <div className="mode-options" role="radiogroup" aria-label="Engine">
        <label className={`mode-option${server ? '' : ' selected'}`}>
          <input type="radio" name={`${id}-engine`} value="gpu" checked={!server} onChange={() => update({ engine: 'gpu' })} disabled={loading} />
          <span>This GPU</span>
        </label>
        <label className={`mode-option${server ? ' selected' : ''}`}>
          <input type="radio" name={`${id}-engine`} value="server" checked={server} onChange={() => update({ engine: 'server' })} disabled={loading} />
          <span>Server</span>
        </label>
      </div>
      {server && (
        <>
          <p className="muted small">
            An OpenAI-compatible server (vLLM, SGLang, llama.cpp’s server, or <code>boxed serve</code>) runs the model; your problems are sent to it.
          </p>
          <div className="field">
            <label htmlFor={`${id}-endpoint`}>Server address</label>
            <input id={`${id}-endpoint`} type="url" value={settings.serverEndpoint} onChange={(e) => setEndpoint(e.target.value)} placeholder="http://127.0.0.1:8000" spellCheck={false} autoComplete="off" />
          </div>
          <div className="field">
            <label htmlFor={`${id}-model`}>Model name</label>
            <input id={`${id}-model`} value={settings.serverModel} onChange={(e) => update({ serverModel: e.target.value })} spellCheck={false} autoComplete="off" />
          </div>
          <div className="field">
            <label htmlFor={`${id}-key`}>API key (optional)</label>
            <input id={`${id}-key`} type="password" value={key} onChange={(e) => (setKey(e.target.value), setBadKey(false))} autoComplete="off" spellCheck={false} />
            {badKey && <span className="error-text small">That does not look like a key.</span>}
            <span className="muted small">Kept only in this browser and sent only to this server; never in the history or a shared link.</span>
          </div>
          <div className="actions">
            <button type="submit" className="primary" disabled={loading || settings.serverModel.trim() === ''}>
              Connect
            </button>
          </div>
        </>
      )}
    </form>
  );
}

/** Where the answer on screen is computed: "on this GPU" or "on server host:port". */
export function WhereBadge() {
  const model = useBoxed((s) => s.model);
  if (!model) return null;
  return (
    <span className="where-badge muted small" data-testid="where-badge">
      {model.server ? `on server ${model.server.host}` : 'on this GPU'}
    </span>
  );
}
