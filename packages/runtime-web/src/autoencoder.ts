import { aekitError, aekitErrorWithCause, isAekitError } from '@aekit/core/errors';
import { type HashIndex, type PackedCodes, packBits } from '@aekit/core/hashing';
import { type CapabilityKind, TENSOR_NAMES } from '@aekit/core/model';
import {
  AUTO_DEVICE,
  checkDeviceName,
  DeviceFailure,
  isDeviceProblem,
  reasonOf,
} from './devices.js';
import { checkBatchScale, mostProbable, sizeOf, toBatch } from './input.js';
import {
  type AekitOnnxMetadata,
  type GraphEntry,
  parseMetadata,
  type Sampler,
} from './metadata.js';
import { checkSampleRequest, normalDraws, seededUniform } from './sampling.js';
import { nearestIn } from './search.js';
import type {
  Autoencoder,
  AutoencoderInfo,
  AutoencoderInput,
  ClassifyResult,
  EncodeResult,
  HashSearchSource,
  LoadOptions,
  ModelFiles,
  NearestOptions,
  Neighbours,
  OrtModule,
  OrtSession,
  RuntimePlatform,
  SampleOptions,
  SampleResult,
  TensorData,
} from './session.js';

type Role = 'encoder' | 'decoder' | 'autoencoder' | 'classifier';

/** The graphs opened on first use, when the model has them. */
type LazyRole = 'autoencoder' | 'classifier';

/** The output name each role has in graphs written by `aekit export`. */
const AEKIT_OUTPUT: Readonly<Record<Role, string>> = Object.freeze({
  encoder: TENSOR_NAMES.codings,
  decoder: TENSOR_NAMES.reconstruction,
  autoencoder: TENSOR_NAMES.reconstruction,
  classifier: TENSOR_NAMES.probabilities,
});

/** The encoder output of a variational autoencoder that `encode` returns as `logVariance`. */
const LOG_VARIANCE_OUTPUT = TENSOR_NAMES.logVariance;

/** The encoder output of a model with the `hash` capability that `hash` packs: rounded codings. */
const BITS_OUTPUT = TENSOR_NAMES.bits;

/** The further outputs the runtime reads from each role's graph, when the graph has them. */
const EXTRA_OUTPUTS: Readonly<Record<Role, readonly string[]>> = Object.freeze({
  encoder: Object.freeze([LOG_VARIANCE_OUTPUT, BITS_OUTPUT]),
  decoder: Object.freeze([]),
  autoencoder: Object.freeze([]),
  classifier: Object.freeze([]),
});

/** One graph output: its name and declared shape, batch axis first (`[]` when unknown). */
interface GraphOutput {
  readonly name: string;
  readonly dims: readonly (number | string)[];
}

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
  /**
   * Further outputs ({@link EXTRA_OUTPUTS}) that the calls returning them fetch in the same
   * run as `outputName`.
   */
  readonly extraOutputs: readonly GraphOutput[];
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

/**
 * The further outputs of a graph that the runtime reads ({@link EXTRA_OUTPUTS}): those
 * aekit.json lists in `extraOutputs` (each checked to be in the graph), or without that
 * list, those the graph has.
 */
