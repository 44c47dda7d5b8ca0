import { aekitError, aekitErrorWithCause, isAekitError } from '@aekit/core/errors';
import { AUTO_DEVICE, checkDeviceName, isDeviceProblem, reasonOf } from './devices.js';
import { sizeOf, toBatch } from './input.js';
import { type AekitOnnxMetadata, type GraphEntry, parseMetadata } from './metadata.js';
import type {
  Autoencoder,
  AutoencoderInfo,
  AutoencoderInput,
  LoadOptions,
  ModelFiles,
  OrtModule,
  OrtSession,
  RuntimePlatform,
  TensorData,
} from './session.js';

type Role = 'encoder' | 'decoder' | 'autoencoder';

/** The output name each role has in graphs written by `aekit export`. */
const AEKIT_OUTPUT: Readonly<Record<Role, string>> = Object.freeze({
  encoder: 'codings',
  decoder: 'reconstruction',
  autoencoder: 'reconstruction',
});

/** A session with the names and shapes aekit feeds it with. */
interface Graph {
  readonly role: Role;
  readonly session: OrtSession;
  readonly inputName: string;
  readonly outputName: string;
  /** Declared input shape, batch axis first (`[]` when ONNX Runtime does not know it). */
  readonly inputDims: readonly (number | string)[];
  /** Declared output shape, batch axis first (`[]` when unknown). */
  readonly outputDims: readonly (number | string)[];
}

/** Sessions opened on one device. */
interface Opened {
  readonly device: string;
  readonly ort: OrtModule;
  readonly encoder: Graph;
  readonly decoder: Graph;
}

const runOf = (platform: RuntimePlatform) =>
  platform.enqueue ?? (<U>(task: () => Promise<U>): Promise<U> => task());

const fmt = (dims: readonly (number | string)[]): string =>
  `[${dims.map((d) => (typeof d === 'number' ? d : `${d || '?'}`)).join(', ')}]`;

function pickName(
  names: readonly string[],
  kind: 'input' | 'output',
  role: Role,
  declared: string | undefined,
  source: string,
): string {
  if (declared !== undefined) {
    if (names.includes(declared)) return declared;
    throw aekitError(
      'ModelLoadFailed',
      source,
      `aekit.json names ${role} ${kind} "${declared}", but ${role}.onnx has ${kind}s ${names.map((n) => `"${n}"`).join(', ')}.`,
    );
  }
  if (names.length === 1) return names[0]!;
  if (kind === 'output' && names.includes(AEKIT_OUTPUT[role])) return AEKIT_OUTPUT[role];
  throw aekitError(
    'ModelLoadFailed',
    source,
    `${role}.onnx has ${names.length} ${kind}s (${names.map((n) => `"${n}"`).join(', ')}); the runtime runs graphs with one input and one output.`,
  );
}

function dimsOf(
  session: OrtSession,
  kind: 'input' | 'output',
  name: string,
  role: Role,
  source: string,
): readonly (number | string)[] {
  const list = kind === 'input' ? session.inputMetadata : session.outputMetadata;
  const meta = list?.find((m) => m.name === name);
  if (!meta) return [];
  if (!meta.isTensor) {
    throw aekitError('ModelLoadFailed', source, `${role}.onnx ${kind} "${name}" is not a tensor.`);
  }
  if (meta.type !== 'float32') {
    throw aekitError(
      'ModelLoadFailed',
      source,
      `${role}.onnx ${kind} "${name}" is ${meta.type}; the runtime feeds and reads float32 tensors.`,
    );
  }
  return meta.shape;
}

function describe(
  session: OrtSession,
  role: Role,
  declared: GraphEntry | undefined,
  source: string,
): Graph {
  const inputName = pickName(session.inputNames, 'input', role, declared?.input, source);
  const outputName = pickName(session.outputNames, 'output', role, declared?.output, source);
  return {
    role,
    session,
    inputName,
    outputName,
    inputDims: dimsOf(session, 'input', inputName, role, source),
    outputDims: dimsOf(session, 'output', outputName, role, source),
  };
}

