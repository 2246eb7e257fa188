import { describe, expect, it } from 'vitest';
import { prefillFromUrl } from './url-prefill';
import { readHubToken, saveHubToken } from './hub-token';

describe('URL prefill', () => {
  it('takes well-formed model, revision and endpoint', () => {
    expect(prefillFromUrl('?model=nvidia/OpenReasoning-Nemotron-1.5B&revision=refs/pr/3&endpoint=http://127.0.0.1:8080/mirror/')).toEqual({
      repo: 'nvidia/OpenReasoning-Nemotron-1.5B',
      revision: 'refs/pr/3',
      endpoint: 'http://127.0.0.1:8080/mirror',
    });
  });

  it('ignores anything malformed, and never a token', () => {
    expect(prefillFromUrl('?model=../etc&revision=a/../b&endpoint=javascript:alert(1)&token=hf_x')).toEqual({});
    expect(prefillFromUrl('?model=a/b/c&endpoint=https://user:pw@h.co')).toEqual({});
    expect(prefillFromUrl('')).toEqual({});
  });
});

describe('hub tokens', () => {
  it('are kept per endpoint under their own key, and forgotten when emptied', () => {
    const m = new Map<string, string>();
    const storage = { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k) };
    expect(saveHubToken(storage, 'https://huggingface.co/', ' hf_abcdefgh123 ')).toBe(true);
    expect(readHubToken(storage, 'https://huggingface.co')).toBe('hf_abcdefgh123');
    expect(readHubToken(storage, 'http://127.0.0.1:1')).toBeUndefined();
    expect(saveHubToken(storage, 'https://huggingface.co', 'has spaces in it')).toBe(false);
    expect(saveHubToken(storage, 'https://huggingface.co', '')).toBe(true);
    expect([...m.keys()]).toEqual([]);
  });
});
