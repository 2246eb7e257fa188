// The server engine end to end: Chromium's page talks to a real local HTTP server that answers like vLLM
// (src/remote/test-server.ts, replaying vLLM's SSE format), through the app's own worker. A server that does not
// allow this origin is a CORS refusal with the flags to fix it; a 401 asks for the API key, which stays in this
// browser; then math mode with heavy mode N = 4 streams four solutions from one request (n = 4), the tally groups
// their answers and GenSelect's judgment (a second request) picks one; every answer says where it was computed.
// Last, the same app against Boxed's real `serve` (a child process on the e2e tiny model): heavy mode N = 4, the tally.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { startReplayServer, type ReplayServer } from '../src/remote/test-server';
import { openApp, screenshot, setNumber } from './app';

test.describe.configure({ mode: 'serial' });

let page: Page;
let server: ReplayServer;
const ORIGIN = `http://127.0.0.1:${Number(process.env.BOXED_E2E_PORT ?? 4173)}`;

test.beforeAll(async ({ browser }) => {
  server = await startReplayServer();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => console.log('[pageerror]', e.message));
});
test.afterAll(async () => {
  await page.close();
  await server.close();
});

async function connect(p: Page, url: string, model: string) {
  const picker = p.getByTestId('server-picker');
  await picker.getByRole('radio', { name: 'Server' }).check();
  await picker.getByLabel('Server address').fill(url);
  await picker.getByLabel('Model name').fill(model);
  await picker.getByRole('button', { name: 'Connect' }).click();
}

test('a server that refuses this origin (CORS) says how to allow it; a 401 asks for the key', async () => {
  await openApp(page);
  server.allowOrigin = undefined; // no Access-Control-Allow-Origin: the browser refuses the answer
  await connect(page, server.url, 'boxed-test');
  const alert = page.getByRole('alert');
  await expect(alert).toHaveAttribute('data-error', 'ServerUnreachable');
  await expect(alert).toContainText('The server did not answer');
  await expect(alert).toContainText(`--allowed-origins '["${ORIGIN}"]'`);
  await expect(alert).toContainText(`--cors-origins ${ORIGIN}`);
  await page.getByRole('button', { name: 'Dismiss' }).click();

  server.allowOrigin = ORIGIN;
  server.apiKey = 'sk-e2e-key-0001';
  await page.getByTestId('server-picker').getByRole('button', { name: 'Connect' }).click();
  await expect(alert).toHaveAttribute('data-error', 'AccessDenied');
  await expect(alert).toContainText('API key');
  await page.getByRole('button', { name: 'Dismiss' }).click();
  await page.getByTestId('server-picker').getByLabel('API key (optional)').fill('sk-e2e-key-0001');
  await page.getByTestId('server-picker').getByRole('button', { name: 'Connect' }).click();
  await expect(page.getByRole('button', { name: 'Solve' })).toBeVisible();
  expect(server.requests.at(-1)?.headers.authorization).toBe('Bearer sk-e2e-key-0001');
  await expect(page.locator('.model-chip')).toContainText(`server ${new URL(server.url).host}`);
});

test('math mode, heavy mode N = 4 on the server: four solutions, the tally, GenSelect', async () => {
  await page.getByRole('radio', { name: 'Math', exact: true }).check();
  const sw = page.getByTestId('heavy-switch');
  await expect(sw.getByRole('radio', { name: '64 solutions' })).toBeVisible(); // a server takes up to 64
  await sw.getByRole('radio', { name: '4 solutions', exact: true }).check();
  await sw.getByLabel('Combine by').selectOption('genselect');
  server.requests.length = 0;
  server.replies.push({ kind: 'chat', piece: 2, texts: ['<think>a</think>So \\boxed{2}', '<think>bb</think>So \\boxed{3}', '<think>c</think>So \\boxed{2}', '<think>d</think>So \\boxed{\\frac{4}{2}}'] });
  server.replies.push({ kind: 'chat', texts: ['<think>Solution 0 and 2 agree.</think>Judgment: 2'] });
  await page.getByLabel('Your problem').fill('What is 1 + 1?');
  await page.getByRole('button', { name: 'Solve' }).click();
  await expect(page.getByTestId('heavy-result')).toBeVisible();
  const cards = page.getByTestId('candidate');
  await expect(cards).toHaveCount(4);
  expect(await cards.getByTestId('candidate-answer').allTextContents()).toEqual(['2', '3', '2', '\\frac{4}{2}']);
  const groups = page.getByTestId('tally-group');
  await expect(groups).toHaveCount(2);
  await expect(groups.first()).toContainText('3 of 4');
  await expect(page.getByTestId('vote-answer')).toHaveText('2');
  await expect(page.getByTestId('selection-judgment')).toContainText('Picked solution 3.');
  await expect(cards.nth(2)).toHaveClass(/chosen/);
  await expect(page.getByTestId('heavy').getByTestId('where-badge')).toHaveText(`on server ${new URL(server.url).host}`);
  const posts = server.requests.filter((r) => r.method === 'POST');
  expect(posts.map((r) => r.body?.n)).toEqual([4, 1]);
  expect(JSON.stringify(posts[0].body)).toContain('What is 1 + 1?');
  await screenshot(page, 'server-01-heavy');
  // the key is in this browser only: not in the settings or the history
  const stored = await page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((res, rej) => {
      const r = indexedDB.open('boxed-history');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const all = await new Promise<unknown[]>((res, rej) => {
      const q = db.transaction('entries', 'readonly').objectStore('entries').getAll();
      q.onsuccess = () => res(q.result);
      q.onerror = () => rej(q.error);
    });
    db.close();
    return JSON.stringify(all) + localStorage.getItem('boxed.settings.v1');
  });
  expect(stored).toContain('What is 1 + 1?');
  expect(stored).not.toContain('sk-e2e-key');
});

