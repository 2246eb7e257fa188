// The GPU kit's checkable parts, without building it: the payload plan, the size limit, and run.sh's
// choice of Vulkan driver manifest (run in bash against fake driver folders).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLES, checkKitSize, KIT_LIMIT_BYTES, payloadFiles, vulkanSoName } from './plan';

const root = resolve(import.meta.dirname, '..', '..');
const runSh = join(root, 'scripts', 'gpu-kit', 'run.sh');

describe('kit plan', () => {
  const files = payloadFiles({ root, vulkanDeb: '/deb', vulkanSoName: 'libvulkan.so.1.3.239', nodePkg: '/node' });

  it('ships what run.sh starts, each at one place', () => {
    const to = files.map((f) => f.to).concat(BUNDLES.map((b) => b.to));
    expect(new Set(to).size).toBe(to.length);
    for (const needed of ['bin/node', 'lib/libvulkan.so.1', 'app/cli.mjs', 'app/probe.mjs', 'app/node_modules/webgpu/dist/linux-x64/dawn.node']) {
      expect(to).toContain(needed);
    }
    expect(files.find((f) => f.to === 'lib/libvulkan.so.1')?.from).toBe('/deb/usr/lib/x86_64-linux-gnu/libvulkan.so.1.3.239');
  });

  it('takes every project-side file from a place that exists here', () => {
    for (const f of files.filter((f) => !f.from.startsWith('/deb/') && !f.from.startsWith('/node/'))) expect(existsSync(f.from), f.from).toBe(true);
    for (const b of BUNDLES) expect(existsSync(join(root, b.entry)), b.entry).toBe(true);
  });

  it('finds the versioned loader in the package', () => {
    expect(vulkanSoName(['libvulkan.so.1', 'libvulkan.so.1.3.239'])).toBe('libvulkan.so.1.3.239');
    expect(() => vulkanSoName(['libvulkan.so.1'])).toThrow(/found none/);
    expect(() => vulkanSoName(['libvulkan.so.1.3.239', 'libvulkan.so.1.4.300'])).toThrow(/found libvulkan.so.1.3.239, libvulkan.so.1.4.300/);
  });

  it('refuses a kit over 60 MiB and names the largest pieces', () => {
    expect(KIT_LIMIT_BYTES).toBe(60 * 1024 * 1024);
    expect(checkKitSize([{ name: 'a', bytes: 10 }, { name: 'b', bytes: 5 }], 15)).toBe(15);
    expect(() => checkKitSize([{ name: 'run.sh', bytes: 1 }, { name: 'payload.tar.gz', bytes: 15 }], 15)).toThrow(/over its limit .*largest: payload.tar.gz/);
  });
});

describe('run.sh', () => {
  let dir: string;
  const findIcd = (kind: string, env: Record<string, string>) => {
    try {
      const stdout = execFileSync('bash', ['-c', `source "${runSh}" && find_icd "$0" "$1"`, kind, join(dir, 'gen')], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BOXED_KIT_SOURCE_ONLY: '1', ...env },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      return { ok: true, out: stdout.trim(), err: '' };
    } catch (e) {
      return { ok: false, out: '', err: String((e as { stderr?: string }).stderr) };
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'boxed-kit-test-'));
    for (const d of ['icd-a', 'icd-b', 'empty', 'lib', 'nolib']) await mkdir(join(dir, d));
    await writeFile(join(dir, 'icd-b', 'nvidia_icd.json'), '{}');
    await writeFile(join(dir, 'icd-b', 'lvp_icd.x86_64.json'), '{}');
    await writeFile(join(dir, 'lib', 'libGLX_nvidia.so.0'), '');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('is valid bash', () => {
    execFileSync('bash', ['-n', runSh]);
  });

  it("uses the driver's own manifest from the first folder that has one", () => {
    const r = findIcd('nvidia', { BOXED_KIT_ICD_DIRS: `${join(dir, 'icd-a')} ${join(dir, 'icd-b')}`, BOXED_KIT_LIB_DIRS: join(dir, 'lib') });
    expect(r).toEqual({ ok: true, out: join(dir, 'icd-b', 'nvidia_icd.json'), err: '' });
    expect(findIcd('lavapipe', { BOXED_KIT_ICD_DIRS: join(dir, 'icd-b') }).out).toBe(join(dir, 'icd-b', 'lvp_icd.x86_64.json'));
  });

  it('writes a manifest for libGLX_nvidia.so.0 when the driver has none', async () => {
    const r = findIcd('nvidia', { BOXED_KIT_ICD_DIRS: join(dir, 'empty'), BOXED_KIT_LIB_DIRS: `${join(dir, 'nolib')} ${join(dir, 'lib')}` });
    expect(r.out).toBe(join(dir, 'gen', 'nvidia_icd.json'));
    const icd = JSON.parse(await readFile(r.out, 'utf8'));
    expect(icd).toEqual({ file_format_version: '1.0.0', ICD: { library_path: join(dir, 'lib', 'libGLX_nvidia.so.0'), api_version: '1.3.0' } });
  });

  it('asks the CLI whether its bench takes --rows', () => {
    const takes = (script: string) => {
      try {
        execFileSync('bash', ['-c', `source "${runSh}" && bench_takes_rows bash -c '${script}' cli`], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BOXED_KIT_SOURCE_ONLY: '1' }, stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    };
    // what node:util parseArgs says for an unknown flag, and what a bench with --rows says for a missing model
    expect(takes(`echo "error: InvalidRequest: Unknown option '\\''--rows'\\''. To specify a positional argument" >&2; exit 2`)).toBe(false);
    expect(takes('echo "error: InvalidRequest: --model /x is not a directory" >&2; exit 2')).toBe(true);
  });

  it('says why when there is no NVIDIA driver, or a bad BOXED_KIT_ICD', () => {
    const r = findIcd('nvidia', { BOXED_KIT_ICD_DIRS: join(dir, 'empty'), BOXED_KIT_LIB_DIRS: join(dir, 'nolib') });
    expect(r.ok).toBe(false);
    expect(r.err).toMatch(/no NVIDIA Vulkan driver.*\n.*NVIDIA_DRIVER_CAPABILITIES/);
    expect(findIcd(join(dir, 'icd-b', 'nvidia_icd.json'), {}).out).toBe(join(dir, 'icd-b', 'nvidia_icd.json'));
    expect(findIcd(join(dir, 'missing.json'), {}).err).toMatch(/not nvidia, lavapipe or an existing file/);
  });
});
