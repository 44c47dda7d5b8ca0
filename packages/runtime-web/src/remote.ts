/**
 * `connectAutoencoder`: the {@link Autoencoder} API over a model server that speaks the
 * Open Inference Protocol (KServe "v2" REST) as `aekit serve` does. Browser-safe: `fetch`
 * only.
 *
 * Scale: the server takes and gives samples on the training data's raw scale. A remote
 * model does the same unless it is given the model's `normalization`, in which case it
 * takes and gives samples on the normalised scale, as `loadAutoencoder` does.
 */
import type { Normalization } from '@aekit/core';
import { type AekitError, aekitError, aekitErrorWithCause } from '@aekit/core/errors';
import { type HashIndex, type PackedCodes, packBits } from '@aekit/core/hashing';
import {
  applyNormalization,
  type CapabilityKind,
  TENSOR_NAMES,
  undoNormalization,
} from '@aekit/core/model';
import { mostProbable, sizeOf, toBatch } from './input.js';
import { checkSampleRequest } from './sampling.js';
import { nearestIn } from './search.js';
import type {
  Autoencoder,
  AutoencoderInfo,
  AutoencoderInput,
  ClassifyResult,
  EncodeResult,
  HashSearchSource,
  NearestOptions,
  Neighbours,
  SampleOptions,
  SampleResult,
  TensorData,
} from './session.js';

/** The options of {@link connectAutoencoder} that have defaults. */
type Defaulted = 'timeoutMs' | 'retries' | 'maxRetryDelayMs' | 'maxBatchSize';

/** The defaults of {@link ConnectOptions}. */
export const CONNECT_DEFAULTS: Readonly<Required<Pick<ConnectOptions, Defaulted>>> = Object.freeze({
  timeoutMs: 30_000,
  retries: 2,
  maxRetryDelayMs: 10_000,
  maxBatchSize: 64,
});

/** Options of {@link connectAutoencoder}. */
export interface ConnectOptions {
  /**
   * How the model's inputs were normalised for training (`info.normalization` of the model
   * loaded in-process, or `normalization` in its `aekit.json`). Given, the remote model
   * takes and returns samples on that normalised scale, exactly as `loadAutoencoder`'s
   * does, converting on this side; unset, it takes and returns the raw scale the server
   * speaks.
   */
  readonly normalization?: Normalization;
  /** Longest wait for one HTTP request, in ms (default 30 000); then `ServerUnreachable`. */
  readonly timeoutMs?: number;
  /** Cancels connecting and every call of the model; they reject with the signal's reason. */
  readonly signal?: AbortSignal;
  /**
   * Times a request answered 503 with `Retry-After` (a full queue) is sent again, after
   * the wait the server asks for (default 2; 0: never). No other failure is retried.
   */
  readonly retries?: number;
  /** The longest `Retry-After` waited for, in ms (default 10 000); a longer one fails at once. */
  readonly maxRetryDelayMs?: number;
  /**
   * Most samples sent in one request (default 64, `aekit serve`'s `--max-batch-size`):
   * larger batches go as several requests, one after another.
   */
  readonly maxBatchSize?: number;
  /** Headers sent with every request (e.g. `Authorization` for a gateway in front). */
  readonly headers?: Readonly<Record<string, string>>;
  /** The `fetch` to use (default: the global one). */
  readonly fetch?: typeof fetch;
}

/** What a remote model is: {@link AutoencoderInfo} from the server's model metadata. */
export interface RemoteAutoencoderInfo extends AutoencoderInfo {
  /** Always `'server'`: shapes and names come from `GET /v2/models/{name}-…`. */
  readonly described: 'server';
  /** Always `'remote'`; `executionProviders` and `skippedDevices` are empty. */
  readonly device: 'remote';
  /** The server's base URL, e.g. `http://127.0.0.1:8000`. */
  readonly url: string;
  /** The model's name on the server (the prefix of `<name>-encoder`, `<name>-decoder`, …). */
  readonly name: string;
  /**
   * The scale the methods take and return samples on: `'raw'` (the server's) or, when
   * {@link ConnectOptions.normalization} is given, `'normalized'` (`loadAutoencoder`'s).
   */
  readonly scale: 'raw' | 'normalized';
}

