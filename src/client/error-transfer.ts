// How errors cross the worker boundary. Comlink's built-in 'throw' handler keeps only message, name
// and stack, so a BoxedError would arrive without its file and detail. This replaces that handler with
// one that sends ErrorInfo (toErrorInfo: BoxedError as is, anything else as 'Internal') and rebuilds a
// BoxedError on the other side. Both ends must register it: the worker (src/worker/engine.worker.ts)
// and the main thread (src/client/engine-client.ts). It lives here, next to the client, because it is
// part of the client/worker wire format; the worker imports it and nothing else from src/client.
import * as Comlink from 'comlink';
import { BoxedError, toErrorInfo, type ErrorInfo } from '../protocol/errors';

/** What travels through postMessage for a thrown value. */
export interface SerializedThrow {
  info: ErrorInfo;
  stack?: string;
}

/** Comlink wraps a thrown value as { value, [throwMarker]: 0 }; the marker is a private symbol. */
interface ThrownWrapper {
  value: unknown;
}

function isThrown(v: unknown): v is ThrownWrapper {
  if (typeof v !== 'object' || v === null) return false;
  return Object.getOwnPropertySymbols(v).some((s) => s.description === 'Comlink.thrown');
}

export const errorTransferHandler: Comlink.TransferHandler<ThrownWrapper, SerializedThrow> = {
  canHandle: isThrown,
  serialize({ value }) {
    const info = toErrorInfo(value);
    // detail must be structured-cloneable plain data; drop anything else rather than fail the post
    if (info.detail) info.detail = Object.fromEntries(Object.entries(info.detail).filter(([, v]) => ['string', 'number', 'boolean'].includes(typeof v)));
    const stack = value instanceof Error ? value.stack : undefined;
    return [{ info: { ...info }, stack }, []];
  },
  deserialize(s) {
    const e = BoxedError.fromInfo(s.info);
    if (s.stack) e.stack = s.stack;
    throw e;
  },
};

let registered = false;

/** Installs the handler in this realm (idempotent). Call once on each side before any call crosses. */
export function registerErrorTransfer(): void {
  if (registered) return;
  Comlink.transferHandlers.set('throw', errorTransferHandler as Comlink.TransferHandler<unknown, unknown>);
  registered = true;
}
