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
import { type DeviceChoice, faster, timeEncode, underFloor } from './device-choice.js';
import { AUTO_DEVICE, checkDeviceName, DeviceFailure, reasonOf, WEB_DEVICES } from './devices.js';
import {
  type FetchOptions,
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
  AutoencoderInfo,
  AutoencoderSource,
  LoadOptions,
  ModelFiles,
  OrtModule,
  RuntimePlatform,
} from './session.js';

export { WEBGPU_FLOOR_MS } from './device-choice.js';
export { MODEL_CACHE } from './model-source.js';
export type { LoadProgress } from './session.js';
export * from './shared-exports.js';

/** The devices of this platform (onnxruntime-web) and their execution providers. */
export const DEVICES = WEB_DEVICES;

const cannotLoad = (err: unknown) => `onnxruntime-web cannot be loaded: ${reasonOf(err)}`;

/** The onnxruntime-web build each device runs on, imported on first use. */
const builds: Readonly<Record<string, (device: string) => Promise<OrtModule>>> = Object.freeze({
  wasm: importOnce(() => import('onnxruntime-web/wasm'), cannotLoad),
  webgpu: importOnce(() => import('onnxruntime-web/webgpu'), cannotLoad),
});

interface GpuAdapterInfoLike {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly description?: string;
  readonly isFallbackAdapter?: boolean;
}

interface GpuAdapterLike {
  /** Chromium before 136; newer ones say it in `info`. */
  readonly isFallbackAdapter?: boolean;
  readonly info?: GpuAdapterInfoLike;
}

interface GpuLike {
  requestAdapter(): Promise<GpuAdapterLike | null>;
}

/** What the page's WebGPU adapter is: a hardware one, or why `'auto'` passes WebGPU over. */
type AdapterProbe =
  | { readonly usable: true; readonly name: string }
  | { readonly usable: false; readonly reason: string };

/**
 * Asks for the page's WebGPU adapter, without loading any ONNX Runtime build. A fallback
 * adapter (a software rasteriser such as SwiftShader, `info.isFallbackAdapter`) is not
 * usable for `'auto'`: it runs a batch-1 encode 15 to 40 times slower than wasm.
 */
