// A browser that offers no WebGPU adapter (Chromium without --enable-unsafe-webgpu on a machine with
// no supported GPU) gets the plain explanation of what to do, per browser.
import { expect, test } from '@playwright/test';
import { screenshot } from './app';

test('without WebGPU the start screen explains what to do', async ({ page }) => {
  await page.goto('/');
  const help = page.getByRole('alert').filter({ has: page.getByRole('heading', { name: 'This browser does not give Boxed a GPU' }) });
  await expect(help).toBeVisible();
  await expect(help.getByText('Chrome, Chromium or Edge on Linux (including NVIDIA cards)')).toBeVisible();
  await expect(help.getByText('#enable-unsafe-webgpu').first()).toBeVisible();
  await expect(help.getByText('Firefox', { exact: true })).toBeVisible();
  await expect(help.getByText('Safari (macOS, iOS, iPadOS)')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Load model' })).toBeDisabled();
  await screenshot(page, '07-no-webgpu');
});
