// The engine's GPU forward pass in this browser's own WebGPU (Chromium's SwiftShader here: no shader-f16,
// 256 invocations per workgroup, 10 storage buffers, subgroups of 4) against the CPU oracle, through the
// test-only harness page built into the end-to-end bundle (e2e/harness/gpu-parity.ts).
import { test, expect } from '@playwright/test';
import type { ParityResult } from './harness/gpu-parity';

type Parity = ParityResult;

test.describe('GPU parity in the browser', () => {
  test.beforeEach(async ({ page }) => {
    await page.goto('/e2e/harness/gpu-parity.html');
    await expect(page.locator('body[data-ready=true]')).toBeAttached();
  });

  for (const [format, kv, chunk] of [
    ['f32', 'f32', 9],
    ['q4', 'f16', 4],
    ['f16', 'f16', 1],
  ] as const) {
    test(`${format} weights, ${kv} KV, prefill chunks of ${chunk}: logits and sampled id match the CPU oracle`, async ({ page }) => {
      const r = await page.evaluate(([f, k, c]) => (window as unknown as { boxedParity: (...a: unknown[]) => Promise<Parity> }).boxedParity(f, k, c), [format, kv, chunk] as const);
      expect(r.finite).toBe(true);
      expect(r.relErr).toBeLessThan(2e-4);
      expect(r.argmaxGpu).toBe(r.argmaxCpu);
      expect(r.sampledGpu).toBe(r.sampledCpu);
    });
  }

  test('the sampler over the real vocabulary size (151936) picks the CPU sampler id', async ({ page }) => {
    const r = await page.evaluate(() => (window as unknown as { boxedParity: (...a: unknown[]) => Promise<Parity> }).boxedParity('q4', 'f16', 9, 151936));
    expect(r.finite).toBe(true);
    expect(r.relErr).toBeLessThan(2e-4);
    expect(r.sampledGpu).toBe(r.sampledCpu);
  });
});
