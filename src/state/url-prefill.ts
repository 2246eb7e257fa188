// The start screen's model fields from the page's URL: ?model=owner/name&revision=...&endpoint=..., so a link
// can point at a model. Only well-formed values are taken; anything else is ignored (the fields keep theirs).
// A token is never read from a URL.
import type { Settings } from './settings';

const REPO = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
const REVISION = /^[A-Za-z0-9._/-]{1,255}$/;

export function prefillFromUrl(search: string): Partial<Pick<Settings, 'repo' | 'revision' | 'endpoint'>> {
  const q = new URLSearchParams(search);
  const out: Partial<Pick<Settings, 'repo' | 'revision' | 'endpoint'>> = {};
  const model = q.get('model')?.trim();
  if (model && REPO.test(model) && !model.includes('..')) out.repo = model;
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
