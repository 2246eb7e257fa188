// The history in IndexedDB (through idb): one object store of HistoryEntry keyed by id, with an index
// on createdAt. Writes are whole entries; a running answer is re-written as it grows.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { BoxedError } from '../protocol/errors';
import type { HistoryEntry } from './history';

interface HistorySchema extends DBSchema {
  entries: { key: string; value: HistoryEntry; indexes: { createdAt: number } };
}

export interface HistoryDb {
  list(): Promise<HistoryEntry[]>;
  put(entry: HistoryEntry): Promise<void>;
  delete(id: string): Promise<void>;
}

const DB_NAME = 'boxed-history';

function asBoxed(e: unknown): BoxedError {
  if (e instanceof DOMException && e.name === 'QuotaExceededError') return new BoxedError('Quota', 'The browser storage is full; delete old history entries.', { cause: e });
  return new BoxedError('Internal', `History storage failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}

export async function openHistoryDb(): Promise<HistoryDb> {
  if (typeof indexedDB === 'undefined') throw new BoxedError('Internal', 'IndexedDB is not available.');
  let db: IDBPDatabase<HistorySchema>;
  try {
    db = await openDB<HistorySchema>(DB_NAME, 1, {
      upgrade(d) {
        const store = d.createObjectStore('entries', { keyPath: 'id' });
        store.createIndex('createdAt', 'createdAt');
      },
    });
  } catch (e) {
    throw asBoxed(e);
  }
  const guard = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      throw asBoxed(e);
    }
  };
  return {
    list: () => guard(async () => (await db.getAllFromIndex('entries', 'createdAt')).reverse()),
    put: (entry) => guard(async () => void (await db.put('entries', entry))),
    delete: (id) => guard(() => db.delete('entries', id)),
  };
}
