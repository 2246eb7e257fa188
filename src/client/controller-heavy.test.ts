// Heavy mode through the controller with the real engine (Dawn in Node) and the tiny synthetic model from
// the local hub server: the model loads with one KV slot per solution (q8 KV), solving streams every candidate
// into the store, the history keeps them all, asking for more solutions than loaded is refused until a
// reload, and a reopened entry shows the candidates again.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSyntheticModel } from '../../scripts/synthetic-model';
import { startHubServer, type HubServer } from '../../scripts/hub-server';
import { createEngine } from '../engine/engine';
import { nodeGpu } from '../gpu/test-device';
import type { HistoryEntry } from '../state/history';
import type { HistoryDb } from '../state/history-db';
import { createBoxedStore } from '../state/store';
import { createController } from './controller';

let dir: string;
let hub: HubServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'boxed-controller-heavy-'));
  await makeSyntheticModel({ out: join(dir, 'e2e', 'tiny'), preset: 'tiny', untied: true, seed: 5 });
  hub = await startHubServer({ root: dir, port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await hub?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('controller in heavy mode', () => {
  it('loads for N solutions, streams them, keeps them in the history, and reloads for more', async () => {
    const rows = new Map<string, HistoryEntry>();
    const history: HistoryDb = {
      list: async () => [...rows.values()],
      put: async (e) => void rows.set(e.id, structuredClone(e)),
      delete: async (id) => void rows.delete(id),
    };
    const store = createBoxedStore();
    let n = 0;
    const controller = createController({ connect: () => ({ api: createEngine(nodeGpu()), close: () => {} }), store, openHistory: async () => history, newId: () => `h${++n}` });
    const s = () => store.getState();
    // the q8 KV cache (heavy mode's memory saver): the prompt's codes and scales are copied to every slot
    s().updateSettings({ endpoint: hub.url, repo: 'e2e/tiny', revision: 'main', weights: 'q8', kv: 'q8', context: 256, maxTokens: 6, samples: 4, select: 'vote', mode: 'math' });
    await controller.load();
    expect(s().model?.batch).toBe(4);
    const c = s().model!.config;
    expect(s().model!.memory.kvCache).toBe(4 * 256 * c.layers * 2 * c.kvHeads * (c.headDim + 4)); // a byte a value, an f32 scale a head

    s().setDraft('What is 1+1?');
    let batches = 0;
    const unsub = store.subscribe((st, prev) => {
      if (st.heavy !== prev.heavy && st.phase.kind === 'generating') batches++;
    });
    await controller.solve();
    unsub();
    const h = s().heavy!;
    expect(s().phase).toEqual({ kind: 'ready' });
    expect(h.candidates).toHaveLength(4);
    expect(h.candidates.every((c) => c.tokens > 0 && c.stop !== undefined && c.text.length > 0)).toBe(true);
    expect(h.result?.vote).toBeDefined();
    expect(batches).toBeGreaterThan(1); // streamed, not delivered at the end
    const stored = rows.get(h.id)!;
    expect(stored.heavy?.candidates.map((c) => c.text)).toEqual(h.candidates.map((c) => c.text));
    expect(stored.status).toBe('done');

    // more solutions than the model holds: refused until it is loaded again
    s().updateSettings({ samples: 8 });
    await expect(controller.solve()).rejects.toMatchObject({ name: 'InvalidRequest' });
    await controller.reload();
    expect(s().model?.batch).toBe(8);

    // the stored entry reopens with every candidate
    s().showHeavy(null);
    controller.openEntry(h.id);
    expect(s().heavy?.candidates.map((c) => c.text)).toEqual(h.candidates.map((c) => c.text));
  });

  it('Continue after a Stop: the stopped candidates continue from their text, then the vote runs again', async () => {
    const rows = new Map<string, HistoryEntry>();
    const history: HistoryDb = {
      list: async () => [...rows.values()],
      put: async (e) => void rows.set(e.id, structuredClone(e)),
      delete: async (id) => void rows.delete(id),
    };
    const store = createBoxedStore();
    const controller = createController({ connect: () => ({ api: createEngine(nodeGpu()), close: () => {} }), store, openHistory: async () => history, newId: () => 'c1' });
    const s = () => store.getState();
    s().updateSettings({ endpoint: hub.url, repo: 'e2e/tiny', revision: 'main', weights: 'q8', context: 256, maxTokens: 40, samples: 4, select: 'vote', mode: 'math' });
    await controller.load();
    s().setDraft('What is 2+3?');
    let stopped = false;
    const unsub = store.subscribe((st) => {
      if (!stopped && st.heavy && st.heavy.candidates.every((c) => c.tokens >= 2)) {
        stopped = true;
        void controller.stop();
      }
    });
    await controller.solve();
    unsub();
    const before = s().heavy!;
    expect(before.stopped).toBe(true);
    const cut = before.candidates.map((c) => c.text);
    expect(cut.every((t) => t.length > 0)).toBe(true);
    await controller.continueAnswer();
    const after = s().heavy!;
    expect(s().phase).toEqual({ kind: 'ready' });
    expect(after.id).toBe(before.id);
    expect(after.stopped).toBe(false);
    after.candidates.forEach((c, i) => {
      expect(c.text.startsWith(cut[i])).toBe(true);
      expect(c.stop).not.toBe('aborted');
      // a candidate that was cut writes more; one that had ended stays as it was
      if (before.candidates[i].stop === 'aborted') expect(c.text.length).toBeGreaterThan(cut[i].length);
      else expect(c.text).toBe(cut[i]);
    });
    expect(after.result?.vote).toBeDefined();
    expect(rows.get('c1')?.heavy?.candidates.map((c) => c.text)).toEqual(after.candidates.map((c) => c.text));
    // a finished run offers nothing to continue: the call changes nothing
    await controller.continueAnswer();
    expect(s().heavy).toBe(after);
  });
});