/**
 * Checks declared dims `[batch, ...]` against a sample shape; symbolic dims match anything.
 * Returns what is wrong, or undefined.
 */
function mismatch(
  dims: readonly (number | string)[],
  sample: readonly number[],
): string | undefined {
  if (dims.length === 0) return undefined;
  const ok =
    dims.length === sample.length + 1 &&
    dims.slice(1).every((d, i) => typeof d !== 'number' || d === sample[i]);
  return ok ? undefined : `${fmt(dims)} does not fit [N, ${sample.join(', ')}]`;
}

/** The sample shape of declared dims, when every non-batch dim is a number. */
function sampleShapeOf(dims: readonly (number | string)[]): number[] | undefined {
  if (dims.length < 2) return undefined;
  const rest = dims.slice(1);
  return rest.every((d) => typeof d === 'number' && d > 0) ? (rest as number[]) : undefined;
}

/** The sample shapes of a pair, from aekit.json or from the sessions, checked against both. */
function shapesOf(
  encoder: Graph,
  decoder: Graph,
  metadata: AekitOnnxMetadata | undefined,
  source: string,
): { inputShape: readonly number[]; codingShape: readonly number[] } {
  const fail = (reason: string): Error => aekitError('ModelLoadFailed', source, reason);
  const inputShape = metadata?.inputShape ?? sampleShapeOf(encoder.inputDims);
  if (!inputShape) {
    throw fail(
      `encoder.onnx input "${encoder.inputName}" has shape ${fmt(encoder.inputDims)}; without aekit.json the runtime needs [batch, ...fixed sizes]. Add an aekit.json with "inputShape".`,
    );
  }
  const codingShape =
    metadata?.codingShape ?? sampleShapeOf(encoder.outputDims) ?? sampleShapeOf(decoder.inputDims);
  if (!codingShape) {
    throw fail(
      `neither encoder.onnx output "${encoder.outputName}" ${fmt(encoder.outputDims)} nor decoder.onnx input "${decoder.inputName}" ${fmt(decoder.inputDims)} has a fixed coding shape. Add an aekit.json with "codingShape".`,
    );
  }
  const checks: [string, readonly (number | string)[], readonly number[]][] = [
    [`encoder.onnx input "${encoder.inputName}"`, encoder.inputDims, inputShape],
    [`encoder.onnx output "${encoder.outputName}"`, encoder.outputDims, codingShape],
    [`decoder.onnx input "${decoder.inputName}"`, decoder.inputDims, codingShape],
    [`decoder.onnx output "${decoder.outputName}"`, decoder.outputDims, inputShape],
  ];
  for (const [what, dims, sample] of checks) {
    const wrong = mismatch(dims, sample);
    if (wrong) {
      throw fail(
        `${what} has shape ${wrong}${metadata ? ' (the shapes of aekit.json)' : ' (the shapes the encoder declares)'}; the files do not belong together.`,
      );
    }
  }
  return { inputShape, codingShape };
}

/** Float32 data of an output tensor, converting other numeric types. */
function floatData(data: unknown, name: string): Float32Array {
  if (data instanceof Float32Array) return data;
  if (ArrayBuffer.isView(data) && !(data instanceof DataView)) {
    const values = data as unknown as ArrayLike<number | bigint>;
    return Float32Array.from({ length: values.length }, (_, i) => Number(values[i]));
  }
  throw new Error(`output "${name}" is not a numeric tensor`);
}

async function createSession(
  platform: RuntimePlatform,
  ort: OrtModule,
  bytes: Uint8Array,
  device: string,
  options: LoadOptions,
): Promise<OrtSession> {
  const executionProviders = [...(platform.devices[device] ?? [])];
  return runOf(platform)(() =>
    ort.InferenceSession.create(bytes, { ...options.sessionOptions, executionProviders }),
  );
}

