// The engine's home: a dedicated module worker that exposes createEngine(navigator.gpu) through
// comlink. Errors cross back as BoxedError with name, file and detail (see client/error-transfer.ts).
import * as Comlink from 'comlink';
import { createEngine } from '../engine/engine';
import { registerErrorTransfer } from '../client/error-transfer';

registerErrorTransfer();
Comlink.expose(createEngine(navigator.gpu));
