import { aekitError, aekitErrorWithCause } from '@aekit/core/errors';
import { type HashIndex, parseHashIndex } from '@aekit/core/hashing';
import {
  EXPORTED_MODEL_FILE,
  graphFile,
  hasGraph,
  parseExportedModelText,
} from '@aekit/core/model';
import { reasonOf } from './devices.js';
import type { AutoencoderSource, LoadProgress, ModelBytes, ModelFiles } from './session.js';

/** The name of the optional metadata file beside the ONNX graphs. */
export const METADATA_FILE = EXPORTED_MODEL_FILE;

/** The Cache API cache that holds downloaded graphs (`LoadOptions.cache`). */
export const MODEL_CACHE = 'aekit-models-v1';

/** The query parameter that carries the version in a cache entry's URL. */
const VERSION_PARAM = 'aekit-cache-version';

/** How {@link fetchModelFiles} reports and caches. */
export interface FetchOptions {
  readonly onProgress?: (progress: LoadProgress) => void;
  /** Use the Cache API where there is one (default true). */
  readonly cache?: boolean;
  /** The version of the cached graphs (default: a hash of `aekit.json`). */
  readonly cacheKey?: string;
}

/**
 * The SHA-256 of a text (UTF-8) as hex: the version the cached graphs of an `aekit.json`
 * are stored under, so that a new export replaces them.
 */
export async function textDigest(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The Cache API cache of graphs, or undefined where there is none (Node, insecure
 * contexts) or it cannot be opened (storage disabled): caching is then skipped.
 */
async function openCache(): Promise<Cache | undefined> {
  const storage = (globalThis as { caches?: CacheStorage }).caches;
  if (!storage) return undefined;
  try {
    return await storage.open(MODEL_CACHE);
  } catch {
    return undefined;
  }
}

/** Progress across the files of one load. */
class Progress {
  #loaded = 0;
  #total: number | undefined = 0;
  readonly #report: ((p: LoadProgress) => void) | undefined;

  constructor(report: ((p: LoadProgress) => void) | undefined) {
    this.#report = report;
  }

  /** A file of `length` bytes (undefined: unknown) starts. */
  start(file: string, length: number | undefined, cached: boolean): void {
    this.#total =
      this.#total === undefined || length === undefined ? undefined : this.#total + length;
    this.add(file, 0, cached);
  }

  add(file: string, bytes: number, cached: boolean): void {
    this.#loaded += bytes;
    this.#report?.({ loaded: this.#loaded, total: this.#total, file, cached });
  }
}

/** Where graphs are read from and written to: the network, through the cache if any. */
interface Reader {
  readonly cache: Cache | undefined;
  readonly version: string | undefined;
  readonly progress: Progress;
}

/** Whether `source` holds the model bytes rather than naming a place. */
export function isModelBytes(source: AutoencoderSource): source is ModelBytes {
  return typeof source === 'object' && !(source instanceof URL) && source !== null;
}

function bytesOf(value: unknown, what: string, source: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw aekitError(
    'ModelLoadFailed',
    source,
    `"${what}" must be a Uint8Array or an ArrayBuffer holding the .onnx file, not ${value === undefined ? 'undefined' : typeof value}.`,
  );
}

/** The {@link ModelFiles} of a `{ encoder, decoder, autoencoder?, metadata? }` source. */
export function filesFromBytes(model: ModelBytes): ModelFiles {
  const source = 'model bytes';
  return {
    source,
    encoder: bytesOf(model.encoder, 'encoder', source),
    decoder: bytesOf(model.decoder, 'decoder', source),
    ...(model.autoencoder !== undefined
      ? { autoencoder: bytesOf(model.autoencoder, 'autoencoder', source) }
      : {}),
    ...(model.metadata !== undefined ? { metadata: model.metadata } : {}),
  };
}

/**
 * The folder URL of a model: `source` resolved against `base` (a page's URL in browsers),
 * with a trailing `/` so that file names resolve inside it.
 */
export function folderUrl(source: string | URL, base?: string): URL {
  let url: URL;
  try {
    url = new URL(source, base);
  } catch (err) {
    throw aekitErrorWithCause(
      err,
      'ModelLoadFailed',
      String(source),
      'it is not a URL (and there is no page URL to resolve it against).',
    );
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

const isHtml = (res: Response): boolean =>
  (res.headers.get('content-type') ?? '').toLowerCase().includes('text/html');

/** `fetchImpl(url)`, failing with an aekit error `code` about `source` when it rejects. */
async function fetchOrFail(
  fetchImpl: typeof fetch,
  url: URL,
  code: 'ModelLoadFailed' | 'InvalidHashIndex',
  source: string,
): Promise<Response> {
  try {
    return await fetchImpl(url);
  } catch (err) {
    throw aekitErrorWithCause(err, code, source, `fetching ${url.href} failed: ${reasonOf(err)}`);
  }
}

/**
 * GETs `file` inside `folder`. An optional file answers `undefined` when the server says
 * 404/410, or sends an HTML page instead (the fallback page of single-page-app servers).
 */
async function get(
  folder: URL,
  file: string,
  optional: boolean,
  fetchImpl: typeof fetch,
): Promise<Response | undefined> {
  const url = new URL(file, folder);
  const source = folder.href;
  const res = await fetchOrFail(fetchImpl, url, 'ModelLoadFailed', source);
  if (optional && (res.status === 404 || res.status === 410 || (res.ok && isHtml(res)))) {
    await res.body?.cancel();
    return undefined;
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw aekitError(
      'ModelLoadFailed',
      source,
      `GET ${url.href} answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}.`,
    );
  }
  if (isHtml(res)) {
    await res.body?.cancel();
    throw aekitError(
      'ModelLoadFailed',
      source,
      `GET ${url.href} answered with an HTML page, not an ONNX file (is the file missing and the server sending its index page?).`,
    );
  }
  return res;
}

/** Reads a response's body, reporting each chunk to `progress` as part of `file`. */
async function readBytes(
  res: Response,
  folder: URL,
  file = '',
  progress?: Progress,
  cached = false,
): Promise<Uint8Array> {
  try {
    const length = Number(res.headers.get('content-length') ?? Number.NaN);
    progress?.start(file, Number.isFinite(length) ? length : undefined, cached);
    if (!res.body || !progress) return new Uint8Array(await res.arrayBuffer());
    // Each chunk is counted on its way through; Response gathers them into one buffer.
    const counted = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          progress.add(file, chunk.length, cached);
          controller.enqueue(chunk);
        },
      }),
    );
    return new Uint8Array(await new Response(counted).arrayBuffer());
  } catch (err) {
    throw aekitErrorWithCause(
      err,
      'ModelLoadFailed',
      folder.href,
      `reading ${res.url || file} failed: ${reasonOf(err)}`,
    );
  }
}

