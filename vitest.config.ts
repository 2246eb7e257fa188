import { defineConfig } from 'vitest/config';

// Unit, kernel and forward-pass tests run in Node; GPU tests use Dawn (npm `webgpu`) on whatever
// adapter the machine has (Mesa lavapipe on the CPU-only machines). Tests live next to their code.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'scripts/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
