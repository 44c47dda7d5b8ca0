/**
 * `@aekit/runtime-web` for Node: runs aekit's exported autoencoders (or any ONNX
 * encoder/decoder pair) with onnxruntime-node, on the CPU or its WebGPU execution provider,
 * where the app installs it (an optional peer), and otherwise with onnxruntime-web's
 * WebAssembly build, which this package brings. Models load from a folder, an http(s) URL
 * or bytes; the API is the browser entry's.
 *
 * @example
 * ```ts
 * import { loadAutoencoder } from '@aekit/runtime-web';
 * const ae = await loadAutoencoder('runs/digits/onnx');
 * const { data, shape } = await ae.reconstruct(new Float32Array(784));
 * await ae.dispose();
 * ```
 *
 * @packageDocumentation
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { aekitError } from '@aekit/core/errors';
import { autoWebGpuSkipped } from '@aekit/core/gpu-drivers';
import { type HashIndex, parseHashIndex } from '@aekit/core/hashing';
import { graphFile, hasGraph, parseExportedModelText } from '@aekit/core/model';
import { type RepositoryAutoencoder, repositoryAutoencoderOf } from '@aekit/core/repository';
import { loadWithPlatform } from './autoencoder.js';
import { AUTO_DEVICE, checkDeviceName, NODE_DEVICES, reasonOf } from './devices.js';
import {
  fetchHashIndex,
  fetchModelFiles,
  filesFromBytes,
  folderUrl,
  isModelBytes,
  METADATA_FILE,
} from './model-source.js';
import { importOnce } from './ort-import.js';
import type {
  Autoencoder,
  AutoencoderSource,
  LoadOptions,
  ModelFiles,
  OrtModule,
  RuntimePlatform,
} from './session.js';

export * from './file-jobs.js';
export * from './files.js';
export * from './shared-exports.js';

/** The devices of this platform (onnxruntime-node) and their execution providers. */
export const DEVICES = NODE_DEVICES;

const onnxruntimeNode = importOnce(
  () => import('onnxruntime-node'),
  (err) =>
    `onnxruntime-node cannot be loaded (${reasonOf(err)}). Install it for native CPU and WebGPU: npm install onnxruntime-node@1.30.0 (device 'wasm' needs nothing more)`,
);

/** onnxruntime-web's Node build (WebAssembly), a dependency of this package. */
const onnxruntimeWebNode = importOnce(
  () => import('onnxruntime-web'),
  (err) => `onnxruntime-web cannot be loaded: ${reasonOf(err)}`,
);

async function onnxruntimeWasm(options: LoadOptions): Promise<OrtModule> {
  const module = await onnxruntimeWebNode('wasm');
  // Read when the build creates its first session; later values are ignored.
  if (options.numThreads !== undefined) module.env.wasm.numThreads = options.numThreads;
  return module;
}

/**
 * `'auto'` passes over WebGPU where no GPU is likely: onnxruntime-node's WebGPU execution
 * provider starts Dawn, whose warnings about a missing Vulkan driver are native output.
 */
function autoSkip(device: string): string | undefined {
  return device === 'webgpu' ? autoWebGpuSkipped() : undefined;
}

/**
 * The Node platform: `'auto'` = onnxruntime-node's WebGPU when it starts (tried only where
 * a GPU is likely), else its CPU, else (onnxruntime-node not installed) onnxruntime-web's
 * WebAssembly.
 */
const nodePlatform: RuntimePlatform = Object.freeze({
  devices: NODE_DEVICES,
  autoOrder: Object.freeze(['webgpu', 'cpu', 'wasm']),
  ortFor: (device: string, options: LoadOptions) =>
    device === 'wasm' ? onnxruntimeWasm(options) : onnxruntimeNode(device),
  autoSkip,
});

async function readOptional(path: string): Promise<Uint8Array | undefined> {
  return existsSync(path) ? readFile(path) : undefined;
}

/**
 * Reads one run's graphs in a model repository (`aekit export RUN --repository DIR`): each
 * graph's `model.onnx` from its own model folder, with one description made of theirs.
 */
async function readRepositoryGraphs(member: RepositoryAutoencoder): Promise<ModelFiles> {
  const { graphs } = member;
  const encoder = graphs.encoder!;
  const roles = Object.entries(graphs).flatMap(([role, g]) => {
    const entry = g?.metadata.graphs?.[role];
    return g && entry ? [{ role, file: g.file, entry }] : [];
  });
  const read = (role: string) => readFile(graphs[role]!.file);
  const [encoderBytes, decoderBytes] = await Promise.all([read('encoder'), read('decoder')]);
  return {
    source: `${dirname(dirname(encoder.dir))} (${member.name}, version ${member.version})`,
    encoder: encoderBytes,
    decoder: decoderBytes,
    metadata: {
      ...encoder.metadata,
      graphs: Object.fromEntries(roles.map(({ role, entry }) => [role, entry])),
    },
    ...(graphs.autoencoder ? { autoencoder: () => read('autoencoder') } : {}),
    ...(graphs.classifier ? { classifier: () => read('classifier') } : {}),
  };
}

