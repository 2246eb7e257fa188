// A GGUF model from a hub repository, as a person picks it: the start screen lists the repository's .gguf files
// with their sizes (the hub's tree API on the local hub server), one is chosen, only it downloads through the
// model cache, its Q8_0 blocks load onto the GPU as they are, and the model answers.
import { expect, test } from '@playwright/test';
import { hubUrl, openApp, screenshot, setNumber, tokenCount } from './app';

const GGUF_REPO = () => process.env.BOXED_E2E_GGUF_REPO ?? 'boxed-e2e/tiny-gguf';

test('a .gguf file of a repository: listed with its size, loaded through the cache, answers', async ({ page }) => {
  test.setTimeout(900_000); // a load and a first answer compile every shader, slowly on a software GPU
  await openApp(page);
  await page.getByLabel('Hub repository').fill(GGUF_REPO());
  await page.getByLabel('Revision').fill('main');
  await page.getByLabel('Hub endpoint').fill(hubUrl());
  await page.getByRole('button', { name: 'List GGUF files' }).click();
  await expect(page.getByText('1 GGUF file.')).toBeVisible();
  const option = page.getByLabel('Model file', { exact: true }).locator('option', { hasText: 'tiny-untied-Q8_0.gguf' });
  await expect(option).toHaveText(/tiny-untied-Q8_0\.gguf \(\d/); // with its size
  await page.getByLabel('Model file', { exact: true }).selectOption({ label: (await option.textContent())! });
  await page.getByLabel('Context length (tokens)').selectOption('2048');
  await screenshot(page, 'gguf-picker');
  await page.getByRole('button', { name: 'Load model' }).click();
  await expect(page.getByRole('progressbar', { name: 'Download' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Solve' })).toBeVisible({ timeout: 270_000 });
  // only the .gguf was fetched into the cache
  const cached = await page.evaluate(async () => {
    const names: string[] = [];
    const walk = async (d: FileSystemDirectoryHandle): Promise<void> => {
      for await (const [name, h] of d as unknown as AsyncIterable<[string, FileSystemHandle]>) {
        if (h.kind === 'directory') await walk(h as FileSystemDirectoryHandle);
        else names.push(name);
      }
    };
    await walk(await navigator.storage.getDirectory());
    return names;
  });
  expect(cached.filter((n) => n.endsWith('.gguf'))).toHaveLength(1);
  expect(cached.filter((n) => n.endsWith('.safetensors') || n === 'config.json' || n === 'tokenizer.json')).toEqual([]);
  await setNumber(page, 'Temperature', 0);
  await setNumber(page, 'Max new tokens', 4);
  await page.getByLabel('Your problem').fill('What is 2 + 3?');
  await page.getByRole('button', { name: 'Solve' }).click();
  await expect(page.getByText('Stopped at the token limit')).toBeVisible({ timeout: 270_000 });
  expect(await tokenCount(page)).toBe(4);
});