async function probeAdapter(): Promise<AdapterProbe> {
  const gpu = (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu;
  if (!gpu) {
    return {
      usable: false,
      reason:
        'navigator.gpu is missing: this browser has no WebGPU, or the page is not in a secure context (https or localhost).',
    };
  }
  const adapter = await gpu.requestAdapter().catch(() => null);
  if (!adapter)
    return { usable: false, reason: 'navigator.gpu.requestAdapter() found no adapter.' };
  const info = adapter.info ?? {};
  const name =
    [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unnamed';
  if (adapter.isFallbackAdapter === true || info.isFallbackAdapter === true) {
    return {
      usable: false,
      reason: `the only WebGPU adapter is a fallback (software) adapter (${name}), slower than wasm.`,
    };
  }
  return { usable: true, name };
}

/** Throws a {@link DeviceFailure} unless this page has a WebGPU adapter (fallback ones too). */
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
  // onnxruntime-web prints its native warnings (e.g. "Some nodes were not assigned to the
  // preferred execution providers", expected for shape ops on WebGPU) through console.error
  // with ANSI colour codes; errors still reach the caller as exceptions.
  module.env.logLevel = 'error';
  return module;
}

/** The browser platform: `'auto'` = WebGPU when there is an adapter, else wasm; one run queue. */
const webPlatform: RuntimePlatform = Object.freeze({
  devices: WEB_DEVICES,
  autoOrder: Object.freeze(['webgpu', 'wasm']),
  ortFor,
  enqueue: createQueue(),
});

/** ONNX Runtime's native log severity for sessions: 3 = errors only (see `ortFor`). */
const QUIET_SESSIONS = 3;

/** `options` with ONNX Runtime's warnings off, unless the caller set a log severity. */
function quiet(options: LoadOptions): LoadOptions {
  return {
    ...options,
    sessionOptions: { logSeverityLevel: QUIET_SESSIONS, ...options.sessionOptions },
  };
}

/** `ae` with `info` extended by `patch` (the same sessions; `dispose` releases them). */
function withInfo(ae: Autoencoder, patch: Partial<AutoencoderInfo>): Autoencoder {
  const info: AutoencoderInfo = Object.freeze({ ...ae.info, ...patch });
  return {
    info,
    encode: (x) => ae.encode(x),
    decode: (z) => ae.decode(z),
    reconstruct: (x) => ae.reconstruct(x),
    sample: (n, o) => ae.sample(n, o),
    hash: (x) => ae.hash(x),
    nearest: (x, index, o) => ae.nearest(x, index, o),
    classify: (x) => ae.classify(x),
    dispose: () => ae.dispose(),
  };
}

/**
 * `'auto'`: wasm unless this page has a hardware WebGPU adapter and WebGPU runs this model
 * faster. The model loads on wasm first and a batch-1 encode is timed; when it takes less
 * than WebGPU's least cost per call ({@link WEBGPU_FLOOR_MS}), wasm is kept; otherwise the
 * model loads on WebGPU too, the same call is timed, and the faster device is kept.
 */
async function loadAuto(files: ModelFiles, options: LoadOptions): Promise<Autoencoder> {
  const probe = await probeAdapter();
  const wasm = await loadWithPlatform(webPlatform, files, { ...options, device: 'wasm' });
  if (!probe.usable) {
    return withInfo(wasm, {
      deviceReason: `wasm: ${probe.reason.replace(/\.$/, '')}`,
      skippedDevices: Object.freeze([`webgpu: ${probe.reason}`]),
    });
  }
  const wasmMs = await timeEncode(wasm);
  const cheap = underFloor(wasmMs);
  if (cheap) {
    return withInfo(wasm, {
      deviceReason: `wasm: ${cheap.reason}`,
      skippedDevices: Object.freeze([`webgpu: ${cheap.reason}.`]),
    });
  }
  let gpu: Autoencoder;
  try {
    gpu = await loadWithPlatform(webPlatform, files, { ...options, device: 'webgpu' });
  } catch (err) {
    const why = reasonOf(err);
    return withInfo(wasm, {
      deviceReason: `wasm: webgpu (${probe.name}) cannot run this model: ${why}`,
      skippedDevices: Object.freeze([`webgpu: ${why}`]),
    });
  }
  let choice: DeviceChoice;
  try {
    // three times wasm's time is slower beyond doubt: no need for a median
    choice = faster(wasmMs, await timeEncode(gpu, { enoughMs: 3 * wasmMs }));
  } catch (err) {
    await gpu.dispose();
    const why = reasonOf(err);
    return withInfo(wasm, {
      deviceReason: `wasm: webgpu (${probe.name}) failed a test run: ${why}`,
      skippedDevices: Object.freeze([`webgpu: ${why}`]),
    });
  }
  const [kept, dropped] = choice.device === 'webgpu' ? [gpu, wasm] : [wasm, gpu];
  await dropped.dispose();
  return withInfo(kept, {
    deviceReason: `${choice.device}: ${choice.reason}`,
    skippedDevices: Object.freeze(choice.device === 'webgpu' ? [] : [`webgpu: ${choice.reason}.`]),
  });
}

/**
 * Loads an autoencoder and opens its ONNX Runtime sessions (once; every call reuses them).
 *
 * @param source - the base URL of a folder holding `encoder.onnx` and `decoder.onnx` (and
 *   optionally `autoencoder.onnx`, fetched on the first `reconstruct`, and `aekit.json`),
 *   relative to the page or absolute; or `{ encoder, decoder, autoencoder?, metadata? }`
 *   with the bytes.
 * @param options - `device`: `'auto'` (default: wasm, or WebGPU when the page has a
 *   hardware adapter and a timed call runs faster there; `info.deviceReason` says why),
 *   `'wasm'` or `'webgpu'`; `onProgress` for download progress; `cache` (default true) to
 *   keep the graphs in the Cache API; `worker` to run the sessions in a Web Worker;
 *   `wasmPaths`, `numThreads` for onnxruntime-web.
 * @returns the loaded {@link Autoencoder}; call `dispose()` when done.
 * @throws AekitError `ModelLoadFailed` (files missing or unreadable), `UnknownDevice`,
 *   `DeviceUnavailable` (naming the devices that work here).
 */
export async function loadAutoencoder(
  source: AutoencoderSource,
  options: LoadOptions = {},
): Promise<Autoencoder> {
  const requested = options.device ?? AUTO_DEVICE;
  checkDeviceName(requested, WEB_DEVICES);
  if (options.worker) {
    // comlink and the worker's client load only for pages that use a worker
    const { loadInWorker } = await import('./worker-client.js');
    return loadInWorker(source, options);
  }
  const files = isModelBytes(source)
    ? filesFromBytes(source)
    : await fetchModelFiles(
        folderUrl(source, globalThis.document?.baseURI ?? globalThis.location?.href),
        globalThis.fetch,
        fetchOptions(options),
      );
  if (requested === AUTO_DEVICE) return loadAuto(files, quiet(options));
  return loadWithPlatform(webPlatform, files, quiet(options));
}

/** The download options of `options`, for {@link fetchModelFiles}. */
function fetchOptions(options: LoadOptions): FetchOptions {
  return {
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    cache: options.cache !== false,
    ...(options.cacheKey !== undefined ? { cacheKey: options.cacheKey } : {}),
  };
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
