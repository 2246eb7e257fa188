// esbuild plugin: `import text from './file.wgsl?raw'` gives the file's text (what Vite's `?raw` does), so
// the CLI's bundles (scripts/run-cli.mjs, the GPU kit) read shaders the same way as the app.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export const rawText = {
  name: 'raw-text',
  setup(b) {
    b.onResolve({ filter: /\?raw$/ }, (args) => ({
      path: path.resolve(args.resolveDir, args.path.slice(0, -'?raw'.length)),
      namespace: 'raw-text',
    }));
    b.onLoad({ filter: /.*/, namespace: 'raw-text' }, async (args) => ({ contents: await readFile(args.path, 'utf8'), loader: 'text' }));
  },
};
