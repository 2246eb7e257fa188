// The model cache in a folder on disk (the CLI's --cache DIR, default ~/.cache/boxed): the CacheStore
// interface over node:fs. `limitBytes` caps what the cache may hold, like a browser's storage quota:
// estimate() reports it and a write past it fails with a QuotaExceededError, as OPFS does when full.
import { mkdir, open, readdir, readFile, rename, rm, stat, statfs, writeFile, type FileHandle } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathSegments, type CacheEstimate, type CacheStore, type CacheWriter } from '../loader/cache-store';
import { fileSource } from './file-source';

export function defaultCacheDir(): string {
  return process.env.BOXED_CACHE ?? join(homedir(), '.cache', 'boxed');
}

function quotaError(message: string): Error {
  const e = new Error(message);
  e.name = 'QuotaExceededError';
  return e;
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await folderBytes(p);
    else if (e.isFile()) total += (await stat(p)).size;
  }
  return total;
}

export class FolderStore implements CacheStore {
  readonly kind = 'folder';
  private usage: number | null = null;

  constructor(
    readonly root: string,
    private readonly opts: { limitBytes?: number } = {},
  ) {}

  private abs(path: string): string {
    return join(this.root, ...pathSegments(path));
  }

  private async used(): Promise<number> {
    this.usage ??= await folderBytes(this.root);
    return this.usage;
  }

  async readText(path: string): Promise<string | null> {
    try {
      return await readFile(this.abs(path), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async writeText(path: string, text: string): Promise<void> {
    const p = this.abs(path);
    await mkdir(dirname(p), { recursive: true });
    // written aside and renamed: a reader never sees half a manifest
    await writeFile(`${p}.tmp`, text);
    await rename(`${p}.tmp`, p);
    this.usage = null;
  }

  async openWriter(path: string): Promise<CacheWriter> {
    const p = this.abs(path);
    await mkdir(dirname(p), { recursive: true });
    const fh: FileHandle = await open(p, 'a+').then(async (h) => {
      await h.close();
      return open(p, 'r+');
    });
    const limit = this.opts.limitBytes;
    let grown = 0;
    const base = limit === undefined ? 0 : await this.used();
    let length = (await fh.stat()).size;
    return {
      size: async () => length,
      write: async (bytes, at) => {
        const end = at + bytes.length;
        if (limit !== undefined && end > length && base + grown + (end - length) > limit) {
          throw quotaError(`the cache folder's limit of ${limit} bytes is reached`);
        }
        let done = 0;
        while (done < bytes.length) done += (await fh.write(bytes, done, bytes.length - done, at + done)).bytesWritten;
        if (end > length) {
          grown += end - length;
          length = end;
        }
      },
      read: async (at, n) => {
        const out = new Uint8Array(Math.max(0, Math.min(n, length - at)));
        let got = 0;
        while (got < out.length) {
          const { bytesRead } = await fh.read(out, got, out.length - got, at + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return out.subarray(0, got);
      },
      truncate: async (n) => {
        await fh.truncate(n);
        grown += n - length;
        length = n;
      },
      flush: () => fh.sync(),
      close: async () => {
        await fh.close();
        this.usage = null;
      },
    };
  }

  async openReader(path: string, name: string) {
    const p = this.abs(path);
    const st = await stat(p).catch(() => null);
    return st?.isFile() ? fileSource(p, name) : null;
  }

  async sizeOf(path: string): Promise<number | null> {
    const st = await stat(this.abs(path)).catch(() => null);
    return st?.isFile() ? st.size : null;
  }

  async rename(path: string, newName: string): Promise<void> {
    const p = this.abs(path);
    await rename(p, join(dirname(p), ...pathSegments(newName)));
  }

  async remove(path: string): Promise<void> {
    await rm(this.abs(path), { recursive: true, force: true });
    this.usage = null;
  }

  async list(path: string): Promise<string[]> {
    const entries = await readdir(path === '' ? this.root : this.abs(path)).catch(() => []);
    return entries.filter((n) => !n.endsWith('.tmp')).sort();
  }

  async estimate(): Promise<CacheEstimate> {
    const usage = await this.used();
    if (this.opts.limitBytes !== undefined) return { usage, quota: this.opts.limitBytes };
    await mkdir(this.root, { recursive: true });
    const fs = await statfs(this.root);
    return { usage, quota: usage + fs.bavail * fs.bsize };
  }
}