/** An {@link Autoencoder} whose graphs run on a model server. */
export interface RemoteAutoencoder extends Autoencoder {
  readonly info: RemoteAutoencoderInfo;
  /** The same as `dispose()`: requests in flight are aborted; later calls reject. */
  close(): Promise<void>;
}

/** `$metadata_tensor` of the protocol. */
interface MetadataTensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
}

/** The protocol's model metadata, as far as this client reads it. */
interface ModelMetadata {
  readonly inputs: readonly MetadataTensor[];
  readonly outputs: readonly MetadataTensor[];
}

/** What this client reads of aekit's description of a served model. */
interface ServerDescription {
  readonly capabilities: readonly string[];
  readonly classes?: readonly number[];
}

/** `$response_output`, with `data` flat or nested. */
interface ResponseOutput {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: unknown;
}

/** An AekitError from a server's answer, with its HTTP status. */
export type RemoteRequestError = AekitError & {
  /** The HTTP status the server answered with. */
  readonly status: number;
};

/** `RemoteRequestFailed` with the HTTP `status` on the error. */
function failed(url: string, status: number, message: string): RemoteRequestError {
  const err = aekitError('RemoteRequestFailed', url, status, message);
  return Object.assign(err, { status }) as RemoteRequestError;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const reasonOf = (err: unknown): string =>
  err instanceof Error
    ? `${err.message}${err.cause instanceof Error ? ` (${err.cause.message})` : ''}`
    : String(err);

/** `Retry-After` as ms: delay-seconds or an HTTP date; undefined when absent or unreadable. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stop);
      resolve();
    }, ms);
    const stop = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', stop, { once: true });
  });
}

/** Flattens `data` (flat or nested arrays of numbers) into a Float32Array. */
function floats(data: unknown, name: string, url: string): Float32Array {
  const flat = Array.isArray(data) ? (data as unknown[]).flat(Number.POSITIVE_INFINITY) : [];
  if (!Array.isArray(data) || !flat.every((v) => typeof v === 'number')) {
    throw failed(url, 200, `output "${name}" is not an array of numbers.`);
  }
  return Float32Array.from(flat as number[]);
}

/** The sample shape of a declared tensor `[-1, ...sample]`. */
function sampleShape(t: MetadataTensor | undefined, what: string, url: string): number[] {
  const shape = t?.shape;
  if (
    !Array.isArray(shape) ||
    shape.length < 2 ||
    shape[0] !== -1 ||
    !shape.slice(1).every((d) => Number.isInteger(d) && d > 0)
  ) {
    throw aekitError(
      'ModelLoadFailed',
      url,
      `${what} has shape ${JSON.stringify(shape)}; the client takes [-1, ...fixed sizes].`,
    );
  }
  return shape.slice(1);
}

/**
 * Connects to the model `name` on an Open Inference Protocol server at `url` (`aekit serve
 * RUN` serves `<run>-encoder`, `<run>-decoder`, `<run>-autoencoder` and `<run>-classifier`;
 * `name` is `<run>`) and returns an {@link Autoencoder} whose methods run there: the same
 * methods and results as `loadAutoencoder`'s, so an app switches between the two with one
 * line.
 *
 * Reads the metadata of `<name>-encoder` and `<name>-decoder` (which must answer), of
 * `<name>-autoencoder` and `<name>-classifier` (used when present), and whether the decoder
 * samples. `reconstruct` runs `<name>-autoencoder` when the server has it, else the encoder
 * then the decoder; `hash` reads the encoder's `bits` output; `classify` runs
 * `<name>-classifier` (its labels are class numbers: the server does not serve class names).
 *
 * Scale: unless `options.normalization` is given, samples going in (`encode`,
 * `reconstruct`, `hash`, `classify`) and coming out (`decode`, `reconstruct`, `sample`) are
 * on the training data's raw scale (0..255 pixels for MNIST), as the server speaks;
 * codings, log-variances, bits and probabilities have no such scale. So for raw `x`,
 * `remote.encode(x)` gives the codings that the in-process model's `encode` gives for `x`
 * normalised as in training. With `normalization` given, every method takes and returns
 * what the in-process model's does.
 *
 * @throws AekitError `ServerUnreachable` (no answer, or none within `timeoutMs`),
 *   `RemoteRequestFailed` (the server answered an error, e.g. 404 for an unknown model;
 *   the error has the HTTP `status`), `ModelLoadFailed` (metadata that does not describe
 *   an autoencoder).
 */
export async function connectAutoencoder(
  url: string | URL,
  name: string,
  options: ConnectOptions = {},
): Promise<RemoteAutoencoder> {
  const o = { ...CONNECT_DEFAULTS, ...options };
  for (const key of ['timeoutMs', 'retries', 'maxRetryDelayMs', 'maxBatchSize'] as const) {
    const v = o[key];
    const min = key === 'timeoutMs' || key === 'maxBatchSize' ? 1 : 0;
    if (!Number.isInteger(v) || v < min) {
      throw aekitError(
        'InvalidArgument',
        `connectAutoencoder(): ${key} must be an integer >= ${min}, not ${v}.`,
      );
    }
  }
  if (typeof name !== 'string' || name === '' || /[/?#]/.test(name)) {
    throw aekitError(
      'InvalidArgument',
      `connectAutoencoder(): the model name must be a non-empty string without "/", "?" or "#", not ${JSON.stringify(name)}.`,
    );
  }
  const base = String(url).replace(/\/+$/, '');
  const client = new Client(base, o);
  const meta = (role: string) => client.metadata(`${name}-${role}`);
  const [encoder, decoder, whole, classifier, described] = await Promise.all([
    meta('encoder'),
    meta('decoder'),
    client.optional(meta('autoencoder')),
    client.optional(meta('classifier')),
    client.description(`${name}-decoder`),
  ]);
  const modelUrl = `${base}/v2/models/${name}`;
  const [input] = encoder.inputs;
  const codings =
    encoder.outputs.find((t) => t.name === TENSOR_NAMES.codings) ?? encoder.outputs[0];
  const logVariance = encoder.outputs.find((t) => t.name === TENSOR_NAMES.logVariance);
  const bits = encoder.outputs.find((t) => t.name === TENSOR_NAMES.bits);
  const [decoderInput] = decoder.inputs;
  const [output] = decoder.outputs;
  const inputShape = sampleShape(input, `${name}-encoder input`, modelUrl);
  const codingShape = sampleShape(codings, `${name}-encoder output`, modelUrl);
  const decoderIn = sampleShape(decoderInput, `${name}-decoder input`, modelUrl);
  const decoderOut = sampleShape(output, `${name}-decoder output`, modelUrl);
  if (sizeOf(decoderIn) !== sizeOf(codingShape) || sizeOf(decoderOut) !== sizeOf(inputShape)) {
    throw aekitError(
      'ModelLoadFailed',
      modelUrl,
      `${name}-decoder maps [${decoderIn}] to [${decoderOut}], which does not undo ${name}-encoder's [${inputShape}] to [${codingShape}].`,
    );
  }
  const capabilities: CapabilityKind[] = [
    ...(described?.capabilities.includes('sample') ? (['sample'] as const) : []),
    ...(bits ? (['hash'] as const) : []),
    ...(classifier ? (['classify'] as const) : []),
  ];
  const info: RemoteAutoencoderInfo = Object.freeze({
    inputShape: Object.freeze(inputShape),
    codingShape: Object.freeze(codingShape),
    ...(o.normalization ? { normalization: o.normalization } : {}),
    capabilities: Object.freeze(capabilities),
    described: 'server',
    device: 'remote',
    executionProviders: Object.freeze([]),
    skippedDevices: Object.freeze([]),
    inputName: input!.name,
    codingName: codings!.name,
    ...(logVariance ? { logVarianceName: logVariance.name } : {}),
    decoderInputName: decoderInput!.name,
    outputName: output!.name,
    source: modelUrl,
    url: base,
    name,
    scale: o.normalization ? 'normalized' : 'raw',
  } as const);
  return new RemoteModel(client, info, {
    whole: whole !== undefined,
    normalization: o.normalization,
    classes: described?.classes,
  });
}

/** HTTP to one server: timeouts, bounded retries on 503, errors from the catalogue. */
class Client {
  readonly #base: string;
  readonly #options: Required<Pick<ConnectOptions, Defaulted>> & ConnectOptions;
  /** Aborts every request when the model is disposed (or the caller's signal aborts). */
  readonly closing = new AbortController();

  constructor(base: string, options: Required<Pick<ConnectOptions, Defaulted>> & ConnectOptions) {
    this.#base = base;
    this.#options = options;
    const outer = options.signal;
    if (outer?.aborted) this.closing.abort(outer.reason);
    outer?.addEventListener('abort', () => this.closing.abort(outer.reason), { once: true });
  }

  /** Most samples in one request. */
  get maxBatchSize(): number {
    return this.#options.maxBatchSize;
  }

  /** `GET /v2/models/{model}`. */
  async metadata(model: string): Promise<ModelMetadata> {
    const body = await this.request('GET', `/v2/models/${encodeURIComponent(model)}`);
    const url = `${this.#base}/v2/models/${model}`;
    if (!isObject(body) || !Array.isArray(body.inputs) || !Array.isArray(body.outputs)) {
      throw aekitError('ModelLoadFailed', url, 'its metadata has no "inputs" and "outputs".');
    }
    return body as unknown as ModelMetadata;
  }

  /** `promise`'s value, or undefined when the server answered 404 (no such model). */
  async optional<T>(promise: Promise<T>): Promise<T | undefined> {
    try {
      return await promise;
    } catch (err) {
      if ((err as Partial<RemoteRequestError>).status === 404) return undefined;
      throw err;
    }
  }

  /**
   * aekit's description of `model` (`GET /v2/models/{model}/aekit`: capabilities, class
   * labels); undefined from a server that has no such route (Triton, KServe runtimes).
   */
  async description(model: string): Promise<ServerDescription | undefined> {
    let body: unknown;
    try {
      body = await this.request('GET', `/v2/models/${encodeURIComponent(model)}/aekit`);
    } catch (err) {
      const { status } = err as Partial<RemoteRequestError>;
      if (status !== undefined && status >= 400 && status < 500) return undefined;
      throw err;
    }
    if (!isObject(body) || !Array.isArray(body.capabilities)) return undefined;
    const classes = Array.isArray(body.classes) ? (body.classes as unknown[]) : undefined;
    return {
      capabilities: body.capabilities.filter((c): c is string => typeof c === 'string'),
      ...(classes?.every((c) => Number.isInteger(c)) ? { classes: classes as number[] } : {}),
    };
  }

  /** `POST /v2/models/{model}/infer` with one input; the outputs by name. */
  async infer(
    model: string,
    inputName: string,
    batch: TensorData,
    outputs?: readonly string[],
  ): Promise<Record<string, TensorData>> {
    const body = {
      inputs: [
        {
          name: inputName,
          shape: batch.shape,
          datatype: 'FP32',
          data: Array.from(batch.data),
        },
      ],
      ...(outputs ? { outputs: outputs.map((n) => ({ name: n })) } : {}),
    };
    const answer = await this.request(
      'POST',
      `/v2/models/${encodeURIComponent(model)}/infer`,
      body,
    );
    return this.outputsOf(answer, `${this.#base}/v2/models/${model}/infer`);
  }

  /** The tensors of an inference response, by name. */
  outputsOf(answer: unknown, url: string): Record<string, TensorData> {
    if (!isObject(answer) || !Array.isArray(answer.outputs)) {
      throw failed(url, 200, 'the answer has no "outputs".');
    }
    const result: Record<string, TensorData> = {};
    for (const out of answer.outputs as ResponseOutput[]) {
      const data = floats(out?.data, String(out?.name), url);
      const shape = out.shape;
      if (!Array.isArray(shape) || sizeOf(shape) !== data.length) {
        throw failed(
          url,
          200,
          `output "${out.name}" has shape ${JSON.stringify(shape)} but ${data.length} values.`,
        );
      }
      result[out.name] = { data, shape: [...shape] };
    }
    return result;
  }

  /**
   * Sends one request and reads its JSON answer. A 503 with `Retry-After` is sent again
   * (at most `retries` times, waiting at most `maxRetryDelayMs` each); any other error
   * status rejects with `RemoteRequestFailed`.
   */
  async request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const url = `${this.#base}${path}`;
    const { timeoutMs, retries, maxRetryDelayMs, headers } = this.#options;
    const doFetch = this.#options.fetch ?? globalThis.fetch;
    const text = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      const closing = this.closing.signal;
      if (closing.aborted) throw closing.reason;
      const timeout = AbortSignal.timeout(timeoutMs);
      let response: Response;
      let answer: string;
      try {
        response = await doFetch(url, {
          method,
          headers: {
            Accept: 'application/json',
            ...(text !== undefined ? { 'Content-Type': 'application/json' } : {}),
            ...headers,
          },
          ...(text !== undefined ? { body: text } : {}),
          signal: AbortSignal.any([closing, timeout]),
        });
        answer = await response.text();
      } catch (err) {
        if (closing.aborted) throw closing.reason;
        const reason = timeout.aborted ? `no answer within ${timeoutMs} ms.` : reasonOf(err);
        throw aekitErrorWithCause(err, 'ServerUnreachable', url, reason);
      }
      let json: unknown;
      try {
        json = answer === '' ? undefined : JSON.parse(answer);
      } catch {
        json = undefined;
      }
      if (response.ok) {
        if (json === undefined) {
          throw failed(url, response.status, 'the answer is not JSON.');
        }
        return json;
      }
      const delay = retryAfterMs(response.headers.get('Retry-After'));
      if (response.status === 503 && delay !== undefined && attempt < retries) {
        if (delay <= maxRetryDelayMs) {
          await wait(delay, closing);
          continue;
        }
      }
      const message =
        isObject(json) && typeof json.error === 'string'
          ? json.error
          : answer.slice(0, 200) || response.statusText;
      throw failed(url, response.status, message);
    }
  }
}

