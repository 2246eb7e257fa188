// End-to-end tests: the built app (vite preview) in Debian's Chromium with its software WebGPU
// (SwiftShader), a synthetic tiny model served by the local hub server (started in e2e/global-setup.ts).
// Never downloads a browser: the system Chromium is used (CHROMIUM_PATH overrides where it is).
import { defineConfig } from '@playwright/test';

// The preview server's port: 4173 unless BOXED_E2E_PORT names another (when 4173 is taken on a dev machine).
// --strictPort and no server reuse: a busy port fails at once with a clear message instead of testing
// whatever else answers there.
const PORT = Number(process.env.BOXED_E2E_PORT ?? 4173);
if (!Number.isInteger(PORT) || PORT < 1 || PORT > 65535) throw new Error(`BOXED_E2E_PORT must be a port number, got '${process.env.BOXED_E2E_PORT}'`);
const BASE_ARGS = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results/e2e',
  timeout: 180_000,
  expect: { timeout: 30_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  globalSetup: './e2e/global-setup.ts',
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    {
      name: 'webgpu',
      testIgnore: /no-webgpu\.spec\.ts/,
      use: { browserName: 'chromium', launchOptions: { executablePath, args: [...BASE_ARGS, '--enable-unsafe-webgpu'] } },
    },
    {
      name: 'no-webgpu',
      testMatch: /no-webgpu\.spec\.ts/,
      use: { browserName: 'chromium', launchOptions: { executablePath, args: BASE_ARGS } },
    },
  ],
  webServer: {
    command: `npx vite preview --host 127.0.0.1 --port ${PORT} --strictPort --outDir dist-e2e`,
    url: `http://127.0.0.1:${PORT}`,
    reuseExistingServer: false,
    timeout: 60_000,
  },
});
