// Lint: typescript-eslint's recommended rules, plus the import walls of design.md, each with the reason.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const wall = (group, message) => ({ group, message });

const NO_GPU = wall(['**/gpu/**', 'webgpu'], 'Only src/gpu and src/engine talk to WebGPU; pass ops or data in instead.');
const NO_ENGINE = wall(['**/engine/**', '**/worker/**'], 'The engine runs in the worker; the main thread reaches it only through src/client.');
const NO_UI = wall(['**/ui/**', '**/state/**', '**/client/**', 'react', 'react-dom', 'zustand'], 'Engine-side code has no DOM, React or store.');
const NO_CPU = wall(['**/cpu/**'], 'src/cpu is the test oracle; product code does not run the model on the CPU.');
const NO_NODE = wall(['node:*', 'fs', 'path', 'os', 'http'], 'This code runs in the browser too; Node-only code lives in src/cli or scripts.');

const restrict = (...patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

export default tseslint.config(
  { ignores: ['.*', 'dist/**', 'dist-e2e/**', 'node_modules/**', '.cache/**', 'test-results/**', 'playwright-report/**'] },
  js.configs.recommended,
  { files: ['**/*.mjs', '**/*.js'], languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } } },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  { files: ['src/protocol/**'], rules: restrict(wall(['../*', '!./*'], 'src/protocol is types only and imports nothing outside itself.')) },
  { files: ['src/model/**'], rules: restrict(NO_GPU, NO_CPU, NO_ENGINE, NO_UI, NO_NODE) },
  { files: ['src/loader/**', 'src/tokenizer/**', 'src/chat/**', 'src/sampler/**', 'src/reasoning/**', 'src/share/**'], ignores: ['**/*.test.ts'], rules: restrict(NO_GPU, NO_ENGINE, NO_UI, NO_NODE, NO_CPU) },
  { files: ['src/gpu/**'], ignores: ['**/*.test.ts', '**/*.bench.ts', 'src/gpu/test-device.ts'], rules: restrict(wall(['webgpu'], 'Dawn is for Node only (src/gpu/test-device.ts); the browser uses navigator.gpu.'), NO_ENGINE, NO_UI, NO_NODE, NO_CPU) },
  { files: ['src/engine/**'], ignores: ['**/*.test.ts'], rules: restrict(NO_UI, NO_NODE, NO_CPU, wall(['webgpu'], 'The engine receives a GPU object; Dawn is created by the CLI and tests.')) },
  { files: ['src/remote/**'], ignores: ['**/*.test.ts', 'src/remote/test-server.ts'], rules: restrict(NO_GPU, NO_UI, NO_NODE, NO_CPU) },
  { files: ['src/ui/**', 'src/state/**', 'src/client/**'], ignores: ['**/*.test.ts', '**/*.test.tsx'], rules: restrict(NO_GPU, wall(['**/engine/**'], 'The UI reaches the engine only through src/client and the worker.'), NO_CPU, NO_NODE) },
);