/** The cache entry of `url` at `version`. */
const entryOf = (url: URL, version: string): string => {
  const key = new URL(url);
  key.searchParams.set(VERSION_PARAM, version);
  return key.href;
};

/**
 * The bytes of graph `file` in `folder`: from the cache when it holds this version, else
 * fetched (and then stored, replacing the file's other versions). Cache failures (quota,
 * storage off) only mean the file is fetched.
 */
async function getGraph(
  folder: URL,
  file: string,
  optional: boolean,
  fetchImpl: typeof fetch,
  reader: Reader,
): Promise<Uint8Array | undefined> {
  const url = new URL(file, folder);
  const { cache, version, progress } = reader;
  const entry = cache && version !== undefined ? entryOf(url, version) : undefined;
  if (cache && entry) {
    const hit = await cache.match(entry).catch(() => undefined);
    if (hit) return readBytes(hit, folder, file, progress, true);
  }
  const res = await get(folder, file, optional, fetchImpl);
  if (!res) return undefined;
  const bytes = await readBytes(res, folder, file, progress);
  if (cache && entry) {
    try {
      for (const old of await cache.keys()) {
        const oldUrl = new URL(old.url);
        oldUrl.searchParams.delete(VERSION_PARAM);
        if (oldUrl.href === url.href && old.url !== entry) await cache.delete(old);
      }
      const headers = {
        'content-type': 'application/octet-stream',
        'content-length': String(bytes.length),
      };
      await cache.put(entry, new Response(bytes as Uint8Array<ArrayBuffer>, { headers }));
    } catch {
      // not cached: the next load fetches it again
    }
  }
  return bytes;
}

/**
 * Fetches a model from the folder URL `folder`: `aekit.json` (optional) first, as it may
 * name the graph files, then `encoder.onnx` and `decoder.onnx`. `autoencoder.onnx` is
 * fetched on the first `reconstruct`, if the folder has one.
 */
export async function fetchModelFiles(
  folder: URL,
  fetchImpl: typeof fetch = globalThis.fetch,
  options: FetchOptions = {},
): Promise<ModelFiles> {
  const source = folder.href;
  const metaRes = await get(folder, METADATA_FILE, true, fetchImpl);
  const metaText = metaRes ? await metaRes.text() : undefined;
  const parsed = metaText !== undefined ? parseExportedModelText(metaText, source) : undefined;
  const cache =
    options.cache === false || (options.cacheKey === undefined && metaText === undefined)
      ? undefined
      : await openCache();
  // Every context with the Cache API is a secure one, and so has SubtleCrypto.
  const version = cache ? (options.cacheKey ?? (await textDigest(metaText!))) : undefined;
  const reader: Reader = {
    cache,
    version,
    progress: new Progress(options.onProgress),
  };
  // Both fetched at once; when both fail, the encoder's error is reported, whichever
  // answered first, so the message does not depend on timing.
  const settled = await Promise.allSettled(
    ['encoder', 'decoder'].map(async (role) => {
      return (await getGraph(folder, graphFile(parsed, role), false, fetchImpl, reader))!;
    }),
  );
  const [encoder, decoder] = settled.map((r) => {
    if (r.status === 'rejected') throw r.reason;
    return r.value;
  });
  const whole = hasGraph(parsed, 'autoencoder');
  return {
    source,
    encoder: encoder!,
    decoder: decoder!,
    ...(parsed !== undefined ? { metadata: parsed } : {}),
    ...(whole === false
      ? {}
      : {
          autoencoder: () =>
            getGraph(folder, graphFile(parsed, 'autoencoder'), !whole, fetchImpl, reader),
        }),
    // A classifier run's aekit.json lists classifier.onnx, fetched on the first classify.
    ...(hasGraph(parsed, 'classifier') === true
      ? {
          classifier: async () =>
            (await getGraph(folder, graphFile(parsed, 'classifier'), false, fetchImpl, reader))!,
        }
      : {}),
  };
}

/**
 * Fetches and parses a hash index written by `aekit hash`.
 *
 * @throws AekitError `InvalidHashIndex` when it cannot be fetched or read.
 */
export async function fetchHashIndex(
  url: URL,
  fetchImpl: typeof fetch = globalThis.fetch,
): Promise<HashIndex> {
  const res = await fetchOrFail(fetchImpl, url, 'InvalidHashIndex', url.href);
  if (!res.ok) {
    await res.body?.cancel();
    throw aekitError('InvalidHashIndex', url.href, `GET answered ${res.status} ${res.statusText}.`);
  }
  return parseHashIndex(new Uint8Array(await res.arrayBuffer()), url.href);
}
