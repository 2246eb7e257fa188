import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The app is a static bundle: the engine runs in a module Web Worker, shaders are imported as text (?raw).
// The end-to-end build (BOXED_E2E=1) adds a test-only page, e2e/harness/gpu-parity.html, that checks the GPU
// forward pass against the CPU oracle in the browser's own WebGPU; the product build never contains it.
const e2e = process.env.BOXED_E2E === '1';

export default defineConfig({
  plugins: [react()],
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