/**
 * Reads a model folder: `encoder.onnx`, `decoder.onnx`, `aekit.json` if present, and
 * `autoencoder.onnx` (on the first `reconstruct`) if present. A run directory whose
 * `onnx/` folder holds the model is accepted too, and so is a model or version folder of a
 * model repository: the run's graphs are then read from their model folders.
 */
async function readModelFolder(dir: string): Promise<ModelFiles> {
  const source = dir;
  const info = await stat(dir).catch(() => undefined);
  if (!info) throw aekitError('ModelLoadFailed', source, 'the folder does not exist.');
  if (!info.isDirectory()) {
    throw aekitError(
      'ModelLoadFailed',
      source,
      'it is a file; pass the folder that holds encoder.onnx and decoder.onnx.',
    );
  }
  if (!existsSync(join(dir, 'encoder.onnx')) && existsSync(join(dir, 'onnx', 'encoder.onnx'))) {
    return readModelFolder(join(dir, 'onnx'));
  }
  const member = repositoryAutoencoderOf(dir);
  if (member) return readRepositoryGraphs(member);
  const metaPath = join(dir, METADATA_FILE);
  const parsed = existsSync(metaPath)
    ? parseExportedModelText(await readFile(metaPath, 'utf8'), source)
    : undefined;
  const read = async (role: string): Promise<Uint8Array> => {
    const file = graphFile(parsed, role);
    const bytes = await readOptional(join(dir, file));
    if (bytes) return bytes;
    const holds = (await readdir(dir)).filter((f) => !f.startsWith('.'));
    throw aekitError(
      'ModelLoadFailed',
      source,
      `there is no ${file} in it (it holds: ${holds.length ? holds.join(', ') : 'nothing'}).`,
    );
  };
  const [encoder, decoder] = await Promise.all([read('encoder'), read('decoder')]);
  const wholePath = join(dir, graphFile(parsed, 'autoencoder'));
  const whole = hasGraph(parsed, 'autoencoder') !== false && existsSync(wholePath);
  const classifierPath = join(dir, graphFile(parsed, 'classifier'));
  const classifier = hasGraph(parsed, 'classifier') === true;
  return {
    source,
    encoder,
    decoder,
    ...(parsed !== undefined ? { metadata: parsed } : {}),
    ...(whole ? { autoencoder: () => readOptional(wholePath) } : {}),
    ...(classifier ? { classifier: () => readOptional(classifierPath) } : {}),
  };
}

async function filesOf(source: AutoencoderSource): Promise<ModelFiles> {
  if (isModelBytes(source)) return filesFromBytes(source);
  const text = String(source);
  if (/^https?:/i.test(text)) return fetchModelFiles(folderUrl(source));
  if (/^file:/i.test(text)) return readModelFolder(fileURLToPath(source));
  if (source instanceof URL) {
    throw aekitError(
      'ModelLoadFailed',
      text,
      `${source.protocol} URLs are not supported; use a folder path, or an http(s) or file: URL.`,
    );
  }
  return readModelFolder(resolve(text));
}

/**
 * Loads an autoencoder and opens its ONNX Runtime sessions (once; every call reuses them).
 *
 * @param source - a folder path (or `file:` URL) holding `encoder.onnx` and `decoder.onnx`
 *   (and optionally `autoencoder.onnx`, `aekit.json`); an http(s) base URL of such a
 *   folder; or `{ encoder, decoder, autoencoder?, metadata? }` with the bytes.
 * @param options - `device`: `'auto'` (default: `'webgpu'` when a GPU is likely and
 *   onnxruntime-node's WebGPU execution provider starts, else `'cpu'`, else `'wasm'` when
 *   onnxruntime-node is not installed), `'cpu'`, `'webgpu'` or `'wasm'`.
 * @returns the loaded {@link Autoencoder}; call `dispose()` when done.
 * @throws AekitError `ModelLoadFailed` (missing or unreadable files), `UnknownDevice`,
 *   `DeviceUnavailable` (naming the devices that work here).
 */
export async function loadAutoencoder(
  source: AutoencoderSource,
  options: LoadOptions = {},
): Promise<Autoencoder> {
  checkDeviceName(options.device ?? AUTO_DEVICE, NODE_DEVICES);
  return loadWithPlatform(nodePlatform, await filesOf(source), options);
}

/**
 * Loads a hash index written by `aekit hash` (for {@link Autoencoder.nearest}): from a file
 * path, a `file:` or http(s) URL, or its bytes.
 *
 * @throws AekitError `InvalidHashIndex` when it cannot be read.
 */
export async function loadHashIndex(source: string | URL | Uint8Array): Promise<HashIndex> {
  if (source instanceof Uint8Array) return parseHashIndex(source);
  const text = String(source);
  if (/^https?:/i.test(text)) return fetchHashIndex(new URL(text));
  const path = /^file:/i.test(text) ? fileURLToPath(text) : resolve(text);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw aekitError('InvalidHashIndex', path, `it cannot be read (${reasonOf(err)}).`);
  }
  return parseHashIndex(bytes, path);
}
