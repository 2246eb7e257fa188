// Settings: defaults match the model's evaluation settings; anything stored or typed is brought into
// range; persistence round-trips through a Storage and survives junk.
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, MAX_NEW_TOKENS, SAMPLING_KEYS, sanitizeSettings } from './settings';
import { persistSettings, readSettings } from './settings-storage';
import { createBoxedStore } from './store';

class MemoryStorage {
  private m = new Map<string, string>();
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
}

describe('settings', () => {
  it('defaults to the evaluation sampling and the hub model', () => {
    expect(DEFAULT_SETTINGS).toMatchObject({ temperature: 0.6, topP: 0.95, topK: 0, repo: 'nvidia/OpenReasoning-Nemotron-1.5B', revision: 'main', endpoint: 'https://huggingface.co' });
  });

  it('clamps and repairs values', () => {
    const s = sanitizeSettings({ temperature: -1, topP: 7, topK: 3.6, maxTokens: 1e9, seed: 'x', weights: 'q3', mode: 'raw', endpoint: 'http://127.0.0.1:9/', context: '4096', theme: 'neon', repo: '   ' });
    expect(s.temperature).toBe(0);
    expect(s.topP).toBe(1);
    expect(s.topK).toBe(4);
    expect(s.maxTokens).toBe(MAX_NEW_TOKENS);
    expect(s.seed).toBe(DEFAULT_SETTINGS.seed);
    expect(s.weights).toBe(DEFAULT_SETTINGS.weights);
    expect(s.mode).toBe(DEFAULT_SETTINGS.mode);
    expect(s.endpoint).toBe('http://127.0.0.1:9');
    expect(s.context).toBe(4096);
    expect(s.theme).toBe('system');
    expect(s.repo).toBe(DEFAULT_SETTINGS.repo);
    expect(Object.keys(s).sort()).toEqual(Object.keys(DEFAULT_SETTINGS).sort());
  });

  it('takes every KV format and defaults anything else to f16', () => {
    expect(DEFAULT_SETTINGS.kv).toBe('f16');
    for (const kv of ['f16', 'f32', 'q8'] as const) expect(sanitizeSettings({ kv }).kv).toBe(kv);
    for (const bad of ['q4', 'Q8', ' q8', '', 8, null, undefined]) expect(sanitizeSettings({ kv: bad }).kv).toBe('f16');
    const st = createBoxedStore();
    st.getState().updateSettings({ kv: 'q8' });
    st.getState().resetSampling();
    expect(st.getState().settings.kv).toBe('q8'); // a load option, not a sampling value
  });

  it('keeps a saved .gguf path only when a link could name it too', () => {
    expect(sanitizeSettings({ file: ' models/q4/model-Q4_K_M.gguf ' }).file).toBe('models/q4/model-Q4_K_M.gguf');
    for (const bad of ['../x.gguf', '/abs.gguf', 'a//b.gguf', 'a\\b.gguf', 'a/./b.gguf', '%2e%2e/x.gguf', 'x.gguf?y', 'model.safetensors', `${'a/'.repeat(300)}x.gguf`, 7]) {
      expect(sanitizeSettings({ file: bad }).file).toBe(DEFAULT_SETTINGS.file);
    }
  });

  it('updateSettings validates every change', () => {
    const st = createBoxedStore();
    st.getState().updateSettings({ maxTokens: 0, temperature: 0.25, mode: 'science10' });
    expect(st.getState().settings).toMatchObject({ maxTokens: 1, temperature: 0.25, mode: 'science10' });
  });

  it('resetSampling puts back the sampling values only', () => {
    const st = createBoxedStore();
    const source = { endpoint: 'http://127.0.0.1:9', repo: 'me/my-model', revision: 'dev', weights: 'f16' as const, context: 4096, mode: 'code' as const, theme: 'dark' as const };
    st.getState().updateSettings({ ...source, temperature: 1.3, topP: 0.5, topK: 40, maxTokens: 100, seed: 77 });
    st.getState().resetSampling();
    const s = st.getState().settings;
    expect(s).toMatchObject(source);
    for (const k of SAMPLING_KEYS) expect(s[k]).toBe(DEFAULT_SETTINGS[k]);
  });

  it('persists to storage and reads back, ignoring junk', () => {
    const storage = new MemoryStorage();
    const a = createBoxedStore();
    const stopA = persistSettings(a, storage);
    a.getState().updateSettings({ seed: 1234, weights: 'f16', kv: 'q8', theme: 'dark' });
    stopA();
    const b = createBoxedStore();
    persistSettings(b, storage);
    expect(b.getState().settings).toMatchObject({ seed: 1234, weights: 'f16', kv: 'q8', theme: 'dark' });

    const junk = new MemoryStorage();
    junk.setItem('boxed.settings.v1', '{not json');
    expect(readSettings(junk)).toBeNull();
    junk.setItem('boxed.settings.v1', '"a string"');
    expect(readSettings(junk)).toBeNull();
  });
});
