// A GGUF model from a hub repository, as a person picks it: the start screen lists the repository's .gguf files
// with their sizes (the hub's tree API on the local hub server), one is chosen, only it downloads through the
// model cache, its Q8_0 blocks load onto the GPU as they are, and the model answers, its header naming the
// file's type. A repository with .gguf files in folders lists them by path, grouped; a link names the file.
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, test } from '@playwright/test';
import { encodeShare } from '../src/share/codec';
import { hubUrl, openApp, screenshot, setNumber, tokenCount } from './app';

const GGUF_REPO = () => process.env.BOXED_E2E_GGUF_REPO ?? 'boxed-e2e/tiny-gguf';
const GGUF_FILE = 'tiny-untied-Q8_0.gguf';
/** A repository made here next to the GGUF one (the hub server serves every folder under its root). */
const NESTED_REPO = 'boxed-e2e/nested-gguf';

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
  // the memory figure is for that file now, its size as the weights
  await expect(page.getByTestId('gpu-need')).toContainText(`(${GGUF_FILE})`);
  await page.getByLabel('Context length (tokens)').selectOption('2048');
  await screenshot(page, 'gguf-picker');
  await page.getByRole('button', { name: 'Load model' }).click();
  await expect(page.getByRole('progressbar', { name: 'Download' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Solve' })).toBeVisible({ timeout: 270_000 });
  // the header names the file and what it holds, not the weight format asked for
  await expect(page.getByTestId('model-chip')).toHaveText(`${GGUF_FILE} · GGUF Q8_0`);
  await expect(page.getByTestId('model-chip')).toHaveAttribute('title', /GGUF Q8_0 \(Q8_0 ×\d+, (F16 ×\d+, )?F32 ×\d+\)/);
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

/** The e2e hub's root holds the GGUF repository; copies of its file go into folders of another one. */
function makeNestedRepo(): void {
  const root = resolve('test-results/e2e-hub');
  const source = join(root, ...GGUF_REPO().split('/'), GGUF_FILE);
  const nested = join(root, ...NESTED_REPO.split('/'));
  if (existsSync(join(nested, 'Q8_0', 'deeper', GGUF_FILE))) return;
  mkdirSync(join(nested, 'Q8_0', 'deeper'), { recursive: true });
  writeFileSync(join(nested, 'README.md'), 'GGUF files in folders');
  copyFileSync(source, join(nested, 'top.gguf'));
  copyFileSync(source, join(nested, 'Q8_0', GGUF_FILE));
  copyFileSync(source, join(nested, 'Q8_0', 'deeper', GGUF_FILE));
}

test('.gguf files in folders are listed by path, grouped by folder; a link with file= picks one', async ({ page }) => {
  makeNestedRepo();
  await openApp(page);
  await page.getByLabel('Hub repository').fill(NESTED_REPO);
  await page.getByLabel('Revision').fill('main');
  await page.getByLabel('Hub endpoint').fill(hubUrl());
  await page.getByRole('button', { name: 'List GGUF files' }).click();
  await expect(page.getByText('3 GGUF files, 2 in folders.')).toBeVisible();
  const picker = page.getByLabel('Model file', { exact: true });
  // the top-level file first, then each folder's files under its folder, named by their whole path
  await expect(picker.locator('optgroup')).toHaveCount(2);
  await expect(picker.locator('optgroup').nth(0)).toHaveAttribute('label', 'Q8_0/');
  await expect(picker.locator('optgroup').nth(1)).toHaveAttribute('label', 'Q8_0/deeper/');
  expect((await picker.locator('option').allTextContents()).map((t) => t.replace(/ \(\d.*\)$/, ''))).toEqual([
    "safetensors (the repository's model files)",
    'top.gguf',
    `Q8_0/${GGUF_FILE}`,
    `Q8_0/deeper/${GGUF_FILE}`,
  ]);
  await picker.selectOption(`Q8_0/deeper/${GGUF_FILE}`);
  await expect(picker).toHaveValue(`Q8_0/deeper/${GGUF_FILE}`);

  // a link naming a model and its file prefills both; a hostile file is ignored (the safetensors stand)
  const link = (file: string) => `/?model=${NESTED_REPO}&revision=main&endpoint=${encodeURIComponent(hubUrl())}&file=${encodeURIComponent(file)}`;
  await page.goto(link(`Q8_0/${GGUF_FILE}`));
  await expect(page.getByLabel('Hub repository')).toHaveValue(NESTED_REPO);
  await expect(picker).toHaveValue(`Q8_0/${GGUF_FILE}`);
  await page.goto(link('../../etc/passwd.gguf'));
  await expect(page.getByLabel('Hub repository')).toHaveValue(NESTED_REPO);
  await expect(picker).toHaveValue('');
});

test('a shared answer of a .gguf file in a folder: the link names the file and Solve it yourself loads that file', async ({ page, baseURL }) => {
  test.setTimeout(900_000);
  makeNestedRepo();
  const file = `Q8_0/deeper/${GGUF_FILE}`;
  const problem = 'What is 3 + 4?';
  const { url, fragment } = await encodeShare(
    {
      problem,
      mode: 'math',
      answer: 'It is $\\boxed{7}$.',
      reasoning: 'Add.',
      model: { endpoint: hubUrl(), repo: NESTED_REPO, revision: 'main', file },
      weights: 'q4',
      sampling: { temperature: 0, topP: 1, topK: 0, seed: 3 },
      maxTokens: 4,
      context: 2048,
    },
    { base: new URL('/', baseURL).href },
  );
  expect(fragment).toMatch(/^#s=2\./);
  const resolves: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/resolve/')) resolves.push(new URL(r.url()).pathname);
  });
  await page.goto(url);
  await expect(page.getByTestId('shared-settings')).toContainText(file);
  expect(resolves).toEqual([]);
  await page.getByRole('button', { name: 'Solve it yourself' }).click();
  await expect(page.getByText('Stopped at the token limit')).toBeVisible({ timeout: 600_000 });
  await expect(page.getByTestId('model-chip')).toHaveText(`${GGUF_FILE} · GGUF Q8_0`);
  // that file alone was downloaded, from its folder (besides the start screen's config.json read for its memory
  // estimate, which this repository does not have)
  expect(resolves.filter((p) => p.endsWith(`/${file}`)).length).toBeGreaterThan(0);
  expect(resolves.filter((p) => !(p.startsWith(`/${NESTED_REPO}/resolve/`) && (p.endsWith(`/${file}`) || p.endsWith('/config.json'))))).toEqual([]);
  expect(await tokenCount(page)).toBe(4);
});
