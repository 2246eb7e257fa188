// The app end to end, as a person would use it, on Chromium's software WebGPU with the tiny synthetic
// model from the local hub: hostile output that must stay text and a finished reasoning shown collapsed
// (from a stored answer), load with progress, the prompt of every mode, streaming, stop, continue,
// history across a reload mid-answer, dark theme and a phone-sized screen. One page is shared and the
// model is loaded once (loading is slow on a software GPU).
import { expect, test, type Page } from '@playwright/test';
import { loadTinyModel, openApp, pickMode, screenshot, seedEntries, setNumber, storedEntries, storedEntry, tokenCount } from './app';

test.describe.configure({ mode: 'serial' });

let page: Page;

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => console.log('[pageerror]', e.message));
});
test.afterAll(async () => {
  await page.close();
});

const IM = (role: string, content: string) => `<|im_start|>${role}\n${content}<|im_end|>\n`;
const PROBLEM = 'What is 2 + 3?';
const MCQ4 = "Answer the following multiple choice question. The last line of your response should be in the following format: 'Answer: \\boxed{A/B/C/D}' (e.g. 'Answer: \\boxed{A}').";
const MCQ10 = "Answer the following multiple choice question. The last line of your response should be in the following format: 'Answer: \\boxed{A/B/C/D/E/F/G/H/I/J}' (e.g. 'Answer: \\boxed{A}').";
const CODE =
  'You are a helpful and harmless assistant. You should think step-by-step before responding to the instruction below.\n\nPlease use python programming language only.\n\nYou must use ```python for just the final solution code block with the following format:\n```python\n# Your code here\n```';
const HLE_SYSTEM =
  'Your response should be in the following format:\nExplanation: {{your explanation for your final answer}}\nAnswer: {{your succinct, final answer}}\nConfidence: {{your confidence score between 0% and 100% for your answer}}';

const EXPECTED_PROMPTS: Array<[label: string, prompt: string]> = [
  ['Math', IM('system', '') + IM('user', `Solve the following math problem. Make sure to put the answer (and only answer) inside \\boxed{}.\n\n${PROBLEM}`) + '<|im_start|>assistant\n'],
  ['Code (Python)', IM('system', '') + IM('user', `${CODE}\n\n${PROBLEM}`) + '<|im_start|>assistant\n'],
  ['Science, 4 choices', IM('system', '') + IM('user', `${MCQ4}\n\n${PROBLEM}`) + '<|im_start|>assistant\n'],
  ['Science, 10 choices', IM('system', '') + IM('user', `${MCQ10}\n\n${PROBLEM}`) + '<|im_start|>assistant\n'],
  ['Science, open answer', IM('system', HLE_SYSTEM) + IM('user', PROBLEM) + '<|im_start|>assistant\n'],
  ['Chat', IM('system', '') + IM('user', PROBLEM) + '<|im_start|>assistant\n'],
];

const HOSTILE = [
  '<think>\nThe user wants <b>bold</b> and <script>window.__pwned = 1</script> here.\n</think>',
  '',
  'The answer: <img src=x onerror="window.__pwned = 2"> and [a link](javascript:window.__pwned=3) and <a href="javascript:window.__pwned=4">b</a>.',
  '',
  'So $\\boxed{5}$',
  '',
].join('\n');

/** Stores an answer that was cut off mid-way in the history, as the app itself does. */
async function seedHostileEntry(): Promise<void> {
  const now = Date.now();
  await seedEntries(page, [
    {
      id: 'hostile-1',
      createdAt: now - 60_000,
      updatedAt: now - 50_000,
      mode: 'math',
      problem: 'Hostile output',
      text: HOSTILE,
      tokens: 60,
      status: 'running',
      sampling: { temperature: 0, topP: 0.95, topK: 0, seed: 1 },
      maxTokens: 30,
      model: 'tiny',
      thinkingMs: 1200,
      thinkingTokens: 20,
    },
  ]);
}

const pwned = () => page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned);

async function openEntry(title: string): Promise<void> {
  await page.getByTestId('history-entry').filter({ hasText: title }).getByRole('button', { name: new RegExp(`^${title}`) }).click();
}

