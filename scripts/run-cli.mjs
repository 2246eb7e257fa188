// Runs the Node CLI (src/cli/main.ts): bundles it with esbuild (shaders imported as text via `?raw`,
// npm packages left external), then runs the bundle in this process. Bundling takes well under a second.
import { build } from 'esbuild';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { rawText } from './esbuild-raw-text.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outfile = path.join(root, '.cache', 'cli', 'main.mjs');

const built = await build({
  write: false,
  entryPoints: [path.join(root, 'src', 'cli', 'main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'inline',
  logLevel: 'error',
  plugins: [rawText],
});
// written aside, then renamed: CLI processes started at once (parallel tests) never import a half-written bundle
await mkdir(path.dirname(outfile), { recursive: true });
const tmp = `${outfile}.${process.pid}.tmp`;
await writeFile(tmp, built.outputFiles[0].contents);
await rename(tmp, outfile);
const { main } = await import(pathToFileURL(outfile).href);
process.exitCode = await main(process.argv.slice(2));
