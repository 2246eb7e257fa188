// The start screen's GGUF choice: a .gguf file of the repository named in the form (listed with sizes through
// the hub's tree API; only it is downloaded, through the model cache), or a .gguf file from this computer.
// A GGUF file is a whole model; its blocks are read as they are stored (the weight format applies only where
// a file's gate and up matrices differ in type).
import { useId, useRef, useState } from 'react';
import { listFiles } from '../loader/hub-api';
import { useBoxed } from '../state/store';
import { useController } from './controller-context';
import { formatBytes } from './units';

interface Listing {
  key: string;
  files: { path: string; size: number }[];
}

export function GgufPicker() {
  const settings = useBoxed((s) => s.settings);
  const update = useBoxed((s) => s.updateSettings);
  const controller = useController();
  const local = useRef<HTMLInputElement>(null);
  const id = useId();
  const [listing, setListing] = useState<Listing | null>(null);
  const [status, setStatus] = useState<string>('');
  const key = JSON.stringify([settings.endpoint, settings.repo, settings.revision]);
  const files = listing?.key === key ? listing.files : [];

  const list = async () => {
    setStatus('Listing…');
    try {
      const all = await listFiles({ endpoint: settings.endpoint, repo: settings.repo }, settings.revision);
      const gguf = all.filter((f) => f.path.toLowerCase().endsWith('.gguf')).map(({ path, size }) => ({ path, size }));
      setListing({ key, files: gguf });
      setStatus(gguf.length === 0 ? 'This repository has no .gguf files.' : `${gguf.length} GGUF file${gguf.length === 1 ? '' : 's'}.`);
    } catch (e) {
      setStatus(`Could not list the repository: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const onLocal = () => {
    const f = local.current?.files?.[0];
    if (f) void controller.load([f]);
  };
  // the chosen file stays offered while its listing is not loaded (e.g. after a reload)
  const options = settings.file && !files.some((f) => f.path === settings.file) ? [{ path: settings.file, size: -1 }, ...files] : files;

  return (
    <div className="field gguf-picker">
      <label htmlFor={`${id}-file`}>Model file</label>
      <div className="field-row">
        <select id={`${id}-file`} value={settings.file} onChange={(e) => update({ file: e.target.value })}>
          <option value="">safetensors (the repository's model files)</option>
          {options.map((f) => (
            <option key={f.path} value={f.path}>
              {f.size >= 0 ? `${f.path} (${formatBytes(f.size)})` : f.path}
            </option>
          ))}
        </select>
        <button type="button" className="secondary" onClick={() => void list()}>
          List GGUF files
        </button>
        <label className="button secondary file-button">
          Open a local .gguf…
          <input ref={local} type="file" accept=".gguf" onChange={onLocal} aria-label="Open a local .gguf model file" />
        </label>
      </div>
      {status && (
        <p className="hint" role="status">
          {status}
        </p>
      )}
    </div>
  );
}