async function release(platform: RuntimePlatform, sessions: readonly (OrtSession | undefined)[]) {
  await Promise.all(
    sessions.map((s) =>
      s ? runOf(platform)(() => s.release()).catch(() => undefined) : undefined,
    ),
  );
}

/** Opens the encoder and decoder on `device`; releases what it opened when it fails. */
async function openOn(
  platform: RuntimePlatform,
  files: ModelFiles,
  metadata: AekitOnnxMetadata | undefined,
  device: string,
  options: LoadOptions,
): Promise<Opened> {
  const ort = await platform.ortFor(device, options);
  const sessions: OrtSession[] = [];
  try {
    const open = async (role: Role, bytes: Uint8Array): Promise<OrtSession> => {
      try {
        const session = await createSession(platform, ort, bytes, device, options);
        sessions.push(session);
        return session;
      } catch (err) {
        // Say which file a model error is in; a device error is about the device.
        if (isDeviceProblem(err)) throw err;
        throw new Error(`${role}.onnx: ${reasonOf(err)}`, { cause: err });
      }
    };
    const encoder = await open('encoder', files.encoder);
    const decoder = await open('decoder', files.decoder);
    return {
      device,
      ort,
      encoder: describe(encoder, 'encoder', metadata?.graphs?.encoder, files.source),
      decoder: describe(decoder, 'decoder', metadata?.graphs?.decoder, files.source),
    };
  } catch (err) {
    await release(platform, sessions);
    throw err;
  }
}

/** Which other devices can open this model here (used to say what to pick instead). */
async function workingDevices(
  platform: RuntimePlatform,
  files: ModelFiles,
  metadata: AekitOnnxMetadata | undefined,
  except: string,
  options: LoadOptions,
): Promise<string[]> {
  const working: string[] = [];
  for (const device of Object.keys(platform.devices)) {
    if (device === except) continue;
    try {
      const opened = await openOn(platform, files, metadata, device, options);
      await release(platform, [opened.encoder.session, opened.decoder.session]);
      working.push(device);
    } catch {
      // not working here
    }
  }
  return working;
}

const failuresByPlatform = new WeakMap<RuntimePlatform, Map<string, unknown>>();

/**
 * Devices that failed to start in this process, by platform. `'auto'` skips them on later
 * loads (a WebGPU probe costs time and native warnings); a device asked for by name is
 * always tried again.
 */
function knownFailures(platform: RuntimePlatform): Map<string, unknown> {
  let map = failuresByPlatform.get(platform);
  if (!map) {
    map = new Map();
    failuresByPlatform.set(platform, map);
  }
  return map;
}

/**
 * Loads `files` with a platform's ONNX Runtime: picks the device, opens the encoder and
 * decoder sessions once, reads the shapes and names, and returns the {@link Autoencoder}.
 * The platform entries (`node.ts`, `browser.ts`) call this after reading the files.
 */
