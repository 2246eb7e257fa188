import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The app is a static bundle: the engine runs in a module Web Worker, shaders are imported as text (?raw).
export default defineConfig({
  plugins: [react()],
  worker: { format: 'es' },
  build: { target: 'es2022', sourcemap: true },
  server: { host: '127.0.0.1' },
});
