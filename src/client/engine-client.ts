// The main-thread side of the worker: starts the module worker, wraps it with comlink, and presents it
// as a plain EngineApi whose callbacks are proxied automatically. The weights are fetched by the
// worker itself; nothing large passes through here.
import * as Comlink from 'comlink';
import type { EngineApi } from '../protocol/engine';
import { registerErrorTransfer } from './error-transfer';

export interface EngineConnection {
  api: EngineApi;
  /** Ends the worker (and with it the GPU device and all its memory). */
  close(): void;
}

/** Wraps a comlink remote so callers pass plain callbacks. */
export function asEngineApi(remote: Comlink.Remote<EngineApi>): EngineApi {
  return {
    probe: () => remote.probe(),
    load: (req, onEvent) => remote.load(req, Comlink.proxy(onEvent)),
    // the worker's engine always has it (it holds the GPU)
    trialAllocation: (req) => (remote as unknown as Comlink.Remote<Required<EngineApi>>).trialAllocation(req),
    renderPrompt: (prompt) => remote.renderPrompt(prompt),
    generate: (req, onEvent) => remote.generate(req, Comlink.proxy(onEvent)),
    generateHeavy: (req, onEvents) => remote.generateHeavy(req, Comlink.proxy(onEvents)),
    stop: () => remote.stop(),
    unload: () => remote.unload(),
  };
}

export function connectEngine(): EngineConnection {
  registerErrorTransfer();
  const worker = new Worker(new URL('../worker/engine.worker.ts', import.meta.url), { type: 'module', name: 'boxed-engine' });
  const remote = Comlink.wrap<EngineApi>(worker);
  return {
    api: asEngineApi(remote),
    close: () => {
      remote[Comlink.releaseProxy]();
      worker.terminate();
    },
  };
}
