// A failure in words: what happened, and what to do about it. A lost device offers to reload the
// engine and continue from the text so far; running out of GPU memory names the settings to lower.
import { useId, useState, type FormEvent } from 'react';
import type { ErrorInfo } from '../protocol/errors';
import { saveHubToken } from '../state/hub-token';
import { useBoxed } from '../state/store';
import { useController } from './controller-context';
import { formatBytes } from './units';

/**
 * `gguf`: a .gguf file was chosen (its blocks are kept as stored, so the weight format does not shrink it);
 * `kv`: the KV cache format chosen (q8 holds half the bytes of f16).
 */
export function advice(e: ErrorInfo, weights: string, context: number, gguf = false, kv = 'f16'): string {
  switch (e.name) {
    case 'OutOfMemory': {
      const need = typeof e.detail?.neededBytes === 'number' ? ` It needed ${formatBytes(e.detail.neededBytes)}` : '';
      const limit = e.detail?.availableBytes ?? e.detail?.limitBytes;
      const have = typeof limit === 'number' ? `, the GPU allowed ${formatBytes(limit)}.` : need ? '.' : '';
      const smaller = weights === 'f32' ? 'f16 or q8' : weights === 'f16' ? 'q8 or q4' : weights === 'q8' ? 'q4' : '';
      const instead = gguf ? ' or choose a smaller .gguf file (a lower quantization)' : smaller ? ` or choose a smaller weight format (${smaller} instead of ${weights})` : '';
      const kvTip = kv === 'q8' ? '' : ', choose the q8 KV cache (half the memory of f16)';
      return `The GPU ran out of memory.${need}${have} Lower the context length (now ${context.toLocaleString()} tokens)${kvTip}${instead}, then load again. Closing other tabs that use the GPU also helps.`;
    }
    case 'DeviceLost':
      return 'The GPU stopped answering (the driver reset it, or the tab was in the background too long). The text so far is kept.';
    case 'Network':
      return 'A download failed. Check the connection and the hub endpoint, then try again; finished files are not downloaded twice.';
    case 'Quota': {
      const need = typeof e.detail?.neededBytes === 'number' ? ` The model needs ${formatBytes(e.detail.neededBytes)} more` : '';
      const free = typeof e.detail?.availableBytes === 'number' ? `; ${formatBytes(e.detail.availableBytes)} are free.` : need ? '.' : '';
      return `The browser’s storage for this site is full.${need}${free} Delete a cached model in Storage, or free disk space, then try again. Nothing half-written was kept.`;
    }
    case 'NotFound':
      if (e.detail?.server) return 'The server does not serve that model. Check the model name (the server lists its models at /v1/models) and the address.';
      return 'The hub has no such repository, revision or file. Check the repository name (owner/name), the revision and the hub endpoint.';
    case 'AccessDenied':
      if (e.detail?.server) return 'The server refused the API key (or needs one). Enter the key the server was started with (vLLM: --api-key); it stays in this browser and is sent only to that server.';
      return 'This repository is gated or private. Paste a Hugging Face access token of an account that can read it below; it stays in this browser and is sent only to the hub endpoint.';
    case 'Integrity':
      return 'A downloaded file did not match the size or SHA-256 the hub publishes, so it was deleted. Try again; the files that did match are kept.';
    case 'ModelFormat':
      return 'A model file is not what Boxed expects. Check the repository and revision: Boxed reads Qwen2 models as safetensors (single or sharded) with config.json and tokenizer.json.';
    case 'NoWebGPU':
      return 'This browser did not give Boxed a GPU.';
    case 'InvalidRequest':
      return 'A setting is out of range.';
    case 'Aborted':
      return 'Stopped.';
    case 'Internal':
      return 'Something went wrong inside Boxed. Reloading the page usually helps.';
    case 'ServerUnreachable':
      return 'Boxed could not reach the server. Check that it is running and the address is right; if it is, it most likely refused this page by CORS (the message below says how to allow this origin).';
    case 'ContextOverflow':
      return 'The problem and the answer do not fit the server’s context. Lower the answer’s token limit in Settings, or start the server with a longer context (vLLM: --max-model-len).';
    case 'StreamCut':
      return 'The connection to the server was cut mid-answer. The text so far is kept: Continue asks the server to carry on from it.';
    case 'ServerError':
      return 'The server answered with an error (below).';
  }
}

const TITLE: Partial<Record<ErrorInfo['name'], string>> = {
  DeviceLost: 'The GPU was lost',
  ServerUnreachable: 'The server did not answer',
  ContextOverflow: 'Too long for the server’s context',
  StreamCut: 'The server’s answer was cut off',
  OutOfMemory: 'Not enough GPU memory',
  NotFound: 'Not on the hub',
  AccessDenied: 'This repository needs an access token',
  Quota: 'Not enough storage',
  Integrity: 'A download was corrupted',
};

/** A gated or private repository: paste a token (kept in this browser only), then load again. */
function TokenForm({ endpoint }: { endpoint: string }) {
  const controller = useController();
  const id = useId();
  const [token, setToken] = useState('');
  const [bad, setBad] = useState(false);
  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    if (!saveHubToken(localStorage, endpoint, token)) return setBad(true);
    setToken('');
    void controller.load();
  };
  return (
    <form className="field" onSubmit={submit}>
      <label htmlFor={`${id}-token`}>Hugging Face access token for {endpoint}</label>
      <input id={`${id}-token`} type="password" autoComplete="off" spellCheck={false} value={token} onChange={(e) => (setToken(e.target.value), setBad(false))} placeholder="hf_…" />
      {bad && <span className="error-text small">That does not look like a token.</span>}
      <div className="actions">
        <button type="submit" className="primary" disabled={token.trim() === ''}>
          Save token and try again
        </button>
      </div>
    </form>
  );
}

export function ErrorPanel() {
  const phase = useBoxed((s) => s.phase);
  const settings = useBoxed((s) => s.settings);
  const run = useBoxed((s) => s.run);
  const dismiss = useBoxed((s) => s.dismissError);
  const controller = useController();
  if (phase.kind !== 'error') return null;
  const e = phase.error;
  const canRecover = e.name === 'DeviceLost' && phase.during === 'generate';
  const canContinue = e.name === 'StreamCut' && phase.during === 'generate' && !!run?.text;
  return (
    <section className="card error" role="alert" aria-labelledby="error-title" data-error={e.name}>
      <h2 id="error-title">{TITLE[e.name] ?? 'Something failed'}</h2>
      <p>{advice(e, settings.weights, settings.context, settings.engine === 'gpu' && settings.file !== '', settings.kv)}</p>
      <p className="muted small mono">
        {e.name}: {e.message}
      </p>
      {e.name === 'AccessDenied' && phase.during === 'load' && !e.detail?.server && <TokenForm endpoint={settings.endpoint} />}
      <div className="actions">
        {canRecover && (
          <button type="button" className="primary" onClick={() => void controller.recover()}>
            {run && run.text ? 'Reload the engine and continue' : 'Reload the engine'}
          </button>
        )}
        {canContinue && (
          <button type="button" className="primary" onClick={() => void controller.continueAnswer()}>
            Continue
          </button>
        )}
        {phase.during === 'load' && (
          <button type="button" className="primary" onClick={() => void controller.load()}>
            Try again
          </button>
        )}
        <button type="button" className="secondary" onClick={dismiss}>
          Dismiss
        </button>
      </div>
    </section>
  );
}
