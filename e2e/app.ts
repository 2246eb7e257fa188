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
  return process.env.BOXED_E2E_REPO ?? 'boxed-e2e/tiny-untied';
}

/** Opens the app and waits for the GPU report. */
export async function openApp(page: Page): Promise<void> {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Your GPU' })).toBeVisible();
  await expect(page.getByText('Largest buffer')).toBeVisible();
}

/** Points the app at the local hub, loads the tiny model, and checks the loading screen showed progress. */
export async function loadTinyModel(page: Page, opts: { screenshotLoading?: boolean; compileCount?: boolean } = {}): Promise<void> {
  await page.getByLabel('Hub repository').fill(repo());
  await page.getByLabel('Revision').fill('main');
  await page.getByLabel('Hub endpoint').fill(hubUrl());
  await page.getByLabel('Weight format').selectOption('q4');
  await page.getByLabel('Context length (tokens)').selectOption('2048');
  await page.getByRole('button', { name: 'Load model' }).click();
  await expect(page.getByRole('heading', { name: /^Loading / })).toBeVisible();
  await expect(page.getByRole('progressbar', { name: 'Download' })).toBeVisible();
  if (opts.screenshotLoading) await screenshot(page, '02-loading');
  // a first load on a device compiles every pipeline, counted one by one ("7 / 16"; the row keeps "16 / 16" through the warm-up)
  if (opts.compileCount) await expect(page.getByRole('progressbar', { name: 'Compile shaders' })).toHaveAttribute('aria-valuetext', /^\d+ \/ ([2-9]|\d{2,})$/, { timeout: 270_000 });
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

/** A history entry as the app stored it in IndexedDB (the fields the tests read). */
export interface StoredEntry {
  id: string;
  problem: string;
  text: string;
  tokens: number;
  status: string;
}

/** Every history entry in the app's IndexedDB, read straight from the database (not from the screen). */
export async function storedEntries(page: Page): Promise<StoredEntry[]> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((res, rej) => {
      const r = indexedDB.open('boxed-history');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    try {
      if (!db.objectStoreNames.contains('entries')) return [];
      return await new Promise<StoredEntry[]>((res, rej) => {
        const q = db.transaction('entries', 'readonly').objectStore('entries').getAll();
        q.onsuccess = () => res((q.result as StoredEntry[]).map(({ id, problem, text, tokens, status }) => ({ id, problem, text, tokens, status })));
        q.onerror = () => rej(q.error);
      });
    } finally {
      db.close();
    }
  });
}

/** The one stored entry for a problem (fails when there is none or more than one). */
export async function storedEntry(page: Page, problem: string): Promise<StoredEntry> {
  const found = (await storedEntries(page)).filter((e) => e.problem === problem);
  if (found.length !== 1) throw new Error(`expected one stored entry for '${problem}', found ${found.length}`);
  return found[0];
}

/**
 * Stores history entries straight into IndexedDB, as the app itself does (its schema: src/state/history-db.ts,
 * created here when the app has not opened the database yet). Each entry is a whole stored record.
 */
export async function seedEntries(page: Page, entries: ReadonlyArray<Record<string, unknown>>): Promise<void> {
  await page.evaluate(async (list) => {
    const db = await new Promise<IDBDatabase>((res, rej) => {
      const r = indexedDB.open('boxed-history', 1);
      r.onupgradeneeded = () => r.result.createObjectStore('entries', { keyPath: 'id' }).createIndex('createdAt', 'createdAt');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    await new Promise<void>((res, rej) => {
      const tx = db.transaction('entries', 'readwrite');
      for (const e of list) tx.objectStore('entries').put(e);
      tx.oncomplete = () => res();
      tx.onerror = () => rej(tx.error);
    });
    db.close();
  }, entries);
}