test('hostile HTML in a stored answer stays text, and a finished reasoning is collapsed', async () => {
  await openApp(page);
  await seedHostileEntry();
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Your GPU' })).toBeVisible();
  await expect(page.getByTestId('history-entry').filter({ hasText: 'Hostile output' })).toContainText('interrupted');
  await openEntry('Hostile output');
  const output = page.getByTestId('output');
  const thinking = page.getByTestId('thinking');
  await expect(thinking).not.toHaveAttribute('open', '');
  await expect(thinking.locator('summary')).toContainText('Thought for');
  const answer = page.getByTestId('answer');
  await expect(answer).toContainText('<img src=x onerror="window.__pwned = 2">');
  await expect(answer).toContainText('<a href="javascript:window.__pwned=4">b</a>');
  await expect(page.getByTestId('final-answer')).toContainText('5');
  await expect(output.locator('img, script, iframe')).toHaveCount(0);
  await expect(output.locator('a[href^="javascript:" i]')).toHaveCount(0);
  await expect(output.getByText('a link')).toBeVisible();
  // the reasoning's HTML is text too
  await thinking.locator('summary').click();
  await expect(thinking).toHaveAttribute('open', '');
  await expect(thinking.locator('.thinking-text')).toContainText('<script>window.__pwned = 1</script>');
  await thinking.locator('summary').click();
  await expect(thinking).not.toHaveAttribute('open', '');
  expect(await pwned()).toBeUndefined();
});

test('the start screen shows the GPU report, and the model loads with progress visible', async () => {
  test.setTimeout(330_000); // the warm-up compiles every shader, slowly on a software GPU
  await expect(page.getByLabel('Hub repository')).toHaveValue('nvidia/OpenReasoning-Nemotron-1.5B');
  await expect(page.getByLabel('Hub endpoint')).toHaveValue('https://huggingface.co');
  await screenshot(page, '01-start');
  await loadTinyModel(page, { screenshotLoading: true, compileCount: true });
  await screenshot(page, '03-solve');
});

test('in each mode the rendered prompt is the mode template', async () => {
  await page.getByLabel('Your problem').fill(PROBLEM);
  await page.getByRole('button', { name: 'Show the prompt' }).click();
  for (const [label, expected] of EXPECTED_PROMPTS) {
    await pickMode(page, label);
    await expect(page.getByTestId('prompt-text')).toHaveText(expected, { useInnerText: false });
  }
  await pickMode(page, 'Math');
  await screenshot(page, '04-prompt');
  await page.getByRole('button', { name: 'Hide the prompt' }).click();
});

test('on a phone the mode chips take one row and the model chip is not cut off', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  const chipRows = await page.locator('.modes .mode-option').evaluateAll((els) => new Set(els.map((e) => Math.round(e.getBoundingClientRect().top))).size);
  expect(chipRows).toBe(1);
  const chip = await page.locator('.model-chip').evaluate((el) => ({ cut: el.scrollWidth - el.clientWidth, right: el.getBoundingClientRect().right }));
  expect(chip.cut).toBeLessThanOrEqual(0);
  expect(chip.right).toBeLessThanOrEqual(390);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await page.setViewportSize({ width: 1280, height: 900 });
});

test('generated text after hostile HTML joins the answer, and the HTML still is text', async () => {
  test.setTimeout(300_000); // the first prompt compiles the prefill shaders, slowly on a software GPU
  await setNumber(page, 'Temperature', 0);
  await setNumber(page, 'Max new tokens', 8);
  await openEntry('Hostile output');
  const answer = page.getByTestId('answer');
  const before = (await answer.textContent()) ?? '';
  await page.getByRole('button', { name: 'Continue' }).click();
  // the entry was cut off ("Stopped. Continue…"): the token-limit note appears only when this run ends
  await expect(page.getByText('Stopped at the token limit')).toBeVisible({ timeout: 270_000 });
  await expect(page.getByRole('button', { name: 'Regenerate' })).toBeVisible();
  const after = (await answer.textContent()) ?? '';
  expect(after.length).toBeGreaterThan(before.length);
  await expect(page.getByTestId('thinking')).not.toHaveAttribute('open', '');
  await expect(page.getByTestId('output').locator('img, script, iframe')).toHaveCount(0);
  expect(await pwned()).toBeUndefined();
  await screenshot(page, '08-answer');
});

