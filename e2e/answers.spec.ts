// How answers are drawn, from stored history entries (no model needed): the \boxed answer is a visible box,
// not a thin bar (KaTeX's markup and stylesheet are one version), math in the reasoning panel is rendered,
// and an open-answer entry shows its extracted answer.
import { expect, test, type Page } from '@playwright/test';
import { hubUrl, openApp, repo, seedEntries } from './app';

test.describe.configure({ mode: 'serial' });

let page: Page;

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => console.log('[pageerror]', e.message));
});
test.afterAll(async () => {
  await page.close();
});

interface Seed {
  id: string;
  mode: string;
  problem: string;
  text: string;
}

const ENTRIES: Seed[] = [
  {
    id: 'math-1',
    mode: 'math',
    problem: 'Boxed math',
    text: '<think>\nLet $x^2 = 49$, so \\(x = 7\\) and\n$$\\frac{x}{7} = 1$$\nwhich costs $5 and $10.\n</think>\n\nThe answer is $\\boxed{4200}$.',
  },
  {
    id: 'open-1',
    mode: 'science-open',
    problem: 'Open science',
    text: '<think>\nthinking\n</think>\nExplanation: it scatters.\nAnswer: Rayleigh scattering\nConfidence: 90%',
  },
];

async function seed(entries: Seed[]): Promise<void> {
  const now = Date.now();
  await seedEntries(
    page,
    entries.map((e, i) => ({
      ...e,
      createdAt: now - 60_000 + i,
      updatedAt: now - 50_000 + i,
      tokens: 40,
      status: 'done',
      stop: 'eos',
      sampling: { temperature: 0.6, topP: 0.95, topK: 0, seed: 1 },
      maxTokens: 100,
      model: 'tiny',
      thinkingMs: 1500,
      thinkingTokens: 20,
    })),
  );
}

async function openEntry(title: string): Promise<void> {
  await page.getByTestId('history-entry').filter({ hasText: title }).getByRole('button', { name: new RegExp(`^${title}`) }).click();
}

test('a boxed answer is drawn as a box around its content', async () => {
  await openApp(page);
  await seed(ENTRIES);
  await page.reload();
  await openEntry('Boxed math');
  const answer = page.getByTestId('answer');
  const content = answer.locator('.katex .boxpad').first();
  const box = answer.locator('.katex .fbox').first();
  await expect(box).toBeVisible();
  const c = await content.boundingBox();
  const b = await box.boundingBox();
  expect(c && b).toBeTruthy();
  // The frame encloses "4200" with its padding: wider than the digits, and as tall as a line.
  expect(b!.width).toBeGreaterThan(30);
  expect(b!.width).toBeGreaterThanOrEqual(c!.width - 1);
  expect(b!.height).toBeGreaterThan(12);
  const border = await box.evaluate((el) => getComputedStyle(el).borderTopStyle + ' ' + getComputedStyle(el).borderLeftWidth);
  expect(border).toMatch(/^solid [1-9]/);
  await expect(page.getByTestId('final-answer')).toContainText('4200');
});

test('math in the reasoning panel is rendered; currency stays text', async () => {
  const thinking = page.getByTestId('thinking');
  await thinking.locator('summary').click();
  await expect(thinking).toHaveAttribute('open', '');
  const text = thinking.locator('.thinking-text');
  await expect(text.locator('.katex')).toHaveCount(3);
  await expect(text.locator('.reasoning-math.display .katex-display, .reasoning-math.display .katex')).not.toHaveCount(0);
  await expect(text.locator('.katex .mfrac')).toHaveCount(1);
  await expect(text).toContainText('costs $5 and $10.');
  await expect(text).not.toContainText('$x^2 = 49$');
});

test("the memory estimate follows the named repository's config.json", async () => {
  const note = page.getByText(/^Needs about/);
  await expect(note).toContainText('for nvidia/OpenReasoning-Nemotron-1.5B');
  await page.getByLabel('Hub endpoint').fill(hubUrl());
  await page.getByLabel('Hub repository').fill(repo());
  await expect(note).toContainText(`for ${repo()}`);
  await page.getByLabel('Hub repository').fill('boxed-e2e/no-such-model');
  await expect(note).toContainText("config.json has not been read");
});

test('an open-answer entry shows its extracted answer', async () => {
  await openEntry('Open science');
  const final = page.getByTestId('final-answer');
  await expect(final).toContainText('Rayleigh scattering');
  await expect(final.getByRole('heading', { name: 'Answer' })).toBeVisible();
});
