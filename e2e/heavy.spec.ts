// Heavy mode end to end on Chromium's software WebGPU with the tiny synthetic model: four solutions
// stream side by side, the tally groups their answers, GenSelect runs because the answers disagree and its
// pick is highlighted, Stop stops them all and Continue writes on, the history keeps every candidate across a reload, and on a
// phone the cards stack.
// A random model never writes a \boxed answer, so the e2e build's hook (src/client/e2e-hooks.ts) gives each
// candidate a different starting text to continue from.
import { expect, test, type Page } from '@playwright/test';
import { loadTinyModel, openApp, screenshot, setNumber } from './app';

test.describe.configure({ mode: 'serial' });

let page: Page;

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => console.log('[pageerror]', e.message));
});
test.afterAll(async () => {
  await page.close();
});

const PROBLEM = 'Heavy: what is 1 + 1?';
const PREFIXES = ['<think>a</think>So \\boxed{2}', '<think>b</think>So \\boxed{3}', '<think>c</think>So \\boxed{2}', '<think>d</think>So \\boxed{\\frac{4}{2}}'];

test('four solutions stream side by side, disagree, and GenSelect picks one', async () => {
  test.setTimeout(480_000); // loading compiles every shader, slowly on a software GPU
  await openApp(page);
  // heavy mode chosen before loading, so the model loads with four KV slots (settings persist)
  await page.evaluate(() => localStorage.setItem('boxed.settings.v1', JSON.stringify({ samples: 4, select: 'genselect', maxTokens: 12, temperature: 0.8, seed: 3 })));
  await page.reload();
  await loadTinyModel(page);
  const sw = page.getByTestId('heavy-switch');
  await expect(sw.getByRole('radio', { name: '4 solutions', exact: true })).toBeChecked();
  await expect(page.getByTestId('heavy-memory')).toContainText('4 × 2,048 tokens of KV cache');
  // more solutions than the model was loaded for: solving waits for a reload
  await sw.getByRole('radio', { name: '8 solutions', exact: true }).check();
  await expect(sw.getByRole('button', { name: 'Load again for 8' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Solve' })).toBeDisabled();
  await sw.getByRole('radio', { name: '4 solutions', exact: true }).check();

  // Stop stops every solution
  await setNumber(page, 'Max new tokens', 2000);
  await page.getByLabel('Your problem').fill('Heavy: stop me');
  await page.getByRole('button', { name: 'Solve' }).click();
  const cards = page.getByTestId('candidate');
  await expect(cards).toHaveCount(4);
  await expect.poll(async () => Number(await cards.nth(3).getByTestId('candidate-tokens').textContent()), { timeout: 240_000 }).toBeGreaterThan(2);
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await expect(page.getByTestId('heavy-result')).toContainText('Stopped before the end.');
  for (let i = 0; i < 4; i++) await expect(cards.nth(i)).toHaveAttribute('data-stop', 'aborted');
  await expect(page.getByTestId('selection')).toHaveCount(0);
  await setNumber(page, 'Max new tokens', 12);
  // Continue: every stopped solution writes on from its text, up to the token limit, and the run ends
  const tokensOf = async () => (await cards.getByTestId('candidate-tokens').allTextContents()).map((t) => Number(t.replace(/,/g, '')));
  const before = await tokensOf();
  await page.getByRole('button', { name: 'Continue', exact: true }).click();
  await expect(page.getByTestId('heavy-result')).toBeVisible({ timeout: 300_000 });
  await expect(page.getByTestId('heavy-result')).not.toContainText('Stopped before the end.');
  for (let i = 0; i < 4; i++) await expect(cards.nth(i)).not.toHaveAttribute('data-stop', 'aborted');
  const after = await tokensOf();
  after.forEach((n, i) => expect(n).toBeGreaterThan(before[i]));

  await page.evaluate((p) => ((window as unknown as { __boxedE2E: unknown }).__boxedE2E = { heavyPrefixes: p }), PREFIXES);
  await page.getByLabel('Your problem').fill(PROBLEM);
  await page.getByRole('button', { name: 'Solve' }).click();
  await expect(page.getByTestId('heavy-result')).toHaveCount(0);
  // every card streams its own tokens
  for (let i = 0; i < 4; i++) await expect.poll(async () => Number(await cards.nth(i).getByTestId('candidate-tokens').textContent()), { timeout: 240_000 }).toBeGreaterThan(0);
  await expect(page.getByTestId('heavy-result')).toBeVisible({ timeout: 300_000 });
  await screenshot(page, 'heavy-01-result');

  // the tally: 2, 2 and \frac{4}{2} in one group (display only), 3 in another
  const groups = page.getByTestId('tally-group');
  const answers = await cards.getByTestId('candidate-answer').allTextContents();
  if (answers.join() === '2,3,2,\\frac{4}{2}') {
    await expect(groups).toHaveCount(2);
    await expect(groups.first()).toContainText('3 of 4');
    await expect(page.getByTestId('vote-answer')).toHaveText('2');
  } else {
    // a candidate wrote a \boxed of its own: the tally still covers every answered candidate
    expect(await groups.count()).toBeGreaterThan(0);
  }
  // GenSelect ran (the answers differ), streamed its reasoning and picked a highlighted solution
  const selection = page.getByTestId('selection');
  await expect(selection).toHaveCount(1);
  await expect(selection.getByTestId('selection-text')).not.toBeEmpty();
  await expect(selection.getByTestId('selection-judgment')).toContainText(/Picked solution [1-4]\./);
  const picked = Number(/Picked solution (\d)/.exec((await selection.getByTestId('selection-judgment').textContent()) ?? '')![1]);
  await expect(cards.nth(picked - 1)).toHaveClass(/chosen/);
  await expect(page.locator('.candidate.chosen')).toHaveCount(1);
  // any candidate opens in full
  await cards.nth(1).getByRole('button', { name: 'Open in full' }).click();
  await expect(cards.nth(1).getByRole('region', { name: 'Solution 2 in full' })).toContainText('3');
});

test('the history keeps every candidate and the selection across a reload; cards stack on a phone', async () => {
  const stored = await page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((res, rej) => {
      const r = indexedDB.open('boxed-history');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const all = await new Promise<{ problem: string; status: string; heavy?: { candidates: unknown[]; rounds: unknown[] } }[]>((res, rej) => {
      const q = db.transaction('entries', 'readonly').objectStore('entries').getAll();
      q.onsuccess = () => res(q.result);
      q.onerror = () => rej(q.error);
    });
    db.close();
    return all.map((e) => ({ problem: e.problem, status: e.status, candidates: e.heavy?.candidates.length ?? 0, rounds: e.heavy?.rounds.length ?? 0 }));
  });
  expect(stored.filter((e) => e.problem === PROBLEM)).toEqual([{ problem: PROBLEM, status: 'done', candidates: 4, rounds: 1 }]);

  await page.reload();
  await expect(page.getByRole('heading', { name: 'Your GPU' })).toBeVisible();
  const entry = page.getByTestId('history-entry').filter({ hasText: PROBLEM });
  await expect(entry).toContainText(/(^|\D)4 solutions/);
  await expect(entry).toContainText('done');
  await entry.getByRole('button', { name: new RegExp(`^${PROBLEM.replace(/[+?]/g, '\\$&')}`) }).click();
  const cards = page.getByTestId('candidate');
  await expect(cards).toHaveCount(4);
  await expect(page.getByTestId('heavy-result')).toContainText('Answer:');
  await expect(page.locator('.candidate.chosen')).toHaveCount(1);
  await expect(page.getByTestId('selection-judgment')).toContainText(/Picked solution [1-4]\./);

  await page.setViewportSize({ width: 390, height: 844 });
  const a = await cards.nth(0).boundingBox();
  const b = await cards.nth(1).boundingBox();
  expect(a && b && Math.abs(a.x - b.x) < 1 && b.y > a.y).toBe(true);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width).toBeLessThanOrEqual(390);
  await screenshot(page, 'heavy-02-phone');
});
