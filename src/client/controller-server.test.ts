// The controller with the server engine (no worker in between) against the local vLLM-format replay server:
// the engine choice and the API key from the settings, the key sent only to the server and never written to
// the history, heavy mode beyond the GPU's 16, a cut stream continued, and the settings' engine rules.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerEngine } from '../remote/engine';
import { startReplayServer, type ReplayServer } from '../remote/test-server';
import type { HistoryEntry } from '../state/history';
import type { HistoryDb } from '../state/history-db';
import { readServerKey, saveServerKey } from '../state/server-key';
import { sanitizeSettings } from '../state/settings';
import { createBoxedStore } from '../state/store';
import { createController } from './controller';

class MemoryHistory implements HistoryDb {
  readonly rows = new Map<string, HistoryEntry>();
  async list() {
    return [...this.rows.values()];
  }
  async put(e: HistoryEntry) {
    this.rows.set(e.id, structuredClone(e));
  }
  async delete(id: string) {
    this.rows.delete(id);
  }
}

class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem(k: string) {
    return this.items.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.items.set(k, v);
  }
  removeItem(k: string) {
    this.items.delete(k);
  }
}

let server: ReplayServer;
beforeAll(async () => {
  server = await startReplayServer();
  server.apiKey = 'sk-boxed-secret-1234';
});
afterAll(() => server.close());

function setup() {
  const store = createBoxedStore();
  const history = new MemoryHistory();
  const keys = new MemoryStorage();
  let n = 0;
  const controller = createController({
    connect: () => ({ api: createServerEngine({ origin: 'http://127.0.0.1:5173' }), close: () => {} }),
    store,
    openHistory: async () => history,
    newId: () => `id-${++n}`,
    serverKey: (endpoint) => readServerKey(keys, endpoint),
  });
  store.getState().updateSettings({ engine: 'server', serverEndpoint: server.url, serverModel: 'boxed-test', temperature: 0, seed: 3 });
  return { store, history, keys, controller };
}

describe('the controller on a server', () => {
  it('loads with the saved key, solves, and keeps the key out of the history', async () => {
    const { store, history, keys, controller } = setup();
    await controller.load();
    expect(store.getState().phase).toMatchObject({ kind: 'error', error: { name: 'AccessDenied', detail: { server: true } } });
    expect(saveServerKey(keys, server.url + '/', 'sk-boxed-secret-1234')).toBe(true);
    await controller.load();
    expect(store.getState().phase.kind).toBe('ready');
    expect(store.getState().model?.server?.host).toBe(new URL(server.url).host);
    server.requests.length = 0;
    server.replies.push({ kind: 'chat', texts: ['<think>so</think>\n\n\\boxed{12}'] });
    store.getState().setDraft('What is 3*4?');
    await controller.solve();
    expect(store.getState().run).toMatchObject({ text: '<think>so</think>\n\n\\boxed{12}', stop: 'eos' });
    expect(server.requests[0].headers.authorization).toBe('Bearer sk-boxed-secret-1234');
    const saved = JSON.stringify([...history.rows.values()]);
    expect(saved).toContain('\\\\boxed{12}');
    expect(saved).not.toContain('sk-boxed-secret');
    expect(JSON.stringify(store.getState().settings)).not.toContain('sk-boxed-secret');
  });

  it('runs heavy mode with 32 solutions and offers to continue a cut answer', async () => {
    const { store, keys, controller } = setup();
    saveServerKey(keys, server.url, 'sk-boxed-secret-1234');
    store.getState().updateSettings({ samples: 32, select: 'vote' });
    await controller.load();
    expect(store.getState().model?.batch).toBe(64);
    for (let g = 0; g < 2; g++) server.replies.push({ kind: 'chat', seed: 3 + 16 * g, texts: Array.from({ length: 16 }, (_, i) => `<think>.</think>\\boxed{${i % 4 === 0 ? 5 : 6}}`) });
    store.getState().setDraft('p');
    await controller.solve();
    const h = store.getState().heavy;
    expect(h?.candidates).toHaveLength(32);
    expect(h?.result).toMatchObject({ answer: '6', vote: { votes: 24 } });

    store.getState().updateSettings({ samples: 1 });
    server.replies.push({ kind: 'chat', texts: ['<think>partial reasoning that goes on</think>'], piece: 7, cutAfterChunks: 3 });
    await controller.solve();
    expect(store.getState().phase).toMatchObject({ kind: 'error', error: { name: 'StreamCut' } });
    const kept = store.getState().run!.text;
    expect(kept).toBe('<think>partial');
    server.requests.length = 0;
    server.replies.push({ kind: 'chat', texts: [' reasoning</think>\\boxed{1}'] });
    await controller.continueAnswer();
    expect(store.getState().run).toMatchObject({ text: '<think>partial reasoning</think>\\boxed{1}', stop: 'eos' });
    expect(server.requests[0].body).toMatchObject({ continue_final_message: true, messages: [{}, {}, { role: 'assistant', content: '<think>partial' }] });
  });

  it('settings: the engine choice is kept, and more than 16 solutions only on a server', () => {
    expect(sanitizeSettings({ engine: 'server', samples: 64 })).toMatchObject({ engine: 'server', samples: 64 });
    expect(sanitizeSettings({ engine: 'gpu', samples: 64 })).toMatchObject({ engine: 'gpu', samples: 16 });
    expect(sanitizeSettings({ engine: 'nonsense', serverEndpoint: 'http://h:1///' })).toMatchObject({ engine: 'gpu', serverEndpoint: 'http://h:1' });
  });
});
