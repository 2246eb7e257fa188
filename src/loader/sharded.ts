// Sharded checkpoints: model.safetensors.index.json maps each tensor name to the shard file holding it:
//   { "metadata": { "total_size": ... }, "weight_map": { "model.embed_tokens.weight": "model-00001-of-00002.safetensors", ... } }
// Shard names must be plain file names (no folders, no '..'), every shard must exist, and every tensor
// must be in the shard the index names.
import { BoxedError } from '../protocol/errors';
import { parseSafetensors, type TensorInfo } from './safetensors';
import type { FileProvider } from './source';

export const INDEX_FILE = 'model.safetensors.index.json';

export interface ShardIndex {
  /** tensor name -> shard file name */
  weightMap: Map<string, string>;
  /** distinct shard names, in first-mention order */
  shards: string[];
}

const PLAIN_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** True for a plain file name: no path separators, no '.', '..' or hidden names. */
export function isPlainFileName(name: string): boolean {
  return PLAIN_NAME.test(name) && !name.includes('..') && name.length <= 255;
}

/** Validates a parsed index.json. */
export function parseShardIndex(json: unknown, file = INDEX_FILE): ShardIndex {
  const fail = (message: string): never => {
    throw new BoxedError('ModelFormat', message, { file });
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('expected a JSON object');
  const wm = (json as Record<string, unknown>).weight_map;
  if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) fail('weight_map is missing or not an object');
  const weightMap = new Map<string, string>();
  const shards: string[] = [];
  for (const [tensor, shard] of Object.entries(wm as Record<string, unknown>)) {
    if (typeof shard !== 'string') fail(`weight_map entry for ${tensor} is not a file name`);
    const s = shard as string;
    if (!isPlainFileName(s)) fail(`weight_map entry for ${tensor} names "${s}", which is not a plain file name`);
    weightMap.set(tensor, s);
    if (!shards.includes(s)) shards.push(s);
  }
  if (shards.length === 0) fail('weight_map is empty');
  return { weightMap, shards };
}

/** Opens every shard the index names and returns all their tensors, checked against the index. */
export async function openShards(files: FileProvider, index: ShardIndex, indexFile = INDEX_FILE): Promise<Map<string, TensorInfo>> {
  const tensors = new Map<string, TensorInfo>();
  for (const shard of index.shards) {
    const source = await files.open(shard);
    if (!source) throw new BoxedError('ModelFormat', `shard ${shard} named in the index is missing`, { file: indexFile });
    const st = await parseSafetensors(source);
    for (const [name, info] of st.tensors) {
      const listed = index.weightMap.get(name);
      if (listed === undefined) throw new BoxedError('ModelFormat', `tensor ${name} is not in the index`, { file: shard });
      if (listed !== shard) throw new BoxedError('ModelFormat', `tensor ${name} is in ${shard} but the index says ${listed}`, { file: shard });
      tensors.set(name, info);
    }
  }
  for (const [name, shard] of index.weightMap) {
    if (!tensors.has(name)) throw new BoxedError('ModelFormat', `tensor ${name} is listed in the index but missing from its shard`, { file: shard });
  }
  return tensors;
}