export async function loadWithPlatform(
  platform: RuntimePlatform,
  files: ModelFiles,
  options: LoadOptions = {},
): Promise<Autoencoder> {
  const requested = options.device ?? AUTO_DEVICE;
  checkDeviceName(requested, platform.devices);
  const metadata =
    files.metadata === undefined ? undefined : parseMetadata(files.metadata, files.source);
  const candidates = requested === AUTO_DEVICE ? platform.autoOrder : [requested];
  const failures: { device: string; error: unknown }[] = [];
  const known = knownFailures(platform);
  for (const device of candidates) {
    const failedBefore = known.get(device);
    if (requested === AUTO_DEVICE && failedBefore && device !== candidates.at(-1)) {
      failures.push({ device, error: failedBefore });
      continue;
    }
    let opened: Opened;
    try {
      opened = await openOn(platform, files, metadata, device, options);
    } catch (error) {
      if (isAekitError(error)) throw error;
      if (isDeviceProblem(error)) known.set(device, error);
      failures.push({ device, error });
      continue;
    }
    known.delete(device);
    try {
      const shapes = shapesOf(opened.encoder, opened.decoder, metadata, files.source);
      const skipped = failures.map((f) => `${f.device}: ${reasonOf(f.error)}`);
      return new OrtAutoencoder(platform, files, metadata, opened, shapes, skipped, options);
    } catch (error) {
      await release(platform, [opened.encoder.session, opened.decoder.session]);
      throw error;
    }
  }
  const last = failures[failures.length - 1]!;
  // An error that is not about starting a backend is about the model: with 'auto' the last
  // device tried is the reference CPU one, so the model cannot load anywhere.
  if (!isDeviceProblem(last.error)) {
    throw aekitErrorWithCause(last.error, 'ModelLoadFailed', files.source, reasonOf(last.error));
  }
  if (requested === AUTO_DEVICE) {
    const lines = failures.map((f) => `${f.device}: ${reasonOf(f.error)}`).join('; ');
    throw aekitErrorWithCause(last.error, 'DeviceUnavailable', AUTO_DEVICE, `${lines}.`, []);
  }
  const working = await workingDevices(platform, files, metadata, requested, options);
  const reason = reasonOf(last.error).replace(/\.?$/, '.');
  throw aekitErrorWithCause(last.error, 'DeviceUnavailable', requested, reason, working);
}

/** The {@link Autoencoder} over ONNX Runtime sessions. */
class OrtAutoencoder implements Autoencoder {
  readonly info: AutoencoderInfo;
  readonly #platform: RuntimePlatform;
  readonly #files: ModelFiles;
  readonly #metadata: AekitOnnxMetadata | undefined;
  readonly #opened: Opened;
  readonly #options: LoadOptions;
  #autoencoder: Promise<Graph | undefined> | undefined;
  #disposed = false;

  constructor(
    platform: RuntimePlatform,
    files: ModelFiles,
    metadata: AekitOnnxMetadata | undefined,
    opened: Opened,
    shapes: { inputShape: readonly number[]; codingShape: readonly number[] },
    skippedDevices: readonly string[],
    options: LoadOptions,
  ) {
    this.#platform = platform;
    this.#files = files;
    this.#metadata = metadata;
    this.#opened = opened;
    this.#options = options;
    const m = metadata;
    this.info = Object.freeze({
      inputShape: Object.freeze([...shapes.inputShape]),
      codingShape: Object.freeze([...shapes.codingShape]),
      ...(m?.variant !== undefined ? { variant: m.variant } : {}),
      ...(m?.normalization !== undefined ? { normalization: m.normalization } : {}),
      ...(m?.outputActivation !== undefined ? { outputActivation: m.outputActivation } : {}),
      capabilities: Object.freeze([...(m?.capabilities ?? [])]),
      ...(m?.aekitVersion !== undefined ? { aekitVersion: m.aekitVersion } : {}),
      described: m ? 'aekit.json' : 'sessions',
      device: opened.device,
      executionProviders: Object.freeze([...(platform.devices[opened.device] ?? [])]),
      skippedDevices: Object.freeze([...skippedDevices]),
      inputName: opened.encoder.inputName,
      codingName: opened.encoder.outputName,
      decoderInputName: opened.decoder.inputName,
      outputName: opened.decoder.outputName,
      source: files.source,
    } satisfies AutoencoderInfo);
  }

