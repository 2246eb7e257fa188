import { chromium } from '@playwright/test';
import { startHubServer } from './scripts/hub-server.ts';
const hub = await startHubServer({ root: 'test-results/e2e-hub', port: 0, host: '127.0.0.1' });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox','--enable-unsafe-webgpu','--disable-quic','--no-first-run','--disable-background-networking','--disable-component-update','--disable-sync'] });
const page = await browser.newPage();
page.on('console', (m) => console.log('[console]', m.text().slice(0, 300)));
await page.goto('http://127.0.0.1:4173/');
await page.getByLabel('Hub repository').fill('boxed-e2e/tiny');
await page.getByLabel('Hub endpoint').fill(hub.url);
await page.getByLabel('Weight format').selectOption(process.argv[2] ?? 'q4');
await page.getByLabel('Context length (tokens)').selectOption('2048');
const t0 = Date.now();
await page.getByRole('button', { name: 'Load model' }).click();
let last = '';
while (true) {
  const s = await page.evaluate(() => { const a = document.querySelector('.phase-active'); return (a?.getAttribute('data-phase') ?? 'none') + ' ' + (a?.querySelector('.progress-detail')?.textContent ?? ''); });
  if (s !== last) { console.log(((Date.now() - t0) / 1000).toFixed(1), s); last = s; }
  if (await page.getByRole('button', { name: 'Solve' }).isVisible()) break;
  if (Date.now() - t0 > 200000) break;
  await page.waitForTimeout(250);
}
console.log('loaded', (Date.now() - t0) / 1000);
await page.getByLabel('Your problem').fill('What is 2 + 3?');
await page.locator('details.settings summary').click();
await page.getByLabel('Temperature', { exact: true }).fill('0');
await page.getByLabel('Max new tokens', { exact: true }).fill('40');
const t1 = Date.now();
await page.getByRole('button', { name: 'Solve' }).click();
await page.getByRole('button', { name: 'Regenerate' }).waitFor({ timeout: 120000 });
console.log('gen', (Date.now() - t1) / 1000, JSON.stringify(await page.locator('.thinking-text').textContent()).slice(0, 600));
await browser.close(); await hub.close();
