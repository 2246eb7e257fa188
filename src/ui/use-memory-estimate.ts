// The start screen's memory estimate for the repository named in the form: its config.json is fetched
// from the hub (once per URL, after the typing settles) and its shapes used; until then, or when it cannot
// be read, the estimate is for the 1.5B model's shapes and says so. The default repository is that model:
// its shapes are known and nothing is fetched for it. A chosen .gguf file whose size the listing gave counts
// its weights as that size (its blocks are kept as stored), not in the weight format.
import { useEffect, useState } from 'react';
import { hubFileUrl } from '../loader/hub';
import { parseConfig } from '../model/config';
import { sizeOfRepo } from '../model/config-sizes';
import { DEFAULT_SETTINGS, type Settings } from '../state/settings';

export type { MemoryEstimate };
import { memoryEstimateFor, type MemoryEstimate, type ModelShape } from './memory-estimate';
import { listedGgufSize } from './GgufPicker';

/** Typing settles for this long before a repository's config.json is requested. */
const SETTLE_MS = 500;
/** A config.json larger than this is not a Qwen2 config. */
const MAX_CONFIG_BYTES = 1 << 20;

const shapes = new Map<string, Promise<ModelShape | null>>();

async function fetchShape(url: string): Promise<ModelShape | null> {
  try {
    const res = await fetch(url, { credentials: 'omit' });
    if (!res.ok) return null;
    const text = await res.text();
    if (text.length > MAX_CONFIG_BYTES) return null;
    return parseConfig(JSON.parse(text));
  } catch {
    return null; // unreachable, not JSON, or not a config this app can load: the default shapes stand
  }
}

function configUrl(s: Pick<Settings, 'endpoint' | 'repo' | 'revision'>): string | null {
  if (s.repo === DEFAULT_SETTINGS.repo || sizeOfRepo(s.repo)) return null; // shapes known (config-sizes.ts)
  try {
    return hubFileUrl(s.endpoint, s.repo, s.revision, 'config.json');
  } catch {
    return null; // not a valid repository name yet
  }
}

export function useMemoryEstimate(s: Pick<Settings, 'endpoint' | 'repo' | 'revision' | 'weights' | 'kv' | 'context' | 'samples' | 'file'>): MemoryEstimate {
  const url = configUrl(s);
  const [read, setRead] = useState<{ url: string; shape: ModelShape | null } | null>(null);
  useEffect(() => {
    if (url === null) return;
    let live = true;
    const t = setTimeout(() => {
      let p = shapes.get(url);
      if (!p) {
        p = fetchShape(url);
        shapes.set(url, p);
      }
      void p.then((shape) => {
        if (live) setRead({ url, shape });
      });
    }, SETTLE_MS);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [url]);
  const known = sizeOfRepo(s.repo)?.config ?? null;
  const shape = known ?? (read !== null && read.url === url ? read.shape : null);
  const from = shape ? s.repo : s.repo === DEFAULT_SETTINGS.repo ? s.repo : null;
  return memoryEstimateFor(shape, from, s, listedGgufSize(s));
}
