// Makes the tiny synthetic model (the code behind the CLI's `make-model --preset tiny --untied`) and serves it in
// the hub's URL layout (/{repo}/resolve/{revision}/{file}) from the local hub server. The tests read the hub URL
// and the repo id from the environment (set here, inherited by the test workers).
//
// Why untied: with random weights and a TIED LM head, a token's own embedding dominates its logits (|e|^2 ~
// hidden_size against N(0, hidden_size) for the others), so the model repeats its last input token forever.
// A chat prompt ends in "\n", so a tied random model writes nothing but newlines, which the app rightly trims
// away: no visible text could stream. An untied head samples varied, visible tokens.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startHubServer } from '../scripts/hub-server';
import { makeSyntheticModel } from '../scripts/synthetic-model';

export const E2E_REPO = 'boxed-e2e/tiny-untied';
/** A repository holding only a GGUF file of the same tiny model (Q8_0 blocks), as community GGUF repositories do. */
export const E2E_GGUF_REPO = 'boxed-e2e/tiny-gguf';
const E2E_GGUF_FILE = 'tiny-untied-Q8_0.gguf';

export default async function globalSetup(): Promise<() => Promise<void>> {
  const root = resolve('test-results/e2e-hub');
  const dir = join(root, ...E2E_REPO.split('/'));
  if (!existsSync(join(dir, 'model.safetensors'))) {
    // written aside and renamed, so a run killed mid-write never leaves a half model that looks cached
    const tmp = `${dir}.partial`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    await makeSyntheticModel({ out: tmp, preset: 'tiny', untied: true, seed: 1 });
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  }
  const ggufDir = join(root, ...E2E_GGUF_REPO.split('/'));
  if (!existsSync(join(ggufDir, E2E_GGUF_FILE))) {
    const tmp = `${ggufDir}.partial`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    await makeSyntheticModel({ out: tmp, preset: 'tiny', untied: true, seed: 1, gguf: ['Q8_0'] });
    rmSync(ggufDir, { recursive: true, force: true });
    mkdirSync(ggufDir, { recursive: true });
    renameSync(join(tmp, 'model-Q8_0.gguf'), join(ggufDir, E2E_GGUF_FILE));
    rmSync(tmp, { recursive: true, force: true });
  }
  const hub = await startHubServer({ root, port: 0, host: '127.0.0.1' });
  process.env.BOXED_E2E_HUB = hub.url;
  process.env.BOXED_E2E_REPO = E2E_REPO;
  process.env.BOXED_E2E_GGUF_REPO = E2E_GGUF_REPO;
  return () => hub.close();
}