function extraOutputsOf(
  session: OrtSession,
  role: Role,
  outputName: string,
  declared: GraphEntry | undefined,
  source: string,
): string[] {
  const names = session.outputNames;
  for (const name of declared?.extraOutputs ?? []) {
    const wrong = !names.includes(name)
      ? `${role}.onnx has outputs ${names.map((n) => `"${n}"`).join(', ')}`
      : name === outputName
        ? 'that is its main output'
        : undefined;
    if (wrong) {
      throw aekitError(
        'ModelLoadFailed',
        source,
        `aekit.json lists ${role} extra output "${name}", but ${wrong}.`,
      );
    }
  }
  const present = declared?.extraOutputs ?? names;
  return EXTRA_OUTPUTS[role].filter((name) => name !== outputName && present.includes(name));
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
    extraOutputs: extraOutputsOf(session, role, outputName, declared, source).map((name) => ({
      name,
      dims: dimsOf(session, 'output', name, role, source),
    })),
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
    // log_variance has the shape of the codings (their means)
    ...encoder.extraOutputs.map((o): [string, readonly (number | string)[], readonly number[]] => [
      `encoder.onnx output "${o.name}"`,
      o.dims,
      codingShape,
    ]),
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
    const skip = requested === AUTO_DEVICE ? platform.autoSkip?.(device) : undefined;
    if (skip !== undefined) {
      failures.push({ device, error: new DeviceFailure(device, skip) });
      continue;
    }
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
  readonly #lazy = new Map<LazyRole, Promise<Graph | undefined>>();
  /** Session runs started and not yet settled: `dispose()` waits for them before releasing. */
  readonly #running = new Set<Promise<unknown>>();
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
    const logVariance = opened.encoder.extraOutputs.find((o) => o.name === LOG_VARIANCE_OUTPUT);
    this.info = Object.freeze({
      inputShape: Object.freeze([...shapes.inputShape]),
      codingShape: Object.freeze([...shapes.codingShape]),
      ...(m?.variant !== undefined ? { variant: m.variant } : {}),
      ...(m?.normalization !== undefined ? { normalization: m.normalization } : {}),
      ...(m?.outputActivation !== undefined ? { outputActivation: m.outputActivation } : {}),
      capabilities: Object.freeze([...(m?.capabilities ?? [])]),
      ...(m?.sampler !== undefined ? { sampler: Object.freeze({ ...m.sampler }) } : {}),
      ...(m?.aekitVersion !== undefined ? { aekitVersion: m.aekitVersion } : {}),
      described: m ? 'aekit.json' : 'sessions',
      device: opened.device,
      deviceReason:
        options.device !== undefined && options.device !== AUTO_DEVICE
          ? `"${opened.device}" was asked for`
          : `${opened.device}: ${skippedDevices.length > 0 ? skippedDevices.join('; ') : "the first device 'auto' tries here"}`,
      executionProviders: Object.freeze([...(platform.devices[opened.device] ?? [])]),
      skippedDevices: Object.freeze([...skippedDevices]),
      inputName: opened.encoder.inputName,
      codingName: opened.encoder.outputName,
      ...(logVariance ? { logVarianceName: logVariance.name } : {}),
      decoderInputName: opened.decoder.inputName,
      outputName: opened.decoder.outputName,
      source: files.source,
    } satisfies AutoencoderInfo);
  }

  /**
   * `x` as a batch of the model's input shape, refused (`InputScaleMismatch`) when its values
   * look raw while the graphs take normalised ones, e.g. 0..255 pixels into a model that
   * was trained on them divided by 255 (unless loaded with `checkScale: false`).
   */
  #input(x: AutoencoderInput, call: string): TensorData {
    const batch = toBatch(x, this.info.inputShape, call);
    if (this.#options.checkScale !== false) checkBatchScale(batch, this.info.normalization, call);
    return batch;
  }

  encode(x: AutoencoderInput): Promise<EncodeResult> {
    return this.#call(async () => {
      const { encoder } = this.#opened;
      const batch = this.#input(x, 'encode');
      const names = [encoder.outputName, ...encoder.extraOutputs.map((o) => o.name)];
      const outputs = await this.#runOutputs(encoder, batch, names);
      const codings = outputs[0]!;
      const logVariance = outputs[names.indexOf(LOG_VARIANCE_OUTPUT)];
      return logVariance ? { ...codings, logVariance } : codings;
    });
  }

  decode(z: AutoencoderInput): Promise<TensorData> {
    return this.#call(() =>
      this.#run(this.#opened.decoder, toBatch(z, this.info.codingShape, 'decode')),
    );
  }

  reconstruct(x: AutoencoderInput): Promise<TensorData> {
    return this.#call(() => this.#reconstructBatch(this.#input(x, 'reconstruct')));
  }

  /** Reconstructions of a checked batch: autoencoder.onnx, or the encoder then the decoder. */
  async #reconstructBatch(batch: TensorData): Promise<TensorData> {
    const whole = await this.#lazyGraph('autoencoder');
    if (whole) return this.#run(whole, batch);
    const codings = await this.#run(this.#opened.encoder, batch);
    return this.#run(this.#opened.decoder, codings);
  }

  /**
   * Fails with `CapabilityMissing` unless aekit.json lists `capability`: the model's own
   * file decides what it can do, whichever variant wrote it.
   */
  #require(capability: CapabilityKind): void {
    const { capabilities, described, source } = this.info;
    if (capabilities.includes(capability)) return;
    const declared = described === 'sessions' ? undefined : capabilities;
    throw aekitError('CapabilityMissing', `The model at "${source}"`, capability, declared);
  }

  hash(x: AutoencoderInput): Promise<PackedCodes> {
    return this.#call(() => this.#hash(x, 'hash'));
  }

  async #hash(x: AutoencoderInput, call: string): Promise<PackedCodes> {
    this.#require('hash');
    const { encoder } = this.#opened;
    const batch = this.#input(x, call);
    // The rounded bits when the graph has them, else the codings (packBits rounds them).
    const name = encoder.extraOutputs.find((o) => o.name === BITS_OUTPUT)?.name;
    const [codes] = await this.#runOutputs(encoder, batch, [name ?? encoder.outputName]);
    return packBits(codes!.data, sizeOf(this.info.codingShape));
  }

  nearest(
    x: AutoencoderInput,
    index: HashIndex | HashSearchSource,
    options: NearestOptions,
  ): Promise<Neighbours[]> {
    return this.#call(() =>
      nearestIn(index, options, sizeOf(this.info.codingShape), () => this.#hash(x, 'nearest')),
    );
  }

  classify(x: AutoencoderInput): Promise<ClassifyResult> {
    return this.#call(async () => {
      this.#require('classify');
      const batch = this.#input(x, 'classify');
      const graph = await this.#lazyGraph('classifier');
      if (!graph) {
        throw aekitError(
          'ModelLoadFailed',
          this.#files.source,
          'aekit.json says the model can classify, but there is no classifier.onnx beside it.',
        );
      }
      const probabilities = await this.#run(graph, batch);
      return { probabilities, labels: mostProbable(probabilities, this.#metadata?.classes) };
    });
  }

  sample(n: number, options: SampleOptions = {}): Promise<SampleResult> {
    return this.#call(async () => {
      const { codingShape, inputShape } = this.info;
      this.#require('sample');
      const perSample = Math.max(sizeOf(inputShape), sizeOf(codingShape));
      const request = checkSampleRequest(n, options, perSample);
      const uniform = seededUniform(request.seed);
      const sampler = this.info.sampler;
      if (sampler?.kind === 'chain') {
        return this.#sampleChain(
          sampler,
          request.n,
          options.steps ?? sampler.steps,
          uniform,
          request.seed,
        );
      }
      const codings: TensorData = {
        data: normalDraws(request.n * sizeOf(codingShape), uniform, request.temperature),
        shape: [request.n, ...codingShape],
      };
      const decoded = await this.#run(this.#opened.decoder, codings);
      return { ...decoded, codings, seed: request.seed };
    });
  }

  /**
   * The Markov chain of a generative stochastic network: `n` images of uniform noise, then
   * `steps` times: corrupt them as in training, reconstruct, and (but for the last step)
   * draw each pixel from the Bernoulli distribution of its reconstruction. Returns the last
   * reconstructions.
   */
  async #sampleChain(
    sampler: Extract<Sampler, { kind: 'chain' }>,
    n: number,
    steps: number,
    uniform: () => number,
    seed: number,
  ): Promise<SampleResult> {
    if (!Number.isInteger(steps) || steps < 1) {
      throw aekitError(
        'InvalidArgument',
        `sample(): steps must be a positive integer, not ${steps}.`,
      );
    }
    const shape = [n, ...this.info.inputShape];
    const x = new Float32Array(n * sizeOf(this.info.inputShape));
    for (let i = 0; i < x.length; i++) x[i] = uniform();
    let out: TensorData = { data: x, shape };
    for (let step = 1; step <= steps; step++) {
      const corrupted = new Float32Array(out.data.length);
      if (sampler.noise === 'gaussian') {
        const noise = normalDraws(corrupted.length, uniform, sampler.noiseStd);
        for (let i = 0; i < corrupted.length; i++) corrupted[i] = out.data[i]! + noise[i]!;
      } else {
        for (let i = 0; i < corrupted.length; i++) {
          corrupted[i] = uniform() < sampler.noiseRate ? 0 : out.data[i]!;
        }
      }
      const reconstructed = await this.#reconstructBatch({ data: corrupted, shape });
      if (step === steps) return { ...reconstructed, steps, seed };
      const drawn = new Float32Array(reconstructed.data.length);
      for (let i = 0; i < drawn.length; i++) drawn[i] = uniform() < reconstructed.data[i]! ? 1 : 0;
      out = { data: drawn, shape };
    }
    throw new Error('unreachable: the chain runs at least one step');
  }

  /**
   * Releases the sessions. Calls still in flight stop at their next session run and reject
   * with `ModelDisposed` (in flight); a run already inside ONNX Runtime is let finish first,
   * so that no session is released under it.
   */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await Promise.allSettled([...this.#running]);
    const lazy = await Promise.all([...this.#lazy.values()].map((g) => g.catch(() => undefined)));
    await release(this.#platform, [
      this.#opened.encoder.session,
      this.#opened.decoder.session,
      ...lazy.map((g) => g?.session),
    ]);
  }

  async #call<T>(task: () => Promise<T>): Promise<T> {
    if (this.#disposed) throw aekitError('ModelDisposed', this.#what);
    return task();
  }

  /** How `ModelDisposed` names this model. */
  get #what(): string {
    return `An autoencoder loaded from "${this.#files.source}"`;
  }

  /** The error of a call that `dispose()` stopped in flight. */
  #stopped(cause?: unknown): Error {
    return cause === undefined
      ? aekitError('ModelDisposed', this.#what, true)
      : aekitErrorWithCause(cause, 'ModelDisposed', this.#what, true);
  }

  /**
   * `autoencoder.onnx` (on the first `reconstruct`) or `classifier.onnx` (on the first
   * `classify`) as a session, opened once; undefined when the model has no such graph.
   */
  #lazyGraph(role: LazyRole): Promise<Graph | undefined> {
    if (this.#disposed) return Promise.reject(this.#stopped());
    let graph = this.#lazy.get(role);
    if (!graph) {
      graph = this.#openLazy(role);
      this.#lazy.set(role, graph);
    }
    return graph;
  }

  async #openLazy(role: LazyRole): Promise<Graph | undefined> {
    const file = this.#files[role];
    const bytes = typeof file === 'function' ? await file() : file;
    if (!bytes) return undefined;
    const { device, ort } = this.#opened;
    const source = this.#files.source;
    let session: OrtSession;
    try {
      session = await createSession(this.#platform, ort, bytes, device, this.#options);
    } catch (err) {
      throw aekitErrorWithCause(err, 'ModelLoadFailed', source, `${role}.onnx: ${reasonOf(err)}`);
    }
    try {
      const graph = describe(session, role, this.#metadata?.graphs?.[role], source);
      // Both take samples; the autoencoder gives samples back.
      const dims = role === 'autoencoder' ? [graph.inputDims, graph.outputDims] : [graph.inputDims];
      for (const d of dims) {
        const wrong = mismatch(d, this.info.inputShape);
        if (wrong) {
          throw aekitError(
            'ModelLoadFailed',
            source,
            `${role}.onnx has shape ${wrong}; it does not belong with encoder.onnx.`,
          );
        }
      }
      return graph;
    } catch (err) {
      await release(this.#platform, [session]);
      throw err;
    }
  }

  /** Runs one graph for its main output. */
  async #run(graph: Graph, batch: TensorData): Promise<TensorData> {
    return (await this.#runOutputs(graph, batch, [graph.outputName]))[0]!;
  }

  /**
   * Runs one graph once for the outputs `names`, returned in that order; a graph with a
   * fixed batch size runs in chunks of that size.
   */
  async #runOutputs(
    graph: Graph,
    batch: TensorData,
    names: readonly string[],
  ): Promise<TensorData[]> {
    const fixed = graph.inputDims[0];
    const n = batch.shape[0]!;
    if (typeof fixed === 'number' && fixed > 0 && fixed !== n) {
      return this.#runInChunks(graph, batch, names, fixed);
    }
    const { ort } = this.#opened;
    const feed = { [graph.inputName]: new ort.Tensor('float32', batch.data, batch.shape) };
    // dispose() may come while this call waits (its earlier runs, a queue): it stops here.
    const run = runOf(this.#platform)(() => {
      if (this.#disposed) throw this.#stopped();
      return graph.session.run(feed, [...names]);
    });
    this.#running.add(run);
    let outputs: Awaited<typeof run>;
    try {
      outputs = await run;
    } catch (err) {
      throw this.#disposed && !isAekitError(err, 'ModelDisposed') ? this.#stopped(err) : err;
    } finally {
      this.#running.delete(run);
    }
    if (this.#disposed) {
      for (const tensor of Object.values(outputs)) tensor.dispose();
      throw this.#stopped();
    }
    return names.map((name) => {
      const tensor = outputs[name]!;
      const result = { data: floatData(tensor.data, name), shape: [...tensor.dims] };
      tensor.dispose();
      return result;
    });
  }

  /** Runs `batch` in chunks of `size` (the last one padded) and joins each output's parts. */
  async #runInChunks(
    graph: Graph,
    batch: TensorData,
    names: readonly string[],
    size: number,
  ): Promise<TensorData[]> {
    const n = batch.shape[0]!;
    const per = sizeOf(batch.shape.slice(1));
    const parts: TensorData[][] = [];
    for (let start = 0; start < n; start += size) {
      const chunk = new Float32Array(size * per);
      chunk.set(batch.data.subarray(start * per, Math.min(n, start + size) * per));
      const shape = [size, ...batch.shape.slice(1)];
      parts.push(await this.#runOutputs(graph, { data: chunk, shape }, names));
    }
    return names.map((_, k) => {
      const outShape = parts[0]![k]!.shape.slice(1);
      const outPer = sizeOf(outShape);
      const data = new Float32Array(n * outPer);
      parts.forEach((p, i) => {
        const keep = Math.min(size, n - i * size);
        data.set(p[k]!.data.subarray(0, keep * outPer), i * size * outPer);
      });
      return { data, shape: [n, ...outShape] };
    });
  }
}
