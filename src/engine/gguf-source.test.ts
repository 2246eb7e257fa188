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
import { fileTypeName } from './gguf-info';

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
    // what the file holds: its file type; its matrices in Q8_0 (34 bytes a block of 32) where their rows are
    // whole blocks, else F16 (as the writer stores them), and its vectors in F32
    const c = info.config;
    const [d, qDim, kvDim, ffn] = [c.hiddenSize, c.heads * c.headDim, c.kvHeads * c.headDim, c.intermediateSize];
    const matrices: [number, number][] = [[c.vocabSize, d], [c.vocabSize, d]];
    for (let l = 0; l < c.layers; l++) matrices.push([qDim, d], [kvDim, d], [kvDim, d], [d, qDim], [ffn, d], [ffn, d], [d, ffn]);
    const want = new Map<string, { type: string; tensors: number; bytes: number }>();
    const add = (type: string, bytes: number) => {
      const e = want.get(type) ?? { type, tensors: 0, bytes: 0 };
      e.tensors++;
      e.bytes += bytes;
      want.set(type, e);
    };
    for (const [rows, cols] of matrices) add(cols % 32 === 0 ? 'Q8_0' : 'F16', cols % 32 === 0 ? (rows * cols * 34) / 32 : rows * cols * 2);
    for (const n of [d, ...Array.from({ length: c.layers }, () => [d, d, qDim, kvDim, kvDim]).flat()]) add('F32', n * 4);
    expect(want.get('Q8_0')!.tensors).toBeGreaterThan(2); // the check covers Q8_0 matrices
    expect(info.gguf).toEqual({ fileType: 'Q8_0', types: [...want.values()].sort((a, b) => b.bytes - a.bytes) });
    const matrixValues = matrices.reduce((a, [r, k]) => a + r * k, 0);
    // the memory plan counts the blocks as stored: Q8_0 on the GPU, not the q4 the request names
    expect(info.memory.weights).toBeGreaterThan(matrixValues * (34 / 32));
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

describe('general.file_type names', () => {
  it("names llama.cpp's file types and nothing else", () => {
    expect([0, 1, 2, 7, 14, 15, 17, 18, 32].map(fileTypeName)).toEqual(['F32', 'F16', 'Q4_0', 'Q8_0', 'Q4_K_S', 'Q4_K_M', 'Q5_K_M', 'Q6_K', 'BF16']);
    // removed from GGUF files, never assigned, or not stated
    expect([4, 5, 33, 999, -1, 1.5, undefined, null].map(fileTypeName)).toEqual([null, null, null, null, null, null, null, null]);
  });
});
