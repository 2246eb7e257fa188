// The start screen's GGUF choice: a .gguf file of the repository named in the form (listed with sizes through
// the hub's recursive tree API, so files in folders too, grouped by folder; only it is downloaded, through the
// model cache), or a .gguf file from this computer.
// A GGUF file is a whole model; its blocks are read as they are stored (the weight format applies only where
// a file's gate and up matrices differ in type).
import { useId, useRef, useState } from 'react';
import { listFiles } from '../loader/hub-api';
import { useBoxed } from '../state/store';
import type { Settings } from '../state/settings';
import { useController } from './controller-context';
import { formatBytes } from './units';

interface Listing {
  key: string;
  files: { path: string; size: number }[];
}

/** Sizes of the .gguf files listed, by [endpoint, repo, revision, path]: the memory estimate reads them. */
const listedSizes = new Map<string, number>();
const sizeKey = (s: Pick<Settings, 'endpoint' | 'repo' | 'revision'>, path: string) => JSON.stringify([s.endpoint, s.repo, s.revision, path]);

/** The size of the chosen .gguf file when a listing gave it; null when unknown or no file is chosen. */
export function listedGgufSize(s: Pick<Settings, 'endpoint' | 'repo' | 'revision' | 'file'>): number | null {
  return s.file ? (listedSizes.get(sizeKey(s, s.file)) ?? null) : null;
}

/** The folder of a path ('' at the top level). */
const folderOf = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');

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
      const all = await listFiles({ endpoint: settings.endpoint, repo: settings.repo }, settings.revision, { recursive: true });
      const gguf = all
        .filter((f) => f.path.toLowerCase().endsWith('.gguf'))
        .map(({ path, size }) => ({ path, size }))
        // the top level first, then each folder's files together
        .sort((a, b) => Number(folderOf(a.path) !== '') - Number(folderOf(b.path) !== '') || folderOf(a.path).localeCompare(folderOf(b.path)) || a.path.localeCompare(b.path));
      for (const f of gguf) listedSizes.set(sizeKey(settings, f.path), f.size);
      setListing({ key, files: gguf });
      const inFolders = gguf.filter((f) => folderOf(f.path) !== '').length;
      setStatus(gguf.length === 0 ? 'This repository has no .gguf files.' : `${gguf.length} GGUF file${gguf.length === 1 ? '' : 's'}${inFolders > 0 ? `, ${inFolders} in folders` : ''}.`);
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
          {groups(options).map(([folder, group]) =>
            folder === '' ? (
              group.map(option)
            ) : (
              <optgroup key={folder} label={`${folder}/`}>
                {group.map(option)}
              </optgroup>
            ),
          )}
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

/** Files by folder, in listing order: [folder, files] ('' for the top level). */
function groups(files: { path: string; size: number }[]): [string, { path: string; size: number }[]][] {
  const by = new Map<string, { path: string; size: number }[]>();
  for (const f of files) {
    const d = folderOf(f.path);
    by.set(d, [...(by.get(d) ?? []), f]);
  }
  return [...by.entries()];
}

/** An option shows the whole path (folders included) and the size when known. */
function option(f: { path: string; size: number }) {
  return (
    <option key={f.path} value={f.path}>
      {f.size >= 0 ? `${f.path} (${formatBytes(f.size)})` : f.path}
    </option>
  );
}
