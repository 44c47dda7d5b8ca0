/**
 * The HTTP side of `connectAutoencoder` against a scripted `fetch`: retries on 503 with
 * `Retry-After` (bounded, and only those), the timeout, the server's `{"error"}` carried in
 * the error, and `close()` aborting a request in flight. (`packages/cli/src/remote.e2e.test.ts`
 * checks the values against `aekit serve`.)
 */
import { isAekitError } from '@aekit/core/errors';
import { describe, expect, it } from 'vitest';
import { connectAutoencoder, type RemoteRequestError } from './remote.js';

const tensor = (name: string, size: number) => ({ name, datatype: 'FP32', shape: [-1, size] });
const METADATA: Record<string, unknown> = {
  '/v2/models/m-encoder': { inputs: [tensor('input', 2)], outputs: [tensor('codings', 1)] },
  '/v2/models/m-decoder': {
    inputs: [tensor('codings', 1)],
    outputs: [tensor('reconstruction', 2)],
  },
};
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers });

/** A `fetch` that answers metadata as above, and `infer` as `infer` says; counts infer calls. */
function scripted(infer: (call: number, init: RequestInit) => Response | Promise<Response>) {
  let calls = 0;
  const fetch = (async (url: string | URL, init: RequestInit = {}) => {
    const path = new URL(String(url)).pathname;
    if (path.endsWith('/infer')) return infer(calls++, init);
    if (path.endsWith('/sample')) return json(400, { error: 'model "m-decoder" cannot sample.' });
    return METADATA[path] ? json(200, METADATA[path]) : json(404, { error: `unknown ${path}` });
  }) as typeof globalThis.fetch;
  return { fetch, calls: () => calls };
}

const ANSWER = {
  outputs: [{ name: 'codings', shape: [1, 1], datatype: 'FP32', data: [0.5] }],
};
const BUSY = () => json(503, { error: 'the queue is full.' }, { 'Retry-After': '0' });

describe('connectAutoencoder over HTTP', () => {
  it('describes the model and checks shapes before sending', async () => {
    const server = scripted(() => json(200, ANSWER));
    const ae = await connectAutoencoder('http://host/', 'm', { fetch: server.fetch });
    expect(ae.info).toMatchObject({ inputShape: [2], codingShape: [1], capabilities: [] });
    expect(ae.info.source).toBe('http://host/v2/models/m');
    await expect(ae.encode([1, 2, 3])).rejects.toMatchObject({ code: 'InvalidInput' });
    expect(server.calls()).toBe(0);
    expect((await ae.encode([1, 2])).data).toEqual(new Float32Array([0.5]));
  });

  it('retries a 503 with Retry-After, at most `retries` times', async () => {
    const once = scripted((call) => (call === 0 ? BUSY() : json(200, ANSWER)));
    const ae = await connectAutoencoder('http://host', 'm', { fetch: once.fetch });
    expect((await ae.encode([1, 2])).shape).toEqual([1, 1]);
    expect(once.calls()).toBe(2);

    const always = scripted(BUSY);
    const busy = await connectAutoencoder('http://host', 'm', { fetch: always.fetch, retries: 3 });
    const err = (await busy.encode([1, 2]).catch((e: unknown) => e)) as RemoteRequestError;
    expect(isAekitError(err, 'RemoteRequestFailed')).toBe(true);
    expect(err.status).toBe(503);
    expect(err.message).toMatch(/answered 503: the queue is full/);
    expect(always.calls()).toBe(4);
  });

  it('does not retry a 503 without Retry-After, nor a 400', async () => {
    for (const answer of [
      () => json(503, { error: 'closing' }),
      () => json(400, { error: 'bad shape' }),
    ]) {
      const server = scripted(answer);
      const ae = await connectAutoencoder('http://host', 'm', { fetch: server.fetch });
      await expect(ae.encode([1, 2])).rejects.toMatchObject({ code: 'RemoteRequestFailed' });
      expect(server.calls()).toBe(1);
    }
  });

  it('gives up after timeoutMs with ServerUnreachable', async () => {
    const hang = (_: number, init: RequestInit) =>
      new Promise<Response>((_resolve, reject) =>
        init.signal!.addEventListener('abort', () => reject(init.signal!.reason)),
      );
    const server = scripted(hang);
    const ae = await connectAutoencoder('http://host', 'm', { fetch: server.fetch, timeoutMs: 50 });
    const err = (await ae.encode([1, 2]).catch((e: unknown) => e)) as Error;
    expect(isAekitError(err, 'ServerUnreachable')).toBe(true);
    expect(err.message).toMatch(/no answer within 50 ms/);

    // close() stops a request in flight: it rejects with ModelDisposed.
    const slow = await connectAutoencoder('http://host', 'm', { fetch: server.fetch });
    const pending = slow.encode([1, 2]);
    await slow.close();
    await expect(pending).rejects.toMatchObject({ code: 'ModelDisposed' });
  });
});
