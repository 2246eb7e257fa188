// A GGUF model through the engine's public load(): one local .gguf File (what the start screen's "Open a local
// .gguf" sends) is the whole model, and its greedy answer equals the one from the same file on disk.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSyntheticModel } from '../../scripts/synthetic-model';
import { ggufFileProvider } from '../cli/file-source';
import { nodeGpu } from '../gpu/test-device';
import { Engine } from './engine';
import type { GenerateEvent } from '../protocol/engine';

const GREEDY = { temperature: 0, topP: 1, topK: 0, seed: 0 };

async function answer(engine: Engine): Promise<number[]> {
  const ids: number[] = [];
  await engine.generate({ prompt: { kind: 'raw', text: 'Hello there, 1 + 2 =' }, maxTokens: 6, sampling: GREEDY }, (e: GenerateEvent) => {
    if (e.type === 'token') ids.push(e.id);
  });
  return ids;
}

describe('a local .gguf File as the model source', () => {
  let path: string;
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'boxed-engine-gguf-'));
    await makeSyntheticModel({ out: dir, preset: 'tiny', untied: true, seed: 6, gguf: ['Q8_0'] });
    path = join(dir, 'model-Q8_0.gguf');
  }, 300_000);

  it('loads from a File named *.gguf and answers as the same file from disk does', async () => {
    const file = new File([await readFile(path)], 'tiny-Q8_0.gguf');
    const a = new Engine(nodeGpu());
    const info = await a.load({ source: { kind: 'files', files: [file] }, weights: 'q4', context: 64 });
    expect(info.config).toMatchObject({ hiddenSize: 64, layers: 2, vocabSize: 151936, tiedEmbeddings: false });
    const viaFile = await answer(a);
    await a.unload();
    const b = new Engine(nodeGpu());
    await b.loadFrom(ggufFileProvider(path), { weights: 'q4', context: 64 });
    const viaDisk = await answer(b);
    await b.unload();
    expect(viaFile).toHaveLength(6);
    expect(viaFile).toEqual(viaDisk);
  }, 300_000);
});
