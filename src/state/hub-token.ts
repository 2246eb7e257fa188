// Hugging Face access tokens, one per hub endpoint, kept only in this browser's localStorage under their own
// key: never in the settings object, the history or a link. The controller adds the token to hub loads, and
// the engine sends it only to that endpoint.
const PREFIX = 'boxed-hub-token:';

export interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const keyFor = (endpoint: string) => PREFIX + endpoint.replace(/\/+$/, '');

export function readHubToken(storage: TokenStorage, endpoint: string): string | undefined {
  return storage.getItem(keyFor(endpoint)) ?? undefined;
}

/** Saves a token (trimmed); an empty one forgets it. Returns false for text that cannot be a token. */
export function saveHubToken(storage: TokenStorage, endpoint: string, token: string): boolean {
  const t = token.trim();
  if (t === '') {
    storage.removeItem(keyFor(endpoint));
    return true;
  }
  if (!/^[\x21-\x7e]{8,512}$/.test(t)) return false;
  storage.setItem(keyFor(endpoint), t);
  return true;
}
