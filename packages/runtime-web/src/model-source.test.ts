import { AekitError } from '@aekit/core/errors';
import { describe, expect, it } from 'vitest';
import { fetchModelFiles, textDigest } from './model-source.js';
import type { LoadProgress } from './session.js';

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

  it('reports progress across both graphs from their Content-Length, without a Cache API', async () => {
    // Node has no `caches`: the graphs are fetched and nothing is cached, silently.
    expect((globalThis as { caches?: unknown }).caches).toBeUndefined();
    const sizes: Record<string, number> = { 'encoder.onnx': 3000, 'decoder.onnx': 5000 };
    const server: typeof fetch = async (input) => {
      const file = String(input).split('/').pop()!;
      const size = sizes[file];
      if (size === undefined) return new Response('not found', { status: 404 });
      // two chunks, as a network would deliver them
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new Uint8Array(size - 1000).fill(1));
          c.enqueue(new Uint8Array(1000).fill(2));
          c.close();
        },
      });
      return new Response(body, { headers: { 'content-length': String(size) } });
    };
    const seen: LoadProgress[] = [];
    const files = await fetchModelFiles(new URL('http://models.test/m/'), server, {
      onProgress: (p) => seen.push(p),
    });
    expect(files.encoder.length).toBe(3000);
    expect(files.decoder[4999]).toBe(2);
    expect(seen.at(-1)).toEqual({
      loaded: 8000,
      total: 8000,
      file: seen.at(-1)!.file,
      cached: false,
    });
    // loaded only grows, and never passes the total known at the time
    for (const [i, p] of seen.entries()) {
      expect(p.loaded).toBeGreaterThanOrEqual(seen[i - 1]?.loaded ?? 0);
      expect(p.loaded).toBeLessThanOrEqual(p.total!);
    }
  });

  it('tags cache versions by the SHA-256 of the text of aekit.json', async () => {
    // FIPS 180-2's test vector for "abc".
    expect(await textDigest('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(await textDigest('a')).not.toBe(await textDigest('b'));
  });
});
