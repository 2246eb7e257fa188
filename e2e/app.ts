// Helpers that drive the app as a person would: through labels, roles and visible text.
import { expect, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';

export const SCREENS = 'test-results/screens';

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENS, { recursive: true });
  await page.screenshot({ path: `${SCREENS}/${name}.png`, fullPage: true });
}

export function hubUrl(): string {
  const url = process.env.BOXED_E2E_HUB;
  if (!url) throw new Error('BOXED_E2E_HUB is not set: e2e/global-setup.ts did not run');
  return url;
}

export function repo(): string {
  return process.env.BOXED_E2E_REPO ?? 'boxed-e2e/tiny';
}

/** Opens the app and waits for the GPU report. */
export async function openApp(page: Page): Promise<void> {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Your GPU' })).toBeVisible();
  await expect(page.getByText('Largest buffer')).toBeVisible();
}

/** Points the app at the local hub, loads the tiny model, and checks the loading screen showed progress. */
export async function loadTinyModel(page: Page, opts: { screenshotLoading?: boolean } = {}): Promise<void> {
  await page.getByLabel('Hub repository').fill(repo());
  await page.getByLabel('Revision').fill('main');
  await page.getByLabel('Hub endpoint').fill(hubUrl());
  await page.getByLabel('Weight format').selectOption('q4');
  await page.getByLabel('Context length (tokens)').selectOption('2048');
  await page.getByRole('button', { name: 'Load model' }).click();
  await expect(page.getByRole('heading', { name: /^Loading / })).toBeVisible();
  await expect(page.getByRole('progressbar', { name: 'Download' })).toBeVisible();
  if (opts.screenshotLoading) await screenshot(page, '02-loading');
  await expect(page.getByRole('button', { name: 'Solve' })).toBeVisible({ timeout: 270_000 });
}

/** Sets a numeric setting in the Settings panel. */
export async function setNumber(page: Page, label: string, value: number): Promise<void> {
  const details = page.locator('details.settings');
  if ((await details.getAttribute('open')) === null) await details.locator('summary').click();
  await page.getByLabel(label, { exact: true }).fill(String(value));
}

export async function pickMode(page: Page, label: string): Promise<void> {
  await page.getByRole('radio', { name: label, exact: true }).check();
}

export async function tokenCount(page: Page): Promise<number> {
  const t = await page.getByTestId('token-count').textContent();
  return Number((t ?? '0').replace(/[^0-9]/g, ''));
}