  encode(x: AutoencoderInput): Promise<TensorData> {
    return this.#call(() =>
      this.#run(this.#opened.encoder, toBatch(x, this.info.inputShape, 'encode')),
    );
  }

  decode(z: AutoencoderInput): Promise<TensorData> {
    return this.#call(() =>
      this.#run(this.#opened.decoder, toBatch(z, this.info.codingShape, 'decode')),
    );
  }

  reconstruct(x: AutoencoderInput): Promise<TensorData> {
    return this.#call(async () => {
      const batch = toBatch(x, this.info.inputShape, 'reconstruct');
      const whole = await this.#autoencoderGraph();
      if (whole) return this.#run(whole, batch);
      const codings = await this.#run(this.#opened.encoder, batch);
      return this.#run(this.#opened.decoder, codings);
    });
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const whole = await this.#autoencoder?.catch(() => undefined);
    await release(this.#platform, [
      this.#opened.encoder.session,
      this.#opened.decoder.session,
      whole?.session,
    ]);
  }

  async #call(task: () => Promise<TensorData>): Promise<TensorData> {
    if (this.#disposed) {
      throw aekitError('ModelDisposed', `An autoencoder loaded from "${this.#files.source}"`);
    }
    return task();
  }

  /** `autoencoder.onnx` as a session, opened on the first `reconstruct` (undefined if absent). */
  #autoencoderGraph(): Promise<Graph | undefined> {
    this.#autoencoder ??= (async () => {
      const file = this.#files.autoencoder;
      const bytes = typeof file === 'function' ? await file() : file;
      if (!bytes) return undefined;
      const { device, ort } = this.#opened;
      let session: OrtSession;
      try {
        session = await createSession(this.#platform, ort, bytes, device, this.#options);
      } catch (err) {
        throw aekitErrorWithCause(
          err,
          'ModelLoadFailed',
          this.#files.source,
          `autoencoder.onnx: ${reasonOf(err)}`,
        );
      }
      try {
        const graph = describe(
          session,
          'autoencoder',
          this.#metadata?.graphs?.autoencoder,
          this.#files.source,
        );
        for (const dims of [graph.inputDims, graph.outputDims]) {
          const wrong = mismatch(dims, this.info.inputShape);
          if (wrong) {
            throw aekitError(
              'ModelLoadFailed',
              this.#files.source,
              `autoencoder.onnx has shape ${wrong}; it does not belong with encoder.onnx.`,
            );
          }
        }
        return graph;
      } catch (err) {
        await release(this.#platform, [session]);
        throw err;
      }
    })();
    return this.#autoencoder;
  }

  /** Runs one graph; a graph with a fixed batch size runs in chunks of that size. */
  async #run(graph: Graph, batch: TensorData): Promise<TensorData> {
    const fixed = graph.inputDims[0];
    const n = batch.shape[0]!;
    if (typeof fixed === 'number' && fixed > 0 && fixed !== n) {
      return this.#runInChunks(graph, batch, fixed);
    }
    const { ort } = this.#opened;
    const feed = { [graph.inputName]: new ort.Tensor('float32', batch.data, batch.shape) };
    const outputs = await runOf(this.#platform)(() => graph.session.run(feed, [graph.outputName]));
    const tensor = outputs[graph.outputName]!;
    const result = { data: floatData(tensor.data, graph.outputName), shape: [...tensor.dims] };
    tensor.dispose();
    return result;
  }

  async #runInChunks(graph: Graph, batch: TensorData, size: number): Promise<TensorData> {
    const n = batch.shape[0]!;
    const per = sizeOf(batch.shape.slice(1));
    const parts: TensorData[] = [];
    for (let start = 0; start < n; start += size) {
      const chunk = new Float32Array(size * per);
      chunk.set(batch.data.subarray(start * per, Math.min(n, start + size) * per));
      parts.push(await this.#run(graph, { data: chunk, shape: [size, ...batch.shape.slice(1)] }));
    }
    const outShape = parts[0]!.shape.slice(1);
    const outPer = sizeOf(outShape);
    const data = new Float32Array(n * outPer);
    parts.forEach((p, i) => {
      const keep = Math.min(size, n - i * size);
      data.set(p.data.subarray(0, keep * outPer), i * size * outPer);
    });
    return { data, shape: [n, ...outShape] };
  }
}
