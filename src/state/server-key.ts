// API keys for OpenAI-compatible servers, one per server endpoint, kept only in this browser's localStorage
// under their own key: never in the settings object, the history or a link. The controller adds the key to a
// server load, and the server engine sends it (Authorization: Bearer) only to that endpoint.
import type { TokenStorage } from './hub-token';

const PREFIX = 'boxed-server-key:';

const keyFor = (endpoint: string) => PREFIX + endpoint.trim().replace(/\/+$/, '');

export function readServerKey(storage: Pick<TokenStorage, 'getItem'>, endpoint: string): string | undefined {
  return storage.getItem(keyFor(endpoint)) ?? undefined;
}

/** Saves a key (trimmed); an empty one forgets it. Returns false for text that cannot be a key. */
export function saveServerKey(storage: TokenStorage, endpoint: string, key: string): boolean {
  const k = key.trim();
  if (k === '') {
    storage.removeItem(keyFor(endpoint));
    return true;
  }
  if (!/^[\x21-\x7e]{1,4096}$/.test(k)) return false;
  storage.setItem(keyFor(endpoint), k);
  return true;
}
