// Errors across a real comlink channel (Node's MessageChannel): a BoxedError thrown on the far side
// arrives as a BoxedError with its name, file and detail; other errors arrive as 'Internal'.
import * as Comlink from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import { BoxedError } from '../protocol/errors';
import { errorTransferHandler, registerErrorTransfer } from './error-transfer';

interface Thrower {
  boxed(): Promise<void>;
  plain(): Promise<void>;
  value(): Promise<void>;
  ok(x: number): Promise<number>;
}

const ports: MessagePort[] = [];
afterEach(() => {
  for (const p of ports.splice(0)) p.close();
});

function connect(): Comlink.Remote<Thrower> {
  registerErrorTransfer();
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  const target: Thrower = {
    boxed: async () => {
      throw new BoxedError('OutOfMemory', 'KV cache does not fit', { file: 'model.safetensors', detail: { neededBytes: 123456789, availableBytes: 1000, exact: true, hint: 'lower context' } });
    },
    plain: async () => {
      throw new TypeError('x is not a function');
    },
    value: async () => {
      throw 'a bare string';
    },
    ok: async (x) => x * 2,
  };
  Comlink.expose(target, port1);
  return Comlink.wrap<Thrower>(port2);
}

describe('error transfer over comlink', () => {
  it('rebuilds a BoxedError with name, file and detail', async () => {
    const remote = connect();
    const err = await remote.boxed().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BoxedError);
    const b = err as BoxedError;
    expect(b.name).toBe('OutOfMemory');
    expect(b.file).toBe('model.safetensors');
    expect(b.message).toBe('model.safetensors: KV cache does not fit');
    expect(b.detail).toEqual({ neededBytes: 123456789, availableBytes: 1000, exact: true, hint: 'lower context' });
    expect(b.toInfo()).toEqual({ name: 'OutOfMemory', message: 'model.safetensors: KV cache does not fit', file: 'model.safetensors', detail: { neededBytes: 123456789, availableBytes: 1000, exact: true, hint: 'lower context' } });
  });

  it('turns other errors and thrown values into Internal, keeping the message', async () => {
    const remote = connect();
    const a = await remote.plain().catch((e: unknown) => e);
    expect(a).toBeInstanceOf(BoxedError);
    expect((a as BoxedError).name).toBe('Internal');
    expect((a as BoxedError).message).toBe('x is not a function');
    const b = await remote.value().catch((e: unknown) => e);
    expect((b as BoxedError).name).toBe('Internal');
    expect((b as BoxedError).message).toBe('a bare string');
    expect(await remote.ok(21)).toBe(42);
  });

  it('is the registered throw handler and only handles thrown wrappers', () => {
    registerErrorTransfer();
    expect(Comlink.transferHandlers.get('throw')).toBe(errorTransferHandler);
    expect(errorTransferHandler.canHandle(new Error('not wrapped'))).toBe(false);
    expect(errorTransferHandler.canHandle({ value: 1 })).toBe(false);
    const [wire] = errorTransferHandler.serialize({ value: new BoxedError('DeviceLost', 'gone', { detail: { reason: 'unknown' } }) });
    expect(wire.info).toEqual({ name: 'DeviceLost', message: 'gone', file: undefined, detail: { reason: 'unknown' } });
    expect(structuredClone(wire)).toEqual(wire);
  });
});
