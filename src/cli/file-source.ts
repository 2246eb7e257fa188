// Node file access for the loader: a ByteSource over a file (positioned reads through fs.promises FileHandle)
// and a FileProvider over a local model folder. Node-only; the loader itself never imports node: modules.
import { open, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BoxedError } from '../protocol/errors';
import { checkRange, type ByteSource, type FileProvider } from '../loader/source';
import { GGUF_FILE } from '../loader/gguf/checkpoint';

/** A ByteSource over a file on disk. Each read opens, reads and closes, so nothing is left open. */
export async function fileSource(path: string, name = path): Promise<ByteSource> {
  const { size } = await stat(path);
  return {
    name,
    size,
    async read(offset, length) {
      checkRange(name, size, offset, length);
      const out = new Uint8Array(length);
      const fh = await open(path, 'r');
      try {
        let got = 0;
        while (got < length) {
          const { bytesRead } = await fh.read(out, got, Math.min(length - got, 1 << 30), offset + got);
          if (bytesRead === 0) throw new BoxedError('ModelFormat', `file ended at byte ${offset + got}, expected ${size} bytes`, { file: name });
          got += bytesRead;
        }
      } finally {
        await fh.close();
      }
      return out;
    },
  };
}

/** A FileProvider over a local folder (a downloaded hub repo). Only plain names inside the folder. */
export function dirProvider(dir: string): FileProvider {
  return {
    async open(name) {
      if (name.split('/').some((p) => p === '' || p === '.' || p === '..' || p.includes('\\'))) {
        throw new BoxedError('InvalidRequest', `file name "${name}" is not allowed`);
      }
      try {
        const s = await stat(join(dir, name));
        if (!s.isFile()) return null;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
      return fileSource(join(dir, name), name);
    },
  };
}

/** A FileProvider that offers one local .gguf file as the model (the loader's GGUF_FILE). */
export function ggufFileProvider(path: string): FileProvider {
  return {
    async open(name) {
      return name === GGUF_FILE ? fileSource(path, basename(path)) : null;
    },
  };
}
