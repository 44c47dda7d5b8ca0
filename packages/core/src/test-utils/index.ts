import { expect } from 'vitest';
import { AekitError, type AekitErrorName } from '../errors.js';

/** Runs `fn`, expects it to throw the aekit error `code`, and returns that error. */
export function expectCode(fn: () => unknown, code: AekitErrorName): AekitError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AekitError);
    expect((err as AekitError).code).toBe(code);
    return err as AekitError;
  }
  throw new Error('expected the call to throw');
}
