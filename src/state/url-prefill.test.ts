import { describe, expect, it } from 'vitest';
import { prefillFromUrl } from './url-prefill';
import { readHubToken, saveHubToken } from './hub-token';

describe('URL prefill', () => {
  it('takes well-formed model, revision and endpoint', () => {
    expect(prefillFromUrl('?model=nvidia/OpenReasoning-Nemotron-1.5B&revision=refs/pr/3&endpoint=http://127.0.0.1:8080/mirror/')).toEqual({
      repo: 'nvidia/OpenReasoning-Nemotron-1.5B',
      file: '',
      revision: 'refs/pr/3',
      endpoint: 'http://127.0.0.1:8080/mirror',
    });
  });

  it('takes a .gguf file with its model, in a folder too; a model without a file means its safetensors', () => {
    expect(prefillFromUrl('?model=org/m-GGUF&file=m-Q4_K_M.gguf&revision=main')).toEqual({ repo: 'org/m-GGUF', file: 'm-Q4_K_M.gguf', revision: 'main' });
    expect(prefillFromUrl('?model=org/m-GGUF&file=' + encodeURIComponent('Q4_K_M/m-Q4_K_M.gguf'))).toEqual({ repo: 'org/m-GGUF', file: 'Q4_K_M/m-Q4_K_M.gguf' });
    expect(prefillFromUrl('?model=org/m')).toEqual({ repo: 'org/m', file: '' });
    // a file alone names no repository: ignored
    expect(prefillFromUrl('?file=m.gguf')).toEqual({});
  });

  it.each([
    ['../../secret.gguf'],
    ['q/../../x.gguf'],
    ['/etc/x.gguf'],
    ['./x.gguf'],
    ['q//x.gguf'],
    ['model.safetensors'],
    ['x.bin?.gguf'],
    ['q\\x.gguf'],
    ['x%2F..%2Fy.gguf'],
    ['https://evil.test/x.gguf'],
    ['a b.gguf'],
    [`${'d/'.repeat(300)}x.gguf`],
  ])('refuses the file %s (the model stays, its safetensors)', (file) => {
    expect(prefillFromUrl(`?model=org/m&file=${encodeURIComponent(file)}`)).toEqual({ repo: 'org/m', file: '' });
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
