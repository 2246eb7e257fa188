// Where the model cache keeps its bytes: one interface over the browser's Origin Private File System
// (opfs-store.ts, written through sync access handles in the worker) and a folder on disk (the CLI's
// src/cli/folder-store.ts). Paths are '/'-joined segments of the characters cacheSegment() produces.
//
// Layout (model-cache.ts owns it):
//   <endpoint>/<owner>/<name>/refs/<revision>          the commit a branch or tag last resolved to
//   <endpoint>/<owner>/<name>/<commit>/manifest.json   files, sizes, hashes, complete/verified, dates
//   <endpoint>/<owner>/<name>/<commit>/files/<file>    a complete, verified file
//   .../files/<file>.partial (+ .partial.json)         a download in progress (never read as a model file)
import type { ByteSource } from './source';

export interface CacheWriter {
  /** The file's current length in bytes. */
  size(): Promise<number>;
  /** Writes all of `bytes` at byte `at`. */
  write(bytes: Uint8Array, at: number): Promise<void>;
  /** Reads up to `length` bytes at `at` (what was written so far). */
  read(at: number, length: number): Promise<Uint8Array>;
  truncate(length: number): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface CacheEstimate {
  /** bytes this origin (or cache folder) uses */
  usage: number;
  /** bytes it may use in all */
  quota: number;
}

export interface CacheStore {
  /** 'opfs' or 'folder', for messages */
  readonly kind: string;
  readText(path: string): Promise<string | null>;
  /** Replaces the whole file (small JSON side files). */
  writeText(path: string, text: string): Promise<void>;
  /** Opens (creating it and its folders) a file for positioned writes. */
  openWriter(path: string): Promise<CacheWriter>;
  /** A ByteSource over a file, or null when there is none. */
  openReader(path: string, name: string): Promise<ByteSource | null>;
  /** Byte length of a file, or null when there is none. */
  sizeOf(path: string): Promise<number | null>;
  /** Renames a file within its folder (a finished download becomes the file). */
  rename(path: string, newName: string): Promise<void>;
  /** Deletes a file or a folder with everything in it; nothing there is fine. */
  remove(path: string): Promise<void>;
  /** The names directly inside a folder ([] when there is no such folder). */
  list(path: string): Promise<string[]>;
  estimate(): Promise<CacheEstimate | null>;
}

/**
 * A name as one safe, reversible path segment: letters, digits, '.' and '-' stay; every other character
 * becomes '_' + two hex digits per UTF-8 byte. 'http://127.0.0.1:8080' -> 'http_3A_2F_2F127.0.0.1_3A8080'.
 */
export function cacheSegment(name: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(name)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9.-]/.test(c) && byte < 0x80 ? c : `_${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  // '.' and '..' are not names a file system keeps
  return out === '.' || out === '..' ? out.replace(/\./g, '_2E') : out;
}

/** The inverse of cacheSegment. */
export function fromCacheSegment(seg: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < seg.length; i++) {
    if (seg[i] === '_') {
      bytes.push(parseInt(seg.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(seg.charCodeAt(i));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** Splits and checks a store path: no empty, '.' or '..' segments, no separators inside one. */
export function pathSegments(path: string): string[] {
  const segs = path.split('/');
  if (segs.some((s) => s === '' || s === '.' || s === '..' || s.includes('\\'))) throw new Error(`bad cache path "${path}"`);
  return segs;
}
