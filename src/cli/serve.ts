// `serve --model DIR|FILE.gguf|hub:owner/name [--port 8000] [--host 127.0.0.1] [--batch 4] [--api-key KEY]
// [--cors-origin *]`: Boxed's own engine (Dawn) behind OpenAI-compatible HTTP routes (serve-http.ts), for a GPU
// machine on a local network and as the real server the tests talk to. The port defaults to 8000, vLLM's, so
// a client set up for `vllm serve` finds it. Prints one line `serving MODEL at URL` once it listens; Ctrl-C
// (SIGINT) or SIGTERM stops the running generation and shuts down cleanly.
import { basename } from 'node:path';
import type { Engine } from '../engine/engine';
import type { ModelInfo } from '../protocol/engine';
import { BoxedError } from '../protocol/errors';
import { MAX_SAMPLES } from '../engine/heavy';
import { numberFlag, parseFlags, type Flags } from './args';
import { MODEL_FLAGS, openNodeEngine, parseHubModel } from './node-engine';
import { startServe, type ServeHandle } from './serve-http';

export const SERVE_FLAGS = [...MODEL_FLAGS, 'port', 'host', 'batch', 'api-key', 'cors-origin'];

/** The id /v1/models lists and requests name: the hub repository (owner/name), else the folder's or file's name. */
export function modelIdFor(model: string): string {
  const hub = parseHubModel(model);
  if (hub) return hub.repo;
  return basename(model.replace(/[/\\]+$/, '')).replace(/\.gguf$/i, '');
}

/** Loads the model and starts listening (the command and the tests). */
export async function openServe(f: Flags, log: (line: string) => void = () => {}): Promise<ServeHandle & { modelId: string; engine: Engine; info: ModelInfo; unload(): Promise<void> }> {
  const port = numberFlag(f, 'port', 8000, { min: 0, max: 65535, integer: true });
  const batch = numberFlag(f, 'batch', 4, { min: 1, max: MAX_SAMPLES, integer: true });
  const host = typeof f.host === 'string' && f.host !== '' ? f.host : '127.0.0.1';
  const apiKey = f['api-key'];
  if (apiKey !== undefined && (typeof apiKey !== 'string' || apiKey === '')) throw new BoxedError('InvalidRequest', '--api-key must not be empty');
  const corsOrigin = typeof f['cors-origin'] === 'string' && f['cors-origin'] !== '' ? f['cors-origin'] : '*';
  const model = String(f.model ?? '');
  const { engine, info } = await openNodeEngine(f, { batch });
  const modelId = modelIdFor(model);
  try {
    const h = await startServe({ engine, info, modelId, host, port, apiKey, corsOrigin, log });
    return { ...h, modelId, engine, info, unload: () => engine.unload() };
  } catch (e) {
    await engine.unload();
    const code = (e as { code?: string }).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') throw new BoxedError('InvalidRequest', `cannot listen on ${host}:${port}: ${code}`, { cause: e });
    throw e;
  }
}

export async function serveCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, SERVE_FLAGS);
  const h = await openServe(f, (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(`serving ${h.modelId} at ${h.url}\n`);
  await new Promise<void>((resolve) => {
    const shutdown = () => {
      process.off('SIGINT', shutdown);
      process.off('SIGTERM', shutdown);
      process.stderr.write('shutting down\n');
      resolve();
    };
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
  });
  await h.close();
  await h.unload();
}
