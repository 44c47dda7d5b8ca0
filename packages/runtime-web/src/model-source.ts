import { aekitError, aekitErrorWithCause } from '@aekit/core/errors';
import { type HashIndex, parseHashIndex } from '@aekit/core/hashing';
import {
  EXPORTED_MODEL_FILE,
  graphFile,
  hasGraph,
  parseExportedModelText,
} from '@aekit/core/model';
import { reasonOf } from './devices.js';
import type { AutoencoderSource, ModelBytes, ModelFiles } from './session.js';

/** The name of the optional metadata file beside the ONNX graphs. */
export const METADATA_FILE = EXPORTED_MODEL_FILE;

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

async function readBytes(res: Response, folder: URL): Promise<Uint8Array> {
  try {
    return new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    throw aekitErrorWithCause(
      err,
      'ModelLoadFailed',
      folder.href,
      `reading ${res.url} failed: ${reasonOf(err)}`,
    );
  }
}

/**
 * Fetches a model from the folder URL `folder`: `aekit.json` (optional) first, as it may
 * name the graph files, then `encoder.onnx` and `decoder.onnx`. `autoencoder.onnx` is
 * fetched on the first `reconstruct`, if the folder has one.
 */
export async function fetchModelFiles(
  folder: URL,
  fetchImpl: typeof fetch = globalThis.fetch,
): Promise<ModelFiles> {
  const source = folder.href;
  const metaRes = await get(folder, METADATA_FILE, true, fetchImpl);
  const parsed = metaRes ? parseExportedModelText(await metaRes.text(), source) : undefined;
  // Both fetched at once; when both fail, the encoder's error is reported, whichever
  // answered first, so the message does not depend on timing.
  const settled = await Promise.allSettled(
    ['encoder', 'decoder'].map(async (role) => {
      const res = (await get(folder, graphFile(parsed, role), false, fetchImpl))!;
      return readBytes(res, folder);
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
          autoencoder: async () => {
            const res = await get(folder, graphFile(parsed, 'autoencoder'), !whole, fetchImpl);
            return res ? readBytes(res, folder) : undefined;
          },
        }),
    // A classifier run's aekit.json lists classifier.onnx, fetched on the first classify.
    ...(hasGraph(parsed, 'classifier') === true
      ? {
          classifier: async () => {
            const res = await get(folder, graphFile(parsed, 'classifier'), false, fetchImpl);
            return readBytes(res!, folder);
          },
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
