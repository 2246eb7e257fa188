// Share links end to end: share a finished answer, open the link in a fresh browser (no model loaded)
// and see the solution at once; save it to the history; "Solve it yourself" loads the named model from
// the local hub only on that click and re-runs with the link's settings and seed; hostile and broken
// links, opened as a person would (typed or pasted into the address bar), show a clear message or inert
// text, run nothing, navigate nowhere, and leave the app working.
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { toBase64Url } from '../src/share/base64url';
import { decodeShare, encodeShare } from '../src/share/codec';
import { nativeDeflater } from '../src/share/compress';
import { prose, rawLink } from '../src/share/test-links';
import { hubUrl, openApp, repo, screenshot } from './app';

test.describe.configure({ mode: 'serial' });

const PROBLEM = 'What is 2 + 3? Show <b>why</b>.';
const REASONING = 'First, 2 + 3: count on from 2. <script>window.__pwned = 1</script> That gives 5.';
const ANSWER = 'We add: $2 + 3 = 5$.\n\n```python\nprint(2 + 3)\n```\n\nSo the answer is $\\boxed{5}$.';
const SAMPLING = { temperature: 0.7, topP: 0.9, topK: 20, seed: 42 };

/** Stores a finished answer straight into IndexedDB, as the app itself does (src/state/history-db.ts). */
async function seedFinishedEntry(page: Page, model: string, id = 'finished-1', problem = PROBLEM, answer = ANSWER): Promise<void> {
  await page.evaluate(
    async ({ id, problem, text, sampling, model }) => {
      const db = await new Promise<IDBDatabase>((res, rej) => {
        const r = indexedDB.open('boxed-history', 1);
        r.onupgradeneeded = () => r.result.createObjectStore('entries', { keyPath: 'id' }).createIndex('createdAt', 'createdAt');
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
      await new Promise<void>((res, rej) => {
        const tx = db.transaction('entries', 'readwrite');
        const now = Date.now();
        tx.objectStore('entries').put({ id, createdAt: now - 60_000, updatedAt: now - 50_000, mode: 'math', problem, text, tokens: 40, status: 'done', stop: 'eos', sampling, maxTokens: 8, model });
        tx.oncomplete = () => res();
        tx.onerror = () => rej(tx.error);
      });
      db.close();
    },
    { id, problem, text: `<think>\n${REASONING}\n</think>\n\n${answer}`, sampling: SAMPLING, model },
  );
}

interface Watch {
  dialogs: string[];
  navigations: string[];
  hubRequests: string[];
  errors: string[];
}

/** Records every dialog (dismissed), main-frame navigation, request to the hub, and page error. */
function watch(page: Page): Watch {
  const w: Watch = { dialogs: [], navigations: [], hubRequests: [], errors: [] };
  page.on('dialog', (d) => {
    w.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) w.navigations.push(f.url());
  });
  page.on('request', (r) => {
    if (r.url().startsWith(hubUrl())) w.hubRequests.push(r.url());
  });
  page.on('pageerror', (e) => w.errors.push(e.message));
  return w;
}

const pwned = (page: Page) => page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned);

let link = '';
let sharer: BrowserContext;

test.beforeAll(async ({ browser }) => {
  sharer = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await sharer.grantPermissions(['clipboard-read', 'clipboard-write']);
  // this Chromium has no system share sheet: a stand-in records what the app hands to it
  await sharer.addInitScript(() => {
    Object.defineProperty(navigator, 'share', {
      configurable: true,
      value: async (data: ShareData) => {
        (window as unknown as { __shareSheet?: ShareData }).__shareSheet = data;
      },
    });
  });
});
test.afterAll(async () => {
  await sharer.close();
});