test('tokens stream into the open reasoning panel, stop works, and continue goes on', async () => {
  test.setTimeout(300_000); // a prompt of a new length may compile shaders, slowly on a software GPU
  // a limit far above what is written before the stop: only the stop ends this run
  await setNumber(page, 'Max new tokens', 1000);
  await page.getByLabel('Your problem').fill(PROBLEM);
  await page.getByRole('button', { name: 'Solve' }).click();
  const stop = page.getByRole('button', { name: 'Stop', exact: true });
  await expect(stop).toBeVisible();
  const thinking = page.getByTestId('thinking');
  const reasoning = thinking.locator('.thinking-text');
  const reasoningLength = async () => ((await reasoning.textContent()) ?? '').length;
  // tokens arrive one after another while the run goes on, and their text streams into the reasoning
  await expect.poll(() => tokenCount(page), { timeout: 240_000, intervals: [50] }).toBeGreaterThan(1);
  const early = await tokenCount(page);
  const earlyLength = await reasoningLength();
  await expect.poll(() => tokenCount(page), { timeout: 60_000, intervals: [50] }).toBeGreaterThan(early);
  await expect.poll(reasoningLength, { timeout: 60_000, intervals: [50] }).toBeGreaterThan(earlyLength);
  // no </think> from a random model: the reasoning panel is open and streaming
  await expect(thinking).toHaveAttribute('open', '');
  await expect(thinking.locator('summary')).toContainText('Thinking…');
  await stop.click();
  await expect(page.getByText('Stopped. Continue to let it write more.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Regenerate' })).toBeEnabled();
  await expect(stop).toHaveCount(0);
  const stoppedAt = await tokenCount(page);
  expect(stoppedAt).toBeGreaterThan(early);
  expect(stoppedAt).toBeLessThan(1000);
  // stopped means stopped: the history holds the stopped answer with exactly the tokens on screen
  await expect.poll(async () => (await storedEntry(page, PROBLEM)).status).toBe('stopped');
  const stopped = await storedEntry(page, PROBLEM);
  expect(stopped.tokens).toBe(stoppedAt);
  expect(await tokenCount(page)).toBe(stoppedAt);
  // stopped before </think>: the reasoning stays open and does not claim the model finished thinking
  await expect(thinking).toHaveAttribute('open', '');
  await expect(thinking.locator('summary')).toContainText('Unfinished reasoning');
  await screenshot(page, '05-stopped');

  // continue after the stop: the same answer grows from where it was
  await setNumber(page, 'Max new tokens', 8);
  const before = (await reasoning.textContent()) ?? '';
  expect(before.length).toBeGreaterThan(0);
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByText('Stopped at the token limit')).toBeVisible({ timeout: 180_000 });
  expect(await tokenCount(page)).toBe(stoppedAt + 8);
  const after = (await reasoning.textContent()) ?? '';
  expect(after.length).toBeGreaterThan(before.length);
  expect(after.startsWith(before)).toBe(true);
  // one history entry, continued in place
  await expect.poll(async () => (await storedEntry(page, PROBLEM)).tokens).toBe(stoppedAt + 8);
  const continued = await storedEntry(page, PROBLEM);
  expect(continued.id).toBe(stopped.id);
  expect(continued.text.startsWith(stopped.text)).toBe(true);
  expect(continued.text.length).toBeGreaterThan(stopped.text.length);
});

test('a reload mid-answer keeps the text so far in the history', async () => {
  test.setTimeout(240_000);
  const COUNT = 'Count to one hundred.';
  await setNumber(page, 'Max new tokens', 1000);
  await page.getByLabel('Your problem').fill(COUNT);
  await page.getByRole('button', { name: 'Solve' }).click();
  await expect(page.getByRole('button', { name: 'Stop', exact: true })).toBeVisible();
  // the running answer is written to the history as it grows: wait until some of its text is stored
  const storedRunning = async () => (await storedEntries(page)).find((e) => e.problem === COUNT && e.status === 'running' && e.text.trim() !== '');
  await expect.poll(async () => (await storedRunning()) !== undefined, { timeout: 180_000, intervals: [100] }).toBe(true);
  const saved = (await storedRunning())!;
  await screenshot(page, '05-streaming');
  await page.reload();
  await expect(page.getByRole('heading', { name: 'History' })).toBeVisible();
  const entries = page.getByTestId('history-entry');
  await expect(entries).toHaveCount(3);
  const interrupted = entries.filter({ hasText: COUNT });
  await expect(interrupted).toContainText('interrupted');
  await expect(entries.filter({ hasText: PROBLEM })).toContainText('token limit');
  const kept = await storedEntry(page, COUNT);
  expect(kept.status).toBe('running');
  expect(kept.text.startsWith(saved.text)).toBe(true);
  await openEntry(COUNT);
  await expect(page.getByTestId('output')).toBeVisible();
  await expect(page.getByTestId('thinking')).toHaveAttribute('open', '');
  await expect(page.getByTestId('thinking').locator('summary')).toContainText('Unfinished reasoning');
  const text = (await page.getByTestId('thinking').locator('.thinking-text').textContent()) ?? '';
  expect(text.length).toBeGreaterThan(0);
  expect(kept.text).toContain(text);
  await screenshot(page, '06-history');
  // delete it
  await interrupted.getByRole('button', { name: /^Delete/ }).click();
  await expect(entries).toHaveCount(2);
  await expect(page.getByTestId('output')).toHaveCount(0);
  await expect.poll(async () => (await storedEntries(page)).some((e) => e.problem === COUNT)).toBe(false);
});

test('dark theme and a phone-sized screen', async () => {
  await page.getByRole('button', { name: /Switch theme/ }).click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await openEntry('Hostile output');
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await screenshot(page, '09-phone-dark');
  await page.setViewportSize({ width: 1280, height: 900 });
  await screenshot(page, '10-desktop-dark');
});
