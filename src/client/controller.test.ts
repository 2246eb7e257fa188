// The controller with the real engine (Dawn in Node, no worker in between) and the tiny synthetic model
// served by the local hub server: load with progress, the prompt view, solve, stop, the history written as
// the answer streams, regenerate, delete, and recovery from a lost GPU device (a fresh engine, the same model, the text so far
// continued). The history database is an in-memory HistoryDb (IndexedDB is a browser API).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSyntheticModel } from '../../scripts/synthetic-model';
import { startHubServer, type HubServer } from '../../scripts/hub-server';
import { createEngine, type Engine } from '../engine/engine';
import { nodeGpu } from '../gpu/test-device';
import type { HistoryEntry } from '../state/history';
import type { HistoryDb } from '../state/history-db';
import { createBoxedStore } from '../state/store';
import { createController } from './controller';

class MemoryHistory implements HistoryDb {
  readonly rows = new Map<string, HistoryEntry>();
  writes = 0;
  async list() {
    return [...this.rows.values()].sort((a, b) => b.createdAt - a.createdAt);
  }
  async put(e: HistoryEntry) {
    this.writes++;
    this.rows.set(e.id, structuredClone(e));
  }
  async delete(id: string) {
    this.rows.delete(id);
  }
}

let dir: string;
let hub: HubServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'boxed-controller-'));
  await makeSyntheticModel({ out: join(dir, 'e2e', 'tiny'), preset: 'tiny', seed: 5 });
  hub = await startHubServer({ root: dir, port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await hub?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('controller with the real engine', () => {
  it('loads, solves, stops, recovers from a lost device by continuing, regenerates, keeps the history', async () => {
    const gpu = nodeGpu();
    const engines: Engine[] = [];
    const store = createBoxedStore();
    const history = new MemoryHistory();
    let clock = 1_000_000;
    const controller = createController({
      connect: () => {
        const e = createEngine(gpu);
        engines.push(e);
        return { api: e, close: () => void e.unload() };
      },
      store,
      openHistory: async () => history,
      now: () => (clock += 7),
      newId: () => `run-${engines.length}-${clock}`,
    });
    const s = () => store.getState();
    s().updateSettings({ endpoint: hub.url, repo: 'e2e/tiny', revision: 'main', weights: 'q8', context: 256, temperature: 0, maxTokens: 12, mode: 'math' });

    // probe and load
    await controller.probe();
    expect(s().gpu.kind).toBe('ok');
    const phases = new Set<string>();
    const unsub = store.subscribe((st) => {
      if (st.phase.kind === 'loading') phases.add(st.phase.progress.phase);
    });
    await controller.load();
    unsub();
    expect(s().phase).toEqual({ kind: 'ready' });
    expect(s().model?.context).toBe(256);
    expect(phases.has('download')).toBe(true);

    // the prompt view is the chat template over the mode's messages
    const rendered = await controller.renderPrompt('math', 'What is 1+1?');
    expect(rendered.text).toContain('<|im_start|>user\nSolve the following math problem. Make sure to put the answer (and only answer) inside \\boxed{}.\n\nWhat is 1+1?<|im_end|>');
    expect(rendered.tokens).toBeGreaterThan(20);

    // solve, and stop while it writes: ends as aborted, the text so far is kept and stored
    s().setDraft('What is 1+1?');
    s().updateSettings({ maxTokens: 300 });
    const solving = controller.solve();
    await new Promise<void>((resolve) => {
      const un = store.subscribe((st) => {
        if ((st.run?.tokens ?? 0) >= 3 && st.phase.kind === 'generating') {
          un();
          resolve();
        }
      });
    });
    await controller.stop();
    await solving;
    const stopped = s().run!;
    expect(s().phase).toEqual({ kind: 'ready' });
    expect(stopped.stop).toBe('aborted');
    expect(stopped.tokens).toBeGreaterThanOrEqual(3);
    expect(stopped.tokens).toBeLessThan(300);
    expect(stopped.text.length).toBeGreaterThan(0);
    expect(history.rows.get(stopped.id)).toMatchObject({ status: 'stopped', text: stopped.text, tokens: stopped.tokens, problem: 'What is 1+1?' });

    // a lost device mid-answer: DeviceLost, then recover = a fresh engine, the model again, and continue
    s().updateSettings({ maxTokens: 400 });
    const lost = controller.continueAnswer();
    await new Promise<void>((resolve) => {
      const un = store.subscribe((st) => {
        if ((st.run?.tokens ?? 0) >= stopped.tokens + 2) {
          un();
          resolve();
        }
      });
    });
    engines[0].context!.boxed.device.destroy();
    await lost;
    expect(s().phase.kind).toBe('error');
    const p = s().phase;
    if (p.kind !== 'error') throw new Error('expected an error phase');
    expect(p.error.name).toBe('DeviceLost');
    expect(s().model).toBeNull();
    const soFar = s().run!.text;
    expect(soFar.startsWith(stopped.text)).toBe(true);
    expect(history.rows.get(stopped.id)).toMatchObject({ status: 'error', text: soFar });

    s().updateSettings({ maxTokens: 5 });
    await controller.recover();
    expect(engines).toHaveLength(2);
    expect(s().model).not.toBeNull();
    const recovered = s().run!;
    expect(recovered.id).toBe(stopped.id);
    expect(recovered.stop).toBe('max-tokens');
    expect(recovered.text.startsWith(soFar)).toBe(true);
    expect(recovered.text.length).toBeGreaterThan(soFar.length);
    expect(history.rows.get(stopped.id)).toMatchObject({ status: 'done', text: recovered.text });

    // regenerate: a new run of the same problem with the next seed; then delete the first one
    await controller.regenerate();
    const again = s().run!;
    expect(again.id).not.toBe(stopped.id);
    expect(again.problem).toBe('What is 1+1?');
    expect(again.request.sampling.seed).toBe(stopped.request.sampling.seed + 1);
    expect(again.tokens).toBe(5);
    expect(s().history.map((e) => e.id)).toEqual([again.id, stopped.id]);
    await controller.deleteEntry(stopped.id);
    expect(history.rows.has(stopped.id)).toBe(false);
    expect(s().history.map((e) => e.id)).toEqual([again.id]);
    await engines[1].unload();
  });
});
