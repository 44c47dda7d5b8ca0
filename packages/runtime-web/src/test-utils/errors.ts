import { AekitError } from '@aekit/core/errors';
import { expect } from 'vitest';

/** Awaits `promise`, expects it to reject with the aekit error `code`, and returns the error. */
export async function expectRejection(
  promise: Promise<unknown>,
  code: string,
): Promise<AekitError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AekitError);
  expect((err as AekitError).code).toBe(code);
  return err as AekitError;
}
