import { AekitError } from '@aekit/core/errors';
import { describe, expect, it } from 'vitest';
import { fetchModelFiles } from './model-source.js';

describe('fetchModelFiles', () => {
  it('reports the encoder when both graphs are missing, even if the decoder answers first', async () => {
    // A server where every file is missing, and the encoder's 404 arrives last.
    const slowEncoder: typeof fetch = async (input) => {
      const url = String(input);
      if (url.endsWith('encoder.onnx')) await new Promise((r) => setTimeout(r, 50));
      return new Response('not found', { status: 404, statusText: 'Not Found' });
    };
    const err = await fetchModelFiles(new URL('http://models.test/none/'), slowEncoder).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AekitError);
    expect((err as AekitError).code).toBe('ModelLoadFailed');
    expect((err as AekitError).message).toMatch(/encoder\.onnx answered 404/);
  });
});
