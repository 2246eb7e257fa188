import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { VitePWA } from 'vite-plugin-pwa';

// The app is a static bundle: the engine runs in a module Web Worker, shaders are imported as text (?raw).
// The end-to-end build (BOXED_E2E=1) adds a test-only page, e2e/harness/gpu-parity.html, that checks the GPU
// forward pass against the CPU oracle in the browser's own WebGPU; the product build never contains it.
// PWA (vite-plugin-pwa, Workbox generateSW): the web manifest, and a service worker that precaches the app shell
// (HTML, JS including the engine worker, CSS, fonts, icons; not source maps), so that after one visit the app
// opens with no network. Model files are not the service worker's business: the model cache keeps them in OPFS.
// registerType 'prompt': a new version waits until the user reloads (src/client/pwa.ts, AppUpdateNotice).
const e2e = process.env.BOXED_E2E === '1';

export default defineConfig({
  plugins: [
    react(),
    VitePWA({
      registerType: 'prompt',
      injectRegister: false,
      includeAssets: ['icon.svg'],
      manifest: {
        name: 'Boxed: a reasoning model on your GPU',
        short_name: 'Boxed',
        description: 'A reasoning model on your own GPU, in the browser: math, Python and science answers, nothing sent to a server.',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        background_color: '#14151a',
        theme_color: '#4f46e5',
        icons: [
          { src: '/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: '/icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      workbox: {
        globPatterns: ['**/*.{js,css,html,svg,png,woff2,ttf,woff}'],
        // the engine worker bundle (tokenizer, template engine, hashing) is larger than Workbox's 2 MiB default
        maximumFileSizeToCacheInBytes: 32 * 1024 * 1024,
        navigateFallback: 'index.html',
        navigateFallbackDenylist: [/^\/e2e\//],
        cleanupOutdatedCaches: true,
      },
    }),
  ],
  // test hooks (src/client/e2e-hooks.ts) exist only in the end-to-end build
  define: { __BOXED_E2E__: JSON.stringify(e2e) },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    sourcemap: true,
    outDir: e2e ? 'dist-e2e' : 'dist',
    rollupOptions: e2e ? { input: { main: 'index.html', parity: 'e2e/harness/gpu-parity.html' } } : undefined,
  },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
});
