// For the loader's tests: the BoxedError a promise rejects with (failing the test when it resolves, or
// rejects with anything else).
import { expect } from 'vitest';
import { BoxedError } from '../protocol/errors';

export async function boxedError(p: Promise<unknown>): Promise<BoxedError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(BoxedError);
    return e as BoxedError;
  }
  throw new Error('expected a BoxedError');
}
