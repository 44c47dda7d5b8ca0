/**
 * `@aekit/runtime-web` for browsers: runs aekit's exported autoencoders (or any ONNX
 * encoder/decoder pair) with onnxruntime-web, on WebAssembly or WebGPU. Models load from a
 * base URL or from bytes; the API is the Node entry's.
 *
 * Each device loads its own onnxruntime-web build on first use, so a page downloads one
 * `.wasm` file: `onnxruntime-web/wasm` (`ort-wasm-simd-threaded.wasm`) for `'wasm'`,
 * `onnxruntime-web/webgpu` (`ort-wasm-simd-threaded.asyncify.wasm`) for `'webgpu'`. Both
 * find their `.wasm` beside their own module (`new URL(…, import.meta.url)`), which Vite
 * and other bundlers emit as assets; `wasmPaths` points them elsewhere.
 *
 * @example
 * ```ts
 * import { loadAutoencoder } from '@aekit/runtime-web';
 * const ae = await loadAutoencoder('/models/digits/');
 * const { data, shape } = await ae.reconstruct(new Float32Array(784));
 * ```
 *
 * @packageDocumentation
 */
import { type HashIndex, parseHashIndex } from '@aekit/core/hashing';
import { loadWithPlatform } from './autoencoder.js';
import { AUTO_DEVICE, checkDeviceName, DeviceFailure, reasonOf, WEB_DEVICES } from './devices.js';
import {
  fetchHashIndex,
  fetchModelFiles,
  filesFromBytes,
  folderUrl,
  isModelBytes,
} from './model-source.js';
import { importOnce } from './ort-import.js';
import { createQueue } from './queue.js';
import type {
  Autoencoder,
  AutoencoderSource,
  LoadOptions,
  OrtModule,
  RuntimePlatform,
} from './session.js';

export * from './shared-exports.js';

/** The devices of this platform (onnxruntime-web) and their execution providers. */
export const DEVICES = WEB_DEVICES;

const cannotLoad = (err: unknown) => `onnxruntime-web cannot be loaded: ${reasonOf(err)}`;

/** The onnxruntime-web build each device runs on, imported on first use. */
const builds: Readonly<Record<string, (device: string) => Promise<OrtModule>>> = Object.freeze({
  wasm: importOnce(() => import('onnxruntime-web/wasm'), cannotLoad),
  webgpu: importOnce(() => import('onnxruntime-web/webgpu'), cannotLoad),
});

interface GpuLike {
  requestAdapter(): Promise<unknown>;
}

/** Throws a {@link DeviceFailure} unless this page has a WebGPU adapter. */
async function checkWebGpu(): Promise<void> {
  const gpu = (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu;
  if (!gpu) {
    throw new DeviceFailure(
      'webgpu',
      'navigator.gpu is missing: this browser has no WebGPU, or the page is not in a secure context (https or localhost).',
    );
  }
  const adapter = await gpu.requestAdapter().catch(() => null);
  if (!adapter)
    throw new DeviceFailure('webgpu', 'navigator.gpu.requestAdapter() found no adapter.');
}

async function ortFor(device: string, options: LoadOptions): Promise<OrtModule> {
  if (device === 'webgpu') await checkWebGpu();
  const module = await builds[device]!(device);
  // Read when a build creates its first session; later values are ignored by onnxruntime-web.
  if (options.wasmPaths !== undefined) module.env.wasm.wasmPaths = options.wasmPaths;
  if (options.numThreads !== undefined) module.env.wasm.numThreads = options.numThreads;
  return module;
}

/** The browser platform: `'auto'` = WebGPU when there is an adapter, else wasm; one run queue. */
const webPlatform: RuntimePlatform = Object.freeze({
  devices: WEB_DEVICES,
  autoOrder: Object.freeze(['webgpu', 'wasm']),
  ortFor,
  enqueue: createQueue(),
});

/**
 * Loads an autoencoder and opens its ONNX Runtime sessions (once; every call reuses them).
 *
 * @param source - the base URL of a folder holding `encoder.onnx` and `decoder.onnx` (and
 *   optionally `autoencoder.onnx`, fetched on the first `reconstruct`, and `aekit.json`),
 *   relative to the page or absolute; or `{ encoder, decoder, autoencoder?, metadata? }`
 *   with the bytes.
 * @param options - `device`: `'auto'` (default: `'webgpu'` when the browser has an adapter,
 *   else `'wasm'`), `'wasm'` or `'webgpu'`; `wasmPaths`, `numThreads` for onnxruntime-web.
 * @returns the loaded {@link Autoencoder}; call `dispose()` when done.
 * @throws AekitError `ModelLoadFailed` (files missing or unreadable), `UnknownDevice`,
 *   `DeviceUnavailable` (naming the devices that work here).
 */
export async function loadAutoencoder(
  source: AutoencoderSource,
  options: LoadOptions = {},
): Promise<Autoencoder> {
  checkDeviceName(options.device ?? AUTO_DEVICE, WEB_DEVICES);
  const files = isModelBytes(source)
    ? filesFromBytes(source)
    : await fetchModelFiles(
        folderUrl(source, globalThis.document?.baseURI ?? globalThis.location?.href),
      );
  return loadWithPlatform(webPlatform, files, options);
}

/**
 * Loads a hash index written by `aekit hash` (for {@link Autoencoder.nearest}): from a URL,
 * relative to the page or absolute, or from its bytes.
 *
 * @throws AekitError `InvalidHashIndex` when it cannot be fetched or read.
 */
export async function loadHashIndex(source: string | URL | Uint8Array): Promise<HashIndex> {
  if (source instanceof Uint8Array) return parseHashIndex(source);
  const base = globalThis.document?.baseURI ?? globalThis.location?.href;
  return fetchHashIndex(new URL(String(source), base));
}
