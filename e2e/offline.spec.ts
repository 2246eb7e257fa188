// Offline and installable, as a person meets it, in one browser context (one service worker, one OPFS):
//   1. a link prefills the model fields; the first visit downloads the tiny model into the cache and answers;
//   2. the hub server stops and the context goes offline: a reload opens the app from the service worker,
//      the cached model loads with no network and answers again;
//   3. a reload in the middle of a download (a second, throttled hub server) resumes it with a Range request;
//   4. the Storage panel deletes the first copy and the space is freed.
// The hub servers are started here (not the global one), so that one can be stopped mid-test.
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { resolve } from 'node:path';
import { startHubServer, type HubServer } from '../scripts/hub-server';
import { repo, screenshot, setNumber, tokenCount } from './app';

test.describe.configure({ mode: 'serial' });

let context: BrowserContext;
let page: Page;
let first: HubServer;
let second: HubServer | null = null;

const HUB_ROOT = resolve('test-results/e2e-hub');

test.beforeAll(async ({ browser }) => {
  first = await startHubServer({ root: HUB_ROOT });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on('pageerror', (e) => console.log('[pageerror]', e.message));
});
test.afterAll(async () => {
  await context.close();
  await first.close().catch(() => {});
  await second?.close().catch(() => {});
});

const link = (hub: string) => `/?model=${encodeURIComponent(repo())}&revision=main&endpoint=${encodeURIComponent(hub)}`;

async function waitForGpu(): Promise<void> {
  await expect(page.getByRole('heading', { name: 'Your GPU' })).toBeVisible();
  await expect(page.getByText('Largest buffer')).toBeVisible();
}

async function loadAndWait(): Promise<void> {
  await page.getByLabel('Weight format').selectOption('q4');
  await page.getByLabel('Context length (tokens)').selectOption('2048');
  await page.getByRole('button', { name: 'Load model' }).click();
  await expect(page.getByRole('button', { name: 'Solve' })).toBeVisible({ timeout: 270_000 });
}

async function solveOnce(): Promise<void> {
  await setNumber(page, 'Temperature', 0);
  await setNumber(page, 'Max new tokens', 4);
  await page.getByLabel('Your problem').fill('What is 2 + 3?');
  await page.getByRole('button', { name: 'Solve' }).click();
  await expect(page.getByText('Stopped at the token limit')).toBeVisible({ timeout: 270_000 });
  expect(await tokenCount(page)).toBe(4);
}

const usage = () => page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);

test('first visit: a link prefills the model, the model downloads into the cache and answers', async () => {
  test.setTimeout(900_000); // a load and a first answer compile every shader, slowly on a software GPU
  await page.goto(link(first.url));
  await waitForGpu();
  await expect(page.getByLabel('Hub repository')).toHaveValue(repo());
  await expect(page.getByLabel('Hub endpoint')).toHaveValue(first.url);
  // the service worker has precached the app shell
  await page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    if (!reg.active) throw new Error('no active service worker');
  });
  await loadAndWait();
  const files = first.requests.filter((r) => r.path.includes('/resolve/')).map((r) => r.path.split('/').pop());
  expect(new Set(files)).toEqual(new Set(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']));
  await solveOnce();
  const storage = page.getByRole('region', { name: 'Storage' });
  await expect(storage.getByTestId('cached-model')).toHaveCount(1);
  await expect(storage.getByTestId('cached-model')).toContainText('verified');
  await expect(storage.getByRole('button', { name: /^Delete / })).toBeDisabled(); // in use
  // persistence was asked on the download; the browser's answer is shown
  await expect(storage.getByTestId('storage-persist')).toHaveText(/^(Persistent|Not persistent: the browser may clear)/);
  await screenshot(page, 'offline-01-cached');
});

test('offline, server stopped: the reload comes from the service worker, the cached model loads and answers', async () => {
  test.setTimeout(900_000); // a load and a first answer compile every shader, slowly on a software GPU
  await first.close();
  await context.setOffline(true);
  await page.reload();
  await waitForGpu();
  await expect(page.getByLabel('Hub endpoint')).toHaveValue(first.url);
  await page.getByRole('button', { name: 'Load model' }).click();
  await expect(page.getByTestId('revision-line')).toContainText('the hub did not answer', { timeout: 120_000 });
  await expect(page.getByRole('button', { name: 'Solve' })).toBeVisible({ timeout: 270_000 });
  await expect(page.getByTestId('offline-note')).toBeVisible();
  await solveOnce();
  await screenshot(page, 'offline-02-offline-answer');
});

test('a reload during a download resumes it from the bytes on disk', async () => {
  test.setTimeout(900_000); // a load and a first answer compile every shader, slowly on a software GPU
  await context.setOffline(false);
  // another endpoint is another cache key: this model is not cached yet
  second = await startHubServer({ root: HUB_ROOT, faults: { bytesPerSecond: 2_000_000, only: 'model.safetensors' } });
  await page.goto(link(second.url));
  await waitForGpu();
  await page.getByRole('button', { name: 'Load model' }).click();
  const bar = page.getByRole('progressbar', { name: 'model.safetensors' });
  await expect(async () => expect(Number(await bar.getAttribute('aria-valuenow'))).toBeGreaterThan(15)).toPass({ timeout: 120_000 });
  await page.reload();
  await waitForGpu();
  second.faults.bytesPerSecond = undefined;
  await page.getByRole('button', { name: 'Load model' }).click();
  await expect(page.getByRole('button', { name: 'Solve' })).toBeVisible({ timeout: 270_000 });
  const gets = second.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/model.safetensors'));
  const resumed = gets.at(-1)!;
  expect(resumed.range).toMatch(/^bytes=[1-9]\d*-\d+$/);
  expect(Number(/^bytes=(\d+)/.exec(resumed.range!)![1])).toBeGreaterThan(4_000_000);
  expect(gets.filter((r) => r.range === null)).toHaveLength(1); // only the first request started at byte 0
});

test('the Storage panel deletes a cached model and the space is freed', async () => {
  const storage = page.getByRole('region', { name: 'Storage' });
  await expect(storage.getByTestId('cached-model')).toHaveCount(2);
  const before = await usage();
  const old = storage.getByTestId('cached-model').filter({ hasNotText: 'In use' });
  await expect(old).toHaveCount(1);
  await old.getByRole('button', { name: /^Delete / }).click();
  await expect(storage.getByTestId('cached-model')).toHaveCount(1);
  await expect(storage.getByTestId('cached-model')).toContainText('In use');
  const after = await usage();
  expect(before - after).toBeGreaterThan(30_000_000);
  await screenshot(page, 'offline-03-storage');
});
