// Makes the tiny synthetic model (the code behind the CLI's `make-model --preset tiny`) and serves it in the hub's
// URL layout (/{repo}/resolve/{revision}/{file}) from the local hub server. The tests read the hub URL
// and the repo id from the environment (set here, inherited by the test workers).
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startHubServer } from '../scripts/hub-server';
import { makeSyntheticModel } from '../scripts/synthetic-model';

export const E2E_REPO = 'boxed-e2e/tiny';

export default async function globalSetup(): Promise<() => Promise<void>> {
  const root = resolve('test-results/e2e-hub');
  const dir = join(root, ...E2E_REPO.split('/'));
  if (!existsSync(join(dir, 'model.safetensors'))) {
    mkdirSync(dir, { recursive: true });
    await makeSyntheticModel({ out: dir, preset: 'tiny', seed: 1 });
  }
  const hub = await startHubServer({ root, port: 0, host: '127.0.0.1' });
  process.env.BOXED_E2E_HUB = hub.url;
  process.env.BOXED_E2E_REPO = E2E_REPO;
  return () => hub.close();
}