/** The {@link RemoteAutoencoder} {@link connectAutoencoder} returns. */
class RemoteModel implements RemoteAutoencoder {
  readonly info: RemoteAutoencoderInfo;
  readonly #client: Client;
  readonly #whole: boolean;
  readonly #normalization: Normalization | undefined;
  readonly #classes: readonly number[] | undefined;
  #disposed = false;

  constructor(
    client: Client,
    info: RemoteAutoencoderInfo,
    has: {
      whole: boolean;
      normalization: Normalization | undefined;
      classes: readonly number[] | undefined;
    },
  ) {
    this.#client = client;
    this.info = info;
    this.#whole = has.whole;
    this.#normalization = has.normalization;
    this.#classes = has.classes;
  }

  encode(x: AutoencoderInput): Promise<EncodeResult> {
    return this.#call(async () => {
      const { codingName, logVarianceName } = this.info;
      const names = [codingName, ...(logVarianceName ? [logVarianceName] : [])];
      const out = await this.#infer('encoder', this.#samples(x, 'encode'), names);
      const codings = out[codingName]!;
      return logVarianceName ? { ...codings, logVariance: out[logVarianceName]! } : codings;
    });
  }

  decode(z: AutoencoderInput): Promise<TensorData> {
    return this.#call(async () => {
      const batch = toBatch(z, this.info.codingShape, 'decode');
      const out = await this.#infer('decoder', batch, [this.info.outputName]);
      return this.#fromServer(out[this.info.outputName]!);
    });
  }

  reconstruct(x: AutoencoderInput): Promise<TensorData> {
    return this.#call(async () => {
      const batch = this.#samples(x, 'reconstruct');
      if (this.#whole) {
        const out = await this.#infer('autoencoder', batch, [TENSOR_NAMES.reconstruction]);
        return this.#fromServer(out[TENSOR_NAMES.reconstruction]!);
      }
      const codings = await this.#infer('encoder', batch, [this.info.codingName]);
      const out = await this.#infer('decoder', codings[this.info.codingName]!, [
        this.info.outputName,
      ]);
      return this.#fromServer(out[this.info.outputName]!);
    });
  }

  sample(n: number, options: SampleOptions = {}): Promise<SampleResult> {
    return this.#call(async () => {
      this.#require('sample');
      const { inputShape, codingShape, outputName, codingName } = this.info;
      const request = checkSampleRequest(
        n,
        options,
        Math.max(sizeOf(inputShape), sizeOf(codingShape)),
      );
      const model = `${this.info.name}-decoder`;
      const answer = await this.#client.request(
        'POST',
        `/v2/models/${encodeURIComponent(model)}/sample`,
        {
          n: request.n,
          seed: request.seed,
          temperature: request.temperature,
          ...(options.steps !== undefined ? { steps: options.steps } : {}),
        },
      );
      const url = `${this.info.url}/v2/models/${model}/sample`;
      const out = this.#client.outputsOf(answer, url);
      const samples = out[outputName];
      if (!samples) {
        throw failed(url, 200, `the answer has no "${outputName}".`);
      }
      const params = (answer as { parameters?: { seed?: unknown } }).parameters;
      const seed = typeof params?.seed === 'number' ? params.seed : request.seed;
      const codings = out[codingName];
      return {
        ...this.#fromServer(samples),
        ...(codings ? { codings } : {}),
        ...(options.steps !== undefined && !codings ? { steps: options.steps } : {}),
        seed,
      };
    });
  }

  hash(x: AutoencoderInput): Promise<PackedCodes> {
    return this.#call(() => this.#hash(x, 'hash'));
  }

  async #hash(x: AutoencoderInput, call: string): Promise<PackedCodes> {
    this.#require('hash');
    const out = await this.#infer('encoder', this.#samples(x, call), [TENSOR_NAMES.bits]);
    return packBits(out[TENSOR_NAMES.bits]!.data, sizeOf(this.info.codingShape));
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
      const out = await this.#infer('classifier', this.#samples(x, 'classify'), [
        TENSOR_NAMES.probabilities,
      ]);
      const probabilities = out[TENSOR_NAMES.probabilities]!;
      return { probabilities, labels: mostProbable(probabilities, this.#classes) };
    });
  }

  /** Aborts the requests in flight (they reject with `ModelDisposed`). Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#client.closing.abort(aekitError('ModelDisposed', this.#what, true));
  }

  close(): Promise<void> {
    return this.dispose();
  }

  get #what(): string {
    return `The remote autoencoder "${this.info.name}" at ${this.info.url}`;
  }

  async #call<T>(task: () => Promise<T>): Promise<T> {
    if (this.#disposed) throw aekitError('ModelDisposed', this.#what);
    return task();
  }

  #require(capability: CapabilityKind): void {
    const { capabilities } = this.info;
    if (capabilities.includes(capability)) return;
    throw aekitError('CapabilityMissing', this.#what, capability, capabilities);
  }

  /** Checked samples, on the raw scale the server takes. */
  #samples(x: AutoencoderInput, call: string): TensorData {
    const batch = toBatch(x, this.info.inputShape, call);
    const n = this.#normalization;
    if (!n) return batch;
    return {
      data: undoNormalization(batch.data, sizeOf(this.info.inputShape), n),
      shape: batch.shape,
    };
  }

  /** Samples from the server, on the scale this model returns. */
  #fromServer(t: TensorData): TensorData {
    const n = this.#normalization;
    if (!n) return t;
    const data = applyNormalization(new Float32Array(t.data), sizeOf(this.info.inputShape), n);
    return { data, shape: t.shape };
  }

  /**
   * Runs `<name>-<role>` on a batch, in requests of at most `maxBatchSize` samples, and
   * joins each output's rows.
   */
  async #infer(
    role: 'encoder' | 'decoder' | 'autoencoder' | 'classifier',
    batch: TensorData,
    outputs: readonly string[],
  ): Promise<Record<string, TensorData>> {
    const { inputName, decoderInputName, name } = this.info;
    const input = role === 'decoder' ? decoderInputName : inputName;
    const rows = batch.shape[0]!;
    const per = sizeOf(batch.shape.slice(1));
    const most = this.#client.maxBatchSize;
    const parts: Record<string, TensorData>[] = [];
    for (let start = 0; start < rows; start += most) {
      const end = Math.min(rows, start + most);
      const chunk = {
        data: batch.data.subarray(start * per, end * per),
        shape: [end - start, ...batch.shape.slice(1)],
      };
      parts.push(await this.#client.infer(`${name}-${role}`, input, chunk, outputs));
    }
    const url = `${this.info.url}/v2/models/${name}-${role}/infer`;
    const joined: Record<string, TensorData> = {};
    for (const key of outputs) {
      const pieces = parts.map((p) => p[key]);
      if (pieces.some((p) => p === undefined)) {
        throw failed(url, 200, `the answer has no "${key}".`);
      }
      if (pieces.length === 1) {
        joined[key] = pieces[0]!;
        continue;
      }
      const data = new Float32Array(pieces.reduce((a, p) => a + p!.data.length, 0));
      let at = 0;
      for (const p of pieces) {
        data.set(p!.data, at);
        at += p!.data.length;
      }
      joined[key] = { data, shape: [rows, ...pieces[0]!.shape.slice(1)] };
    }
    return joined;
  }
}