test('Share on a finished answer makes a link, and copies it and the Markdown', async () => {
  const page = await sharer.newPage();
  await openApp(page);
  // the app names the model from the hub it is set to: the local hub
  await page.getByLabel('Hub endpoint').fill(hubUrl());
  await page.getByLabel('Weight format').selectOption('q4');
  await page.getByLabel('Context length (tokens)').selectOption('2048');
  await seedFinishedEntry(page, `${repo()}@main`);
  await page.reload();
  await page.getByTestId('history-entry').filter({ hasText: PROBLEM }).getByRole('button', { name: /^What is 2/ }).click();
  await expect(page.getByTestId('final-answer')).toContainText('5');
  await page.getByRole('button', { name: 'Share', exact: true }).click();
  const field = page.getByLabel('Share link');
  await expect(field).toHaveValue(/#s=1\./);
  link = await field.inputValue();
  expect(new URL(link).origin).toBe(new URL(page.url()).origin);
  await screenshot(page, '11-share');

  const clipboard = () => page.evaluate(() => navigator.clipboard.readText());
  await page.getByRole('button', { name: 'Copy link to clipboard' }).click();
  await expect.poll(clipboard).toBe(link);
  await page.getByRole('button', { name: 'Copy as Markdown to clipboard' }).click();
  await expect.poll(clipboard).toContain('## Problem');
  const md = await clipboard();
  expect(md).toContain('## Problem (Math)');
  expect(md).toContain(ANSWER);
  expect(md).toContain('Generated by a model, not verified');
  expect(md).toContain(link);
  await page.getByRole('button', { name: 'Share…' }).click();
  await expect.poll(() => page.evaluate(() => (window as unknown as { __shareSheet?: ShareData }).__shareSheet?.url)).toBe(link);

  // the link holds exactly the answer, its reasoning, the model and the settings
  const record = await decodeShare(link);
  expect(record).toMatchObject({ problem: PROBLEM, mode: 'math', answer: ANSWER, reasoning: REASONING, extracted: '5', sampling: SAMPLING, maxTokens: 8, weights: 'q4', context: 2048 });
  expect(record.model).toEqual({ endpoint: hubUrl().replace(/\/+$/, ''), repo: repo(), revision: 'main' });

  // an answer too long for any link is refused with the reason, and can still be copied as Markdown
  const LONG = 'A very long answer';
  const longAnswer = prose(200_000, 9);
  await seedFinishedEntry(page, `${repo()}@main`, 'long-1', LONG, longAnswer);
  await page.reload();
  await page.getByTestId('history-entry').filter({ hasText: LONG }).getByRole('button', { name: new RegExp(`^${LONG}`) }).click();
  await page.getByRole('button', { name: 'Share', exact: true }).click();
  await expect(page.getByTestId('share-panel').getByRole('alert')).toContainText('Cannot make a link: the problem and the answer alone do not fit');
  await expect(page.getByLabel('Share link')).toHaveCount(0);
  await page.getByRole('button', { name: 'Copy as Markdown to clipboard' }).click();
  await expect.poll(clipboard).toContain(longAnswer);
  await page.close();
});

test('the link opens in a fresh browser with no model: problem and answer at once, nothing fetched', async ({ browser }) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const w = watch(page);
  await page.goto(link);
  const shared = page.getByTestId('shared');
  await expect(shared.getByRole('note')).toHaveText('Shared by someone: generated by a model, not verified.');
  await expect(page.getByTestId('shared-problem')).toHaveText(PROBLEM);
  await expect(page.getByTestId('final-answer')).toContainText('5');
  const answer = page.getByTestId('answer');
  await expect(answer.locator('.katex').first()).toBeVisible();
  await expect(answer.locator('pre code')).toContainText('print(2 + 3)');
  const thinking = page.getByTestId('thinking');
  await expect(thinking).not.toHaveAttribute('open', '');
  await thinking.locator('summary').click();
  await expect(thinking.locator('.thinking-text')).toHaveText(REASONING);
  await expect(page.getByTestId('shared-settings')).toContainText(`${repo()} @ main`);
  await expect(page.getByTestId('shared-settings')).toContainText('temperature 0.7, top-p 0.9, top-k 20, seed 42');
  await expect(shared.locator('script, img, iframe')).toHaveCount(0);
  await screenshot(page, '12-shared');
  await page.setViewportSize({ width: 390, height: 844 });
  expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
  await screenshot(page, '12-shared-phone');
  await page.setViewportSize({ width: 1280, height: 900 });

  await page.getByRole('button', { name: 'Save to my history' }).click();
  await expect(page.getByRole('button', { name: 'Saved to your history' })).toBeDisabled();
  await page.getByRole('button', { name: 'Back to Boxed' }).click();
  await expect(page.getByRole('heading', { name: 'Your GPU' })).toBeVisible();
  expect(new URL(page.url()).hash).toBe('');
  const saved = page.getByTestId('history-entry').filter({ hasText: 'What is 2 + 3?' });
  await expect(saved).toHaveCount(1);
  await saved.getByRole('button', { name: /^What is 2/ }).click();
  await expect(page.getByTestId('output').getByTestId('final-answer')).toContainText('5');
  // Back returns to the shared solution
  await page.goBack();
  await expect(page.getByTestId('shared-problem')).toHaveText(PROBLEM);

  expect(w.hubRequests).toEqual([]);
  expect(w.dialogs).toEqual([]);
  expect(await pwned(page)).toBeUndefined();
  await ctx.close();
});

