// The model size picker on the start screen: four sizes with scores and memory per format, choosing one sets
// the hub repository, the fit check speaks for the chosen size, and the trial allocation answers on this GPU.
import { expect, test } from '@playwright/test';
import { openApp } from './app';

test('the size picker sets the repository and checks the fit', async ({ page }) => {
  await openApp(page);
  const picker = page.locator('section.model-size');
  await expect(picker.getByRole('heading', { name: 'Model size' })).toBeVisible();
  await expect(picker.getByRole('radio')).toHaveCount(4);
  await expect(picker.getByRole('radio', { name: '1.5B' })).toBeChecked();
  await expect(picker.getByRole('row', { name: /^7B/ })).toContainText('61.1%');

  await picker.getByRole('radio', { name: '32B' }).check();
  await expect(page.getByLabel('Hub repository')).toHaveValue('nvidia/OpenReasoning-Nemotron-32B');
  await page.getByLabel('Weight format').selectOption('f16');
  await expect(picker.getByText(/probably cannot hold it/)).toBeVisible();
  // the advice switches the engine to a server: the server form replaces the size picker
  await picker.getByRole('button', { name: 'Use a server instead' }).click();
  await expect(page.getByLabel('Server address')).toBeVisible();
  await expect(picker).toHaveCount(0);
  await page.getByTestId('server-picker').getByRole('radio', { name: 'This GPU' }).check();
  await expect(picker.getByRole('radio', { name: '32B' })).toBeChecked();

  await picker.getByRole('radio', { name: '1.5B' }).check();
  await expect(page.getByLabel('Hub repository')).toHaveValue('nvidia/OpenReasoning-Nemotron-1.5B');
  await page.getByLabel('Weight format').selectOption('q4');
  await page.getByLabel('Context length (tokens)').selectOption('2048');
  await picker.getByRole('button', { name: 'Try it on this GPU' }).click();
  await expect(picker.getByText(/This GPU granted all .* it probably fits/)).toBeVisible({ timeout: 60_000 });
});
