/**
 * The Web Worker that runs a page's models when it loads them with `{ worker: true }`:
 * `loadAutoencoder` of the browser entry, exposed over comlink. Results come back with
 * their typed arrays transferred, not copied. Errors cross as plain data (comlink keeps
 * only an Error's message) and are rebuilt on the page with their aekit code.
 *
 * @packageDocumentation
 */
import { expose, type Remote, releaseProxy, transfer } from 'comlink';
import { loadAutoencoder } from './browser.js';
import type { Autoencoder, LoadProgress } from './session.js';
import type { WorkerApi, WorkerCall, WorkerError } from './worker-client.js';

/** The models of this worker, with the page's progress callback of each. */
const models = new Map<number, { ae: Autoencoder; onProgress?: Remote<unknown> | undefined }>();
let nextId = 1;

/** The typed arrays of a result, to transfer (each only once, and only whole buffers). */
function buffersOf(value: unknown, found = new Set<ArrayBuffer>()): ArrayBuffer[] {
  if (ArrayBuffer.isView(value)) {
    const { buffer } = value;
    if (
      buffer instanceof ArrayBuffer &&
      value.byteOffset === 0 &&
      value.byteLength === buffer.byteLength
    ) {
      found.add(buffer);
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) buffersOf(v, found);
  }
  return [...found];
}

/** An error as plain data, keeping what the page needs to rebuild it. */
function plainError(err: unknown): WorkerError {
  if (err instanceof Error) {
    const { code, title, hint } = err as Error & Partial<Record<'code' | 'title' | 'hint', string>>;
    return { name: err.name, message: err.message, code, title, hint };
  }
  return { name: 'Error', message: String(err) };
}

async function guard<T>(task: () => Promise<T>): Promise<T> {
  try {
    const result = await task();
    return transfer(result, buffersOf(result));
  } catch (err) {
    throw plainError(err);
  }
}

function model(id: number): Autoencoder {
  const entry = models.get(id);
  if (!entry) throw new Error(`no model ${id} in this worker`);
  return entry.ae;
}

const api: WorkerApi = {
  load: (source, options, onProgress) =>
    guard(async () => {
      // Called for graphs fetched later too (autoencoder.onnx on the first reconstruct);
      // its port is let go when the model is disposed. A failed report never fails a load.
      const report = onProgress
        ? (p: LoadProgress) => {
            try {
              void Promise.resolve(onProgress(p)).catch(() => undefined);
            } catch {
              // the page's side is gone
            }
          }
        : undefined;
      const ae = await loadAutoencoder(source, {
        ...options,
        worker: false,
        ...(report ? { onProgress: report } : {}),
      });
      const id = nextId++;
      models.set(id, { ae, onProgress: onProgress as Remote<unknown> | undefined });
      return { id, info: ae.info };
    }),
  call: (id, call: WorkerCall) =>
    guard(async (): Promise<unknown> => {
      const ae = model(id);
      switch (call.method) {
        case 'encode':
        case 'decode':
        case 'reconstruct':
        case 'hash':
        case 'classify':
          return ae[call.method](call.input);
        case 'sample':
          return ae.sample(call.n, call.options);
      }
    }),
  dispose: (id) =>
    guard(async () => {
      const entry = models.get(id);
      models.delete(id);
      entry?.onProgress?.[releaseProxy]();
      await entry?.ae.dispose();
    }),
};

expose(api);