test('Solve it yourself loads the named model only on the click and re-runs with the same settings and seed', async ({ browser }) => {
  test.setTimeout(420_000); // loading compiles every shader, slowly on a software GPU
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const w = watch(page);
  await page.goto(link);
  await expect(page.getByTestId('shared-problem')).toHaveText(PROBLEM);
  await expect(page.getByRole('heading', { name: 'Your GPU' })).toHaveCount(0);
  expect(w.hubRequests).toEqual([]);
  await page.getByRole('button', { name: 'Solve it yourself' }).click();
  await expect(page.getByRole('heading', { name: /^Loading / })).toBeVisible();
  await expect(page.getByText('Stopped at the token limit')).toBeVisible({ timeout: 360_000 });
  expect(w.hubRequests.length).toBeGreaterThan(0);
  // only the named repository: its revision API (the cache resolves the revision to a commit) and its files
  const named = (u: string) => u.includes(`/${repo()}/resolve/`) || u.includes(`/api/models/${repo()}/`);
  expect(w.hubRequests.filter((u) => !named(u))).toEqual([]);
  await expect(page.getByTestId('token-count')).toContainText('8');
  // the run's request used the link's sampling settings and seed
  const stored = await page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((res, rej) => {
      const r = indexedDB.open('boxed-history');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const all = await new Promise<Array<{ problem: string; sampling: unknown; maxTokens: number; tokens: number }>>((res, rej) => {
      const q = db.transaction('entries', 'readonly').objectStore('entries').getAll();
      q.onsuccess = () => res(q.result);
      q.onerror = () => rej(q.error);
    });
    db.close();
    return all;
  });
  expect(stored).toHaveLength(1);
  expect(stored[0]).toMatchObject({ problem: PROBLEM, sampling: SAMPLING, maxTokens: 8, tokens: 8 });
  await screenshot(page, '13-solved-yourself');
  expect(w.dialogs).toEqual([]);
  await ctx.close();
});

