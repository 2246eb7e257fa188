import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The app is a static bundle: the engine runs in a module Web Worker, shaders are imported as text (?raw).
// The end-to-end build (BOXED_E2E=1) adds a test-only page, e2e/harness/gpu-parity.html, that checks the GPU
// forward pass against the CPU oracle in the browser's own WebGPU; the product build never contains it.
const e2e = process.env.BOXED_E2E === '1';

export default defineConfig({
  plugins: [react()],
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
