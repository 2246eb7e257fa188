// The engine on Dawn with a model from a local directory: what every model-reading CLI command starts with.
import { stat } from 'node:fs/promises';
import { Engine, type EngineOptions } from '../engine/engine';
import { nodeGpu } from '../gpu/test-device';
import type { KvFormat, ModelInfo, WeightFormat } from '../protocol/engine';
import { BoxedError } from '../protocol/errors';
import { dirProvider, ggufFileProvider } from './file-source';
import { choiceFlag, numberFlag, requireString, KV_FORMATS, WEIGHT_FORMATS, type Flags } from './args';

export const MODEL_FLAGS = ['model', 'weights', 'context', 'kv'];

export interface NodeEngine {
  engine: Engine;
  info: ModelInfo;
}

export async function openNodeEngine(f: Flags, opts: EngineOptions & { context?: number; batch?: number } = {}): Promise<NodeEngine> {
  const dir = requireString(f, 'model');
  const st = await stat(dir).catch(() => null);
  const gguf = st?.isFile() === true && dir.endsWith('.gguf');
  if (!st?.isDirectory() && !gguf) throw new BoxedError('InvalidRequest', `--model ${dir} is not a directory or a .gguf file`);
  const weights: WeightFormat = choiceFlag(f, 'weights', WEIGHT_FORMATS, 'q4');
  const kv: KvFormat = choiceFlag(f, 'kv', KV_FORMATS, 'f16');
  const context = numberFlag(f, 'context', opts.context ?? 4096, { min: 16, max: 1 << 20, integer: true });
  const engine = new Engine(nodeGpu(), opts);
  const files = gguf ? ggufFileProvider(dir) : dirProvider(dir);
  const info = await engine.loadFrom(files, { weights, kv, context, batch: opts.batch ?? 1 }, () => {}, dir);
  return { engine, info };
}