test.describe('hostile and broken links', () => {
  let ctx: BrowserContext;
  let page: Page;
  let w: Watch;
  let appUrl = '';
  test.beforeAll(async ({ browser, baseURL }) => {
    appUrl = new URL('/', baseURL).href;
    ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await ctx.newPage();
    w = watch(page);
  });
  test.afterAll(async () => {
    await ctx.close();
  });

  const origin = () => appUrl;
  const HTML = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"><iframe src="javascript:window.__pwned = 3"></iframe>';

  /** Opens a link in the address bar; then nothing may navigate, pop up, fetch the hub, or run. */
  async function open(url: string): Promise<void> {
    await page.goto('about:blank');
    await page.goto(url);
    w.navigations.length = 0;
  }

  async function expectNothingRan(): Promise<void> {
    expect(w.dialogs).toEqual([]);
    expect(w.navigations).toEqual([]);
    expect(w.hubRequests).toEqual([]);
    expect(await pwned(page)).toBeUndefined();
  }

  /** The app still works: back to the start screen with its GPU report and model form. */
  async function expectAppWorks(): Promise<void> {
    await page.getByRole('button', { name: 'Back to Boxed' }).click();
    await expect(page.getByRole('heading', { name: 'Your GPU' })).toBeVisible();
    await expect(page.getByText('Largest buffer')).toBeVisible();
    await expect(page.getByRole('button', { name: 'Load model' })).toBeEnabled();
  }

  const cases: Array<[string, () => Promise<string>, RegExp]> = [
    ['bad base64', async () => `${origin()}#s=1.ab$d!`, /not a link-data character/],
    [
      'a link cut short',
      async () => {
        const { url } = await encodeShare({ problem: 'p', mode: 'math', answer: 'a', reasoning: 'r'.repeat(500) }, { base: origin() });
        return url.slice(0, url.length - 7);
      },
      /damaged/,
    ],
    ['an unknown version', async () => `${origin()}#s=7.q1YqSy0qzszPUzJUsgYA`, /newer Boxed \(format 7\)/],
    [
      'a decompression bomb',
      async () => {
        const { deflateSync } = await import('fflate');
        return `${origin()}#s=1.${toBase64Url(deflateSync(new Uint8Array(24 << 20), { level: 9 }))}`;
      },
      /unpacks to more than/,
    ],
    ['wrong field types', async () => rawLink(nativeDeflater, { v: 1, problem: ['x'], mode: 'math', answer: 5, reasoning: '' }, 1, origin()), /'problem' must be text/],
    ['megabytes of text', async () => `${origin()}#s=1.${'A'.repeat(1_500_000)}`, /longer than any Boxed share link/],
    [
      'a javascript: endpoint',
      async () =>
        rawLink(nativeDeflater, { v: 1, problem: 'p', mode: 'math', answer: 'a', reasoning: '', model: { endpoint: 'javascript:window.__pwned=9', repo: 'a/b', revision: 'main' } }, 1, origin()),
      /endpoint must be an http\(s\) URL/,
    ],
    ['a data: endpoint', async () => rawLink(nativeDeflater, { v: 1, problem: 'p', mode: 'math', answer: 'a', reasoning: '', model: { endpoint: 'data:text/html,x', repo: 'a/b', revision: 'main' } }, 1, origin()), /endpoint/],
  ];

  for (const [what, make, message] of cases) {
    test(`${what}: a clear message, nothing run, and the app still works`, async () => {
      await open(await make());
      const alert = page.getByTestId('shared-error');
      await expect(alert).toBeVisible();
      await expect(alert.getByRole('heading', { name: 'This link cannot be opened' })).toBeVisible();
      await expect(alert).toContainText(message);
      await expectNothingRan();
      await expectAppWorks();
    });
  }

  test('script and HTML in every field stay text; an endpoint is not fetched without the click', async () => {
    const { url } = await encodeShare(
      {
        problem: `Problem ${HTML}`,
        mode: 'math',
        answer: `Answer ${HTML} and [a link](javascript:window.__pwned=4) and <a href="javascript:window.__pwned=5">b</a>`,
        reasoning: `Reasoning ${HTML}`,
        extracted: `<svg onload="window.__pwned = 6">`,
        model: { endpoint: 'http://127.0.0.1:9', repo: 'evil/model', revision: 'main' },
        heavy: { n: 2, candidates: [{ answer: HTML, stop: 'eos' }, { answer: null, stop: 'max-tokens' }], tally: [{ answer: HTML, votes: 1 }], method: 'genselect', chosen: 0, judgment: `Judgment ${HTML}` },
      },
      { base: origin() },
    );
    const requests: string[] = [];
    page.on('request', (r) => {
      if (r.url().startsWith('http://127.0.0.1:9/')) requests.push(r.url());
    });
    await open(url);
    const shared = page.getByTestId('shared');
    await expect(page.getByTestId('shared-problem')).toHaveText(`Problem ${HTML}`);
    await expect(page.getByTestId('answer')).toContainText(`Answer ${HTML}`);
    await expect(page.getByTestId('heavy-summary')).toContainText('Heavy mode: 2 answers, chosen by GenSelect');
    await expect(page.getByTestId('heavy-summary')).toContainText(HTML);
    await expect(page.getByTestId('final-answer')).toBeVisible();
    await expect(page.getByTestId('shared-settings')).toContainText('http://127.0.0.1:9');
    await expect(page.getByTestId('shared-endpoint-note')).toContainText('other than the Hugging Face hub (http://127.0.0.1:9)');
    await page.getByTestId('thinking').locator('summary').click();
    await expect(page.getByTestId('thinking').locator('.thinking-text')).toHaveText(`Reasoning ${HTML}`);
    await page.getByTestId('heavy-summary').locator('summary').click();
    await expect(page.getByTestId('heavy-summary').locator('pre')).toHaveText(`Judgment ${HTML}`);
    await expect(shared.locator('script, img, iframe, svg:not(.katex svg)')).toHaveCount(0);
    await expect(shared.locator('a[href^="javascript:" i]')).toHaveCount(0);
    await screenshot(page, '14-shared-hostile');
    await expectNothingRan();
    expect(requests).toEqual([]);
    await expectAppWorks();
    expect(requests).toEqual([]);
  });

  test('a hostile link pasted into an open app (only the fragment changes) is handled the same', async () => {
    await open(origin());
    await expect(page.getByRole('heading', { name: 'Your GPU' })).toBeVisible();
    await page.goto(`${origin()}#s=1.%3Cscript%3E`);
    await expect(page.getByTestId('shared-error')).toContainText(/not a link-data character/);
    expect(w.dialogs).toEqual([]);
    expect(await pwned(page)).toBeUndefined();
    await expectAppWorks();
    expect(w.errors).toEqual([]);
  });
});
