// The engine's home: a dedicated module worker that exposes createEngine(navigator.gpu) through
// comlink. Hub models are kept in the Origin Private File System (written with sync access handles, which
// only a worker has); where the browser has none, downloads stay in memory. Errors cross back as BoxedError
// with name, file and detail (see client/error-transfer.ts). Heavy-mode events are batched per animation
// frame (event-batch.ts). A 'server' load switches to the server engine (src/remote: an OpenAI-compatible
// server computes the answers) and frees the GPU model; any other load switches back.
import * as Comlink from 'comlink';
import { createEngine } from '../engine/engine';
import { registerErrorTransfer } from '../client/error-transfer';
import { openOpfsStore } from '../loader/opfs-store';
import type { EngineApi } from '../protocol/engine';
import { createServerEngine } from '../remote/engine';
import { EventBatcher } from './event-batch';

registerErrorTransfer();
const gpuEngine = createEngine(navigator.gpu, { cache: openOpfsStore });
const serverEngine = createServerEngine({ origin: self.location.origin });
let engine: EngineApi = gpuEngine;
const api: EngineApi = {
  probe: () => gpuEngine.probe(),
  async load(req, onEvent) {
    const next = req.source.kind === 'server' ? serverEngine : gpuEngine;
    if (next !== engine) await engine.unload();
    engine = next;
    return engine.load(req, onEvent);
  },
  trialAllocation: (req) => gpuEngine.trialAllocation(req),
  renderPrompt: (prompt) => engine.renderPrompt(prompt),
  generate: (req, onEvent) => engine.generate(req, onEvent),
  async generateHeavy(req, onEvents) {
    const batcher = new EventBatcher(onEvents);
    try {
      return await engine.generateHeavy(req, (events) => batcher.push(events));
    } finally {
      batcher.flush(); // every event reaches the page before the result does
    }
  },
  stop: () => engine.stop(),
  unload: () => engine.unload(),
};
Comlink.expose(api);
