// The start screen's model fields from the page's URL: ?model=owner/name&file=PATH.gguf&revision=...&endpoint=...,
// so a link can point at a model, or at one .gguf file of a repository (in a folder too: file=Q4_K_M/x.gguf).
// Only well-formed values are taken; anything else is ignored (the fields keep theirs). A link naming a model
// names its file too: without a (well-formed) file it means the repository's safetensors, so an earlier GGUF
// choice, a file of another repository, is cleared. A token is never read from a URL.
import { ggufFileOrNull } from '../loader/hub-api';
import type { Settings } from './settings';

const REPO = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
const REVISION = /^[A-Za-z0-9._/-]{1,255}$/;

export type UrlPrefill = Partial<Pick<Settings, 'repo' | 'revision' | 'endpoint' | 'file'>>;

export function prefillFromUrl(search: string): UrlPrefill {
  const q = new URLSearchParams(search);
  const out: UrlPrefill = {};
  const model = q.get('model')?.trim();
  if (model && REPO.test(model) && !model.includes('..')) {
    out.repo = model;
    out.file = ggufFileOrNull(q.get('file')?.trim()) ?? '';
  }
  const revision = q.get('revision')?.trim();
  if (revision && REVISION.test(revision) && !revision.split('/').some((p) => p === '' || p === '.' || p === '..')) out.revision = revision;
  const endpoint = q.get('endpoint')?.trim();
  if (endpoint) {
    try {
      const u = new URL(endpoint);
      if ((u.protocol === 'https:' || u.protocol === 'http:') && !u.username && !u.password && !u.search && !u.hash) out.endpoint = u.href.replace(/\/+$/, '');
    } catch {
      // not a URL: ignored
    }
  }
  return out;
}

