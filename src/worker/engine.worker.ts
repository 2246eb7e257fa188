// The engine's home: a dedicated module worker that exposes createEngine(navigator.gpu) through
// comlink. Hub models are kept in the Origin Private File System (written with sync access handles, which
// only a worker has); where the browser has none, downloads stay in memory. Errors cross back as BoxedError
// with name, file and detail (see client/error-transfer.ts).
import * as Comlink from 'comlink';
import { createEngine } from '../engine/engine';
import { registerErrorTransfer } from '../client/error-transfer';
import { openOpfsStore } from '../loader/opfs-store';

registerErrorTransfer();
Comlink.expose(createEngine(navigator.gpu, { cache: openOpfsStore }));
