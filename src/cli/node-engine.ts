// The engine on Dawn with a model from a local directory, a .gguf file, or from a hub repository through the on-disk cache
// (`--model hub:owner/name[@revision]`, `--endpoint URL`, `--cache DIR`, default ~/.cache/boxed; a gated or
// private repository reads its token from HF_TOKEN). A cached commit loads with no network.
import { stat } from 'node:fs/promises';
import { Engine, type EngineOptions } from '../engine/engine';
import { nodeGpu } from '../gpu/test-device';
import { DEFAULT_ENDPOINT, DEFAULT_REVISION } from '../loader/hub';
import type { KvFormat, LoadEvent, ModelInfo, WeightFormat } from '../protocol/engine';
import { BoxedError } from '../protocol/errors';
import { dirProvider, ggufFileProvider } from './file-source';
import { defaultCacheDir, FolderStore } from './folder-store';
import { choiceFlag, numberFlag, requireString, KV_FORMATS, WEIGHT_FORMATS, type Flags } from './args';

export const MODEL_FLAGS = ['model', 'weights', 'context', 'kv', 'cache', 'endpoint'];

export interface NodeEngine {
  engine: Engine;
  info: ModelInfo;
}

export interface HubModelRef {
  repo: string;
  revision: string;
  /** one .gguf file of the repository ('hub:owner/name/FILE.gguf') */
  file?: string;
}

/** 'hub:owner/name[/FILE.gguf][@rev]' -> { repo, revision, file }; null for anything else (a directory). */
export function parseHubModel(model: string): HubModelRef | null {
  if (!model.startsWith('hub:')) return null;
  const [path, revision, ...rest] = model.slice(4).split('@');
  const [owner, name, ...file] = (path ?? '').split('/');
  const gguf = file.join('/');
  if (rest.length > 0 || !owner || !name || (gguf !== '' && !gguf.toLowerCase().endsWith('.gguf'))) {
    throw new BoxedError('InvalidRequest', `--model ${model} must look like hub:owner/name, hub:owner/name/FILE.gguf, or either with @revision`);
  }
  return { repo: `${owner}/${name}`, revision: revision || DEFAULT_REVISION, ...(gguf ? { file: gguf } : {}) };
}

/**
 * The loaded model as the commands' JSON names it: its name, the weight format asked for, and for a GGUF file
 * what the file holds (general.file_type and the block types with tensor counts and bytes).
 */
export function modelJson(info: ModelInfo): { name: string; weights: WeightFormat; gguf?: ModelInfo['gguf'] } {
  return { name: info.name, weights: info.weights, ...(info.gguf ? { gguf: info.gguf } : {}) };
}

export function cacheStoreFor(f: Flags): FolderStore {
  return new FolderStore(typeof f.cache === 'string' && f.cache !== '' ? f.cache : defaultCacheDir());
}

export async function openNodeEngine(
  f: Flags,
  opts: EngineOptions & { context?: number; batch?: number; onEvent?: (e: LoadEvent) => void } = {},
): Promise<NodeEngine> {
  const model = requireString(f, 'model');
  const weights: WeightFormat = choiceFlag(f, 'weights', WEIGHT_FORMATS, 'q4');
  const kv: KvFormat = choiceFlag(f, 'kv', KV_FORMATS, 'f16');
  const context = numberFlag(f, 'context', opts.context ?? 4096, { min: 16, max: 1 << 20, integer: true });
  const onEvent = opts.onEvent ?? (() => {});
  const hub = parseHubModel(model);
  if (hub) {
    const store = cacheStoreFor(f);
    const engine = new Engine(nodeGpu(), { ...opts, cache: async () => store });
    const endpoint = typeof f.endpoint === 'string' && f.endpoint !== '' ? f.endpoint : DEFAULT_ENDPOINT;
    const source = { kind: 'hub' as const, endpoint, repo: hub.repo, revision: hub.revision, token: process.env.HF_TOKEN || undefined, file: hub.file };
    const info = await engine.load({ source, weights, kv, context, batch: opts.batch ?? 1 }, onEvent);
    return { engine, info };
  }
  if (f.endpoint !== undefined) throw new BoxedError('InvalidRequest', '--endpoint needs --model hub:owner/name');
  const st = await stat(model).catch(() => null);
  const gguf = st?.isFile() === true && model.endsWith('.gguf');
  if (!st?.isDirectory() && !gguf) throw new BoxedError('InvalidRequest', `--model ${model} is not a directory or a .gguf file (or hub:owner/name)`);
  const engine = new Engine(nodeGpu(), opts);
  const files = gguf ? ggufFileProvider(model) : dirProvider(model);
  const info = await engine.loadFrom(files, { weights, kv, context, batch: opts.batch ?? 1 }, onEvent, model);
  return { engine, info };
}