test('a stream cut mid-answer keeps the text and offers to continue', async () => {
  await page.getByTestId('heavy-switch').getByRole('radio', { name: 'Off' }).check();
  server.replies.push({ kind: 'chat', piece: 9, texts: ['<think>Half of the reasoning, then the server dies.</think>'], holdAfterChunks: 3 });
  await page.getByLabel('Your problem').fill('Cut me off');
  await page.getByRole('button', { name: 'Solve' }).click();
  await expect(page.getByTestId('output')).toContainText('Half of the');
  server.cut(); // the server dies mid-answer
  const alert = page.getByRole('alert');
  await expect(alert).toHaveAttribute('data-error', 'StreamCut');
  await expect(page.getByTestId('where-badge')).toHaveText(`on server ${new URL(server.url).host}`);
  server.replies.push({ kind: 'chat', texts: [' reasoning.</think>\n\nSo \\boxed{5}'] });
  await alert.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByTestId('answer')).toContainText('So');
  const last = server.requests.at(-1)!.body!;
  expect(last).toMatchObject({ continue_final_message: true, add_generation_prompt: false });
  expect((last.messages as { role: string; content: string }[]).at(-1)).toEqual({ role: 'assistant', content: '<think>Half of the' });
});

test("pick 'Server', point at the local `serve`, solve in math mode with heavy mode N = 4, see the tally", async () => {
  test.setTimeout(420_000); // serve loads and decodes on Dawn's CPU driver while Chromium renders on SwiftShader
  const modelDir = resolve('test-results/e2e-hub', ...(process.env.BOXED_E2E_REPO ?? 'boxed-e2e/tiny-untied').split('/'));
  const child = spawn(process.execPath, ['scripts/run-cli.mjs', 'serve', '--model', modelDir, '--port', '0', '--context', '2048', '--batch', '4', '--weights', 'q8', '--cors-origin', ORIGIN], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((done) => child.on('exit', () => done()));
  try {
    const base = await new Promise<string>((ok, fail) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /serving \S+ at (http:\/\/\S+)\n/.exec(out);
        if (m) ok(m[1]);
      });
      void exited.then(() => fail(new Error('serve exited before listening')));
    });
    await setNumber(page, 'Max new tokens', 6);
    await page.getByRole('button', { name: /unload the model/ }).click();
    await page.getByTestId('server-picker').getByLabel('API key (optional)').fill('');
    await connect(page, base, 'tiny-untied');
    await expect(page.getByRole('button', { name: 'Solve' })).toBeVisible({ timeout: 60_000 });
    await expect(page.locator('.model-chip')).toContainText(`server ${new URL(base).host}`);
    await page.getByRole('radio', { name: 'Math', exact: true }).check();
    const sw = page.getByTestId('heavy-switch');
    await sw.getByRole('radio', { name: '4 solutions', exact: true }).check();
    await sw.getByLabel('Combine by').selectOption('vote');
    // a random model never writes \boxed: the e2e build's hook gives each candidate a text to continue from
    await page.evaluate((p) => ((window as unknown as { __boxedE2E: unknown }).__boxedE2E = { heavyPrefixes: p }), ['<think>a</think>So \\boxed{2}', '<think>b</think>So \\boxed{3}', '<think>c</think>So \\boxed{2}', '<think>d</think>So \\boxed{2}']);
    await page.getByLabel('Your problem').fill('Served: what is 1 + 1?');
    await page.getByRole('button', { name: 'Solve' }).click();
    await expect(page.getByTestId('heavy-result')).toBeVisible({ timeout: 300_000 });
    await expect(page.getByTestId('candidate')).toHaveCount(4);
    await expect(page.getByTestId('tally')).toBeVisible();
    expect(await page.getByTestId('tally-group').count()).toBeGreaterThan(0);
    await expect(page.getByTestId('heavy').getByTestId('where-badge')).toHaveText(`on server ${new URL(base).host}`);
    await screenshot(page, 'server-02-serve-heavy');
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
});
