import { AekitError, type AekitErrorName, aekitError } from '@aekit/core/errors';
import type { HashIndex, PackedCodes } from '@aekit/core/hashing';
import { proxy, type Remote, releaseProxy, wrap } from 'comlink';
import { sizeOf } from './input.js';
import { nearestIn } from './search.js';
import type {
  Autoencoder,
  AutoencoderInfo,
  AutoencoderInput,
  AutoencoderSource,
  ClassifyResult,
  EncodeResult,
  HashSearchSource,
  LoadOptions,
  LoadProgress,
  ModelBytes,
  NearestOptions,
  Neighbours,
  SampleOptions,
  SampleResult,
  TensorData,
} from './session.js';

/** One call the worker runs on a model. */
export type WorkerCall =
  | {
      readonly method: 'encode' | 'decode' | 'reconstruct' | 'hash' | 'classify';
      readonly input: AutoencoderInput;
    }
  | { readonly method: 'sample'; readonly n: number; readonly options?: SampleOptions };

/** An error as it crosses from the worker: plain data. */
export interface WorkerError {
  readonly name: string;
  readonly message: string;
  readonly code?: string | undefined;
  readonly title?: string | undefined;
  readonly hint?: string | undefined;
}

/** What `worker.ts` exposes. */
export interface WorkerApi {
  load(
    source: string | ModelBytes,
    options: LoadOptions,
    onProgress?: (p: LoadProgress) => void,
  ): Promise<{ id: number; info: AutoencoderInfo }>;
  call(id: number, call: WorkerCall): Promise<unknown>;
  dispose(id: number): Promise<void>;
}

/** The error the page throws for one from the worker: an AekitError again when it was one. */
function rebuild(err: unknown): Error {
  const e = err as Partial<WorkerError> | undefined;
  if (e && typeof e === 'object' && typeof e.message === 'string') {
    if (e.name === 'AekitError' && e.code) {
      return new AekitError(e.code as AekitErrorName, e.message, e.title ?? '', e.hint ?? '');
    }
    const out = new Error(e.message);
    out.name = e.name ?? 'Error';
    return out;
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** The worker module of this package (bundlers see the `new URL(…, import.meta.url)`). */
function startWorker(url: true | string | URL): Worker {
  if (url === true) {
    return new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  }
  return new Worker(url, { type: 'module' });
}

/** A worker the page's models share, with the models loaded or loading there. */
interface SharedWorker {
  readonly worker: Worker;
  readonly remote: Remote<WorkerApi>;
  users: number;
}

/**
 * The page's workers by script (`true`: this package's worker.js): every model loaded with
 * the same `worker` option runs in the same one, on one ONNX Runtime instance. A worker per
 * model would compile and hold onnxruntime-web's WebAssembly (14 MB) once per model, and the
 * models of one page run one call at a time anyway.
 */
const shared = new Map<true | string, SharedWorker>();

/** The shared worker for `which`, started on first use; each user must call `leave`. */
function join(which: true | string | URL): SharedWorker {
  const key = which === true ? true : String(which);
  let entry = shared.get(key);
  if (!entry) {
    const worker = startWorker(which);
    entry = { worker, remote: wrap<WorkerApi>(worker), users: 0 };
    shared.set(key, entry);
  }
  entry.users++;
  return entry;
}

/** One user fewer; the last one ends the worker. */
function leave(entry: SharedWorker): void {
  entry.users--;
  if (entry.users > 0) return;
  for (const [key, value] of shared) if (value === entry) shared.delete(key);
  entry.remote[releaseProxy]();
  entry.worker.terminate();
}

/**
 * An {@link Autoencoder} whose sessions run in a Web Worker, shared with the page's other
 * models loaded the same way; the last `dispose()` ends the worker. Options without
 * functions go to the worker as they are.
 */
export async function loadInWorker(
  source: AutoencoderSource,
  options: LoadOptions,
): Promise<Autoencoder> {
  const { worker: which = true, onProgress, ...rest } = options;
  if (which === false) throw new Error('loadInWorker needs a worker');
  const base = globalThis.document?.baseURI ?? globalThis.location?.href;
  const where =
    typeof source === 'string' || source instanceof URL ? new URL(source, base).href : source;
  const entry = join(which);
  const { worker, remote } = entry;
  // A worker script that cannot load (a 404, a syntax error, bare imports it cannot
  // resolve) only fires `error` on the worker: comlink would wait for an answer forever.
  let onError: (e: Event) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => {
    onError = (e: Event) => {
      const message = (e as ErrorEvent).message || 'the script failed to load or threw';
      reject(
        aekitError(
          'ModelLoadFailed',
          typeof where === 'string' ? where : 'model bytes',
          `the Web Worker ${which === true ? '(worker.js)' : String(which)} failed: ${message}.`,
        ),
      );
    };
    worker.addEventListener('error', onError);
  });
  let loaded: { id: number; info: AutoencoderInfo };
  try {
    loaded = await Promise.race([
      remote.load(where, rest, onProgress ? proxy(onProgress) : undefined),
      failed,
    ]);
  } catch (err) {
    leave(entry);
    throw rebuild(err);
  } finally {
    worker.removeEventListener('error', onError);
  }
  return new WorkerAutoencoder(remote, loaded.id, loaded.info, () => leave(entry));
}

/** The page's side of a model in a worker: each call is one message there and back. */
class WorkerAutoencoder implements Autoencoder {
  readonly info: AutoencoderInfo;
  readonly #remote: Remote<WorkerApi>;
  readonly #id: number;
  readonly #end: () => void;
  #disposed = false;

  constructor(remote: Remote<WorkerApi>, id: number, info: AutoencoderInfo, end: () => void) {
    this.#remote = remote;
    this.#id = id;
    this.info = Object.freeze({ ...info, worker: true });
    this.#end = end;
  }

  async #call<T>(call: WorkerCall): Promise<T> {
    if (this.#disposed) {
      throw aekitError('ModelDisposed', `An autoencoder loaded from "${this.info.source}"`);
    }
    try {
      return (await this.#remote.call(this.#id, call)) as T;
    } catch (err) {
      throw rebuild(err);
    }
  }

  encode(x: AutoencoderInput): Promise<EncodeResult> {
    return this.#call({ method: 'encode', input: x });
  }

  decode(z: AutoencoderInput): Promise<TensorData> {
    return this.#call({ method: 'decode', input: z });
  }

  reconstruct(x: AutoencoderInput): Promise<TensorData> {
    return this.#call({ method: 'reconstruct', input: x });
  }

  sample(n: number, options?: SampleOptions): Promise<SampleResult> {
    return this.#call({ method: 'sample', n, ...(options ? { options } : {}) });
  }

  hash(x: AutoencoderInput): Promise<PackedCodes> {
    return this.#call({ method: 'hash', input: x });
  }

  classify(x: AutoencoderInput): Promise<ClassifyResult> {
    return this.#call({ method: 'classify', input: x });
  }

  /** Hashes in the worker; the index (in memory or a database) is searched on the page. */
  nearest(
    x: AutoencoderInput,
    index: HashIndex | HashSearchSource,
    options: NearestOptions,
  ): Promise<Neighbours[]> {
    return nearestIn(index, options, sizeOf(this.info.codingShape), () => this.hash(x));
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    try {
      await this.#remote.dispose(this.#id);
    } catch {
      // the worker is gone, or ends with its last model
    }
    this.#end();
  }
}
