// The model cache in the browser's Origin Private File System (folder `boxed-models`). Model files are
// written through sync access handles, which only a worker has (the engine's); the page itself only lists,
// reads JSON and deletes (the Storage panel), which the asynchronous handles do.
import type { ByteSource } from './source';
import { blobSource } from './source';
import { pathSegments, type CacheEstimate, type CacheStore, type CacheWriter } from './cache-store';

export const OPFS_FOLDER = 'boxed-models';

/** The parts of FileSystemSyncAccessHandle this store uses (declared here: the DOM typings omit it). */
interface SyncHandle {
  read(buffer: Uint8Array, opts: { at: number }): number;
  write(buffer: Uint8Array, opts: { at: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}

type FileHandle = FileSystemFileHandle & {
  createSyncAccessHandle?: () => Promise<SyncHandle>;
  move?: (name: string) => Promise<void>;
};
type DirHandle = FileSystemDirectoryHandle & { keys(): AsyncIterableIterator<string> };

/**
 * A sync access handle is exclusive: right after a reload the previous page's worker may still hold the file
 * for a moment. Waits for it (up to ~10 s) instead of failing the download.
 */
async function lockedRetry<T>(open: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await open();
    } catch (e) {
      if (!(e instanceof DOMException && e.name === 'NoModificationAllowedError') || i >= 50) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const isNotFound = (e: unknown) => e instanceof DOMException && (e.name === 'NotFoundError' || e.name === 'TypeMismatchError');

/** The OPFS store, or null where the browser has no OPFS. */
export async function openOpfsStore(): Promise<CacheStore | null> {
  const storage = globalThis.navigator?.storage;
  if (!storage?.getDirectory) return null;
  try {
    const root = await storage.getDirectory();
    return new OpfsStore((await root.getDirectoryHandle(OPFS_FOLDER, { create: true })) as DirHandle);
  } catch {
    return null; // e.g. a private window that refuses OPFS
  }
}

class OpfsStore implements CacheStore {
  readonly kind = 'opfs';

  constructor(private readonly root: DirHandle) {}

  private async dir(segs: string[], create: boolean): Promise<DirHandle | null> {
    let d: DirHandle = this.root;
    for (const s of segs) {
      try {
        d = (await d.getDirectoryHandle(s, { create })) as DirHandle;
      } catch (e) {
        if (isNotFound(e)) return null;
        throw e;
      }
    }
    return d;
  }

  private async file(path: string, create: boolean): Promise<{ parent: DirHandle; handle: FileHandle; name: string } | null> {
    const segs = pathSegments(path);
    const name = segs.pop()!;
    const parent = await this.dir(segs, create);
    if (!parent) return null;
    try {
      return { parent, name, handle: (await parent.getFileHandle(name, { create })) as FileHandle };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async readText(path: string): Promise<string | null> {
    const f = await this.file(path, false);
    return f ? (await f.handle.getFile()).text() : null;
  }

  async writeText(path: string, text: string): Promise<void> {
    const f = await this.file(path, true);
    const bytes = new TextEncoder().encode(text);
    if (f!.handle.createSyncAccessHandle && typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined') {
      const h = await lockedRetry(() => f!.handle.createSyncAccessHandle!());
      try {
        h.truncate(0);
        h.write(bytes, { at: 0 });
        h.flush();
      } finally {
        h.close();
      }
      return;
    }
    const w = await f!.handle.createWritable();
    await w.write(bytes);
    await w.close();
  }

  async openWriter(path: string): Promise<CacheWriter> {
    const f = await this.file(path, true);
    if (!f!.handle.createSyncAccessHandle) throw new Error('this browser cannot write OPFS files from here (no sync access handle)');
    const h = await lockedRetry(() => f!.handle.createSyncAccessHandle!());
    return {
      size: async () => h.getSize(),
      write: async (bytes, at) => {
        let done = 0;
        while (done < bytes.length) done += h.write(bytes.subarray(done), { at: at + done });
      },
      read: async (at, length) => {
        const out = new Uint8Array(Math.max(0, Math.min(length, h.getSize() - at)));
        const got = out.length > 0 ? h.read(out, { at }) : 0;
        return out.subarray(0, got);
      },
      truncate: async (n) => h.truncate(n),
      flush: async () => h.flush(),
      close: async () => h.close(),
    };
  }

  async openReader(path: string, name: string): Promise<ByteSource | null> {
    const f = await this.file(path, false);
    return f ? blobSource(name, await f.handle.getFile()) : null;
  }

  async sizeOf(path: string): Promise<number | null> {
    const f = await this.file(path, false);
    return f ? (await f.handle.getFile()).size : null;
  }

  async rename(path: string, newName: string): Promise<void> {
    const f = await this.file(path, false);
    if (!f) throw new Error(`no cache file ${path}`);
    if (f.handle.move) return f.handle.move(newName);
    // no move(): copy in pieces through a sync handle, then delete the old name
    const target = (await f.parent.getFileHandle(newName, { create: true })) as FileHandle;
    const h = await target.createSyncAccessHandle!();
    try {
      h.truncate(0);
      const reader = (await f.handle.getFile()).stream().getReader();
      let at = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        at += h.write(value, { at });
      }
      h.flush();
    } finally {
      h.close();
    }
    await f.parent.removeEntry(f.name);
  }

  async remove(path: string): Promise<void> {
    const segs = pathSegments(path);
    const name = segs.pop()!;
    const parent = await this.dir(segs, false);
    try {
      await parent?.removeEntry(name, { recursive: true });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  async list(path: string): Promise<string[]> {
    const d = path === '' ? this.root : await this.dir(pathSegments(path), false);
    if (!d) return [];
    const out: string[] = [];
    for await (const name of d.keys()) out.push(name);
    return out.sort();
  }

  async estimate(): Promise<CacheEstimate | null> {
    const e = await globalThis.navigator?.storage?.estimate?.();
    return e && typeof e.quota === 'number' ? { usage: e.usage ?? 0, quota: e.quota } : null;
  }
}
