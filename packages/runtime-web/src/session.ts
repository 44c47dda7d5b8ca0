/**
 * The platform-independent interface of the aekit runtime: what a loaded autoencoder
 * offers, what it accepts and what a platform entry (`node.ts`, `browser.ts`) supplies.
 * Nothing here imports an ONNX Runtime package; only `onnxruntime-common`'s types.
 */
import type { Normalization } from '@aekit/core';
import type { HashIndex, HashSearchResult, PackedCodes } from '@aekit/core/hashing';
import type * as OrtCommon from 'onnxruntime-common';
import type { Sampler } from './metadata.js';

/** Samples as a flat row-major array with their shape, batch axis first. */
export interface TensorData {
  /** Row-major values; `data.length` is the product of `shape`. */
  readonly data: Float32Array;
  /** `[N, ...sampleShape]`. */
  readonly shape: readonly number[];
}

/**
 * What `encode` returns: the codings, and for a variational autoencoder (an encoder graph
 * with a `log_variance` output) the log-variance of each coding, from the same run.
 */
export type EncodeResult = TensorData & {
  /**
   * `log σ²` of the Gaussian each coding is the mean of, `[N, ...codingShape]`; present
   * only when the encoder graph has a `log_variance` output (see `info.logVarianceName`).
   */
  readonly logVariance?: TensorData;
};

/** Options of `sample`. */
export interface SampleOptions {
  /**
   * Seed of the generator: the same seed gives the same codings in Node and in browsers.
   * A safe integer; unset, a random one is drawn (and returned as `seed`).
   */
  readonly seed?: number;
  /** Standard deviation the N(0, I) draws are scaled by: `1` (default) is the prior. */
  readonly temperature?: number;
  /** Chain samplers: steps of the Markov chain (default: the model's, from aekit.json). */
  readonly steps?: number;
}

/** What `sample` returns: the decoded samples, with the codings they were decoded from. */
export interface SampleResult extends TensorData {
  /**
   * Prior samplers: the codings drawn from N(0, temperature² I), `[n, ...codingShape]`.
   * Chain samplers have none; they report `steps`.
   */
  readonly codings?: TensorData;
  /** Chain samplers: the steps the Markov chain ran. */
  readonly steps?: number;
  /** The seed they were drawn with (the one given, or the random one picked). */
  readonly seed: number;
}

/** Arrays nested to any depth, with numbers at the leaves. */
export type NestedArray = readonly (number | NestedArray)[];

/**
 * What `encode`, `decode` and `reconstruct` accept:
 * - a `Float32Array` (or flat `number[]`) holding one or more samples back to back;
 * - nested arrays whose first level is the samples (`number[][]`, `number[][][]`, …), each
 *   sample either in the model's sample shape or flat;
 * - `{ data, shape }` with `shape = [N, ...sampleShape]`.
 */
export type AutoencoderInput =
  | Float32Array
  | NestedArray
  | { readonly data: Float32Array | readonly number[]; readonly shape: readonly number[] };

/** The bytes of a model, for when the files are already in memory. */
export interface ModelBytes {
  /** `encoder.onnx`. */
  readonly encoder: Uint8Array | ArrayBuffer;
  /** `decoder.onnx`. */
  readonly decoder: Uint8Array | ArrayBuffer;
  /** `autoencoder.onnx`, when there is one. */
  readonly autoencoder?: Uint8Array | ArrayBuffer;
  /** The contents of `aekit.json`, when there is one. */
  readonly metadata?: unknown;
}

/**
 * Where a model comes from: a folder path (Node), a base URL (browsers; http(s) URLs in
 * Node too), or the model bytes.
 */
export type AutoencoderSource = string | URL | ModelBytes;

/** Options of `loadAutoencoder`. */
export interface LoadOptions {
  /**
   * Where to run: `'auto'` (default: WebGPU when it works, else the CPU), or one of the
   * platform's devices: `'cpu'` or `'webgpu'` in Node, `'wasm'` or `'webgpu'` in browsers.
   */
  readonly device?: string;
  /**
   * Browsers only: where onnxruntime-web's `.wasm` (and `.mjs`) files are, as
   * `ort.env.wasm.wasmPaths` takes it (a folder URL ending in `/`, or `{ wasm, mjs }`).
   * Unset, onnxruntime-web finds them beside its own module (`new URL(…, import.meta.url)`),
   * which Vite and other bundlers turn into emitted assets.
   */
  readonly wasmPaths?: string | { readonly wasm?: string | URL; readonly mjs?: string | URL };
  /** Browsers only: wasm threads (`ort.env.wasm.numThreads`); ONNX Runtime picks by default. */
  readonly numThreads?: number;
  /**
   * Further ONNX Runtime session options (the execution providers come from `device`).
   * Browsers set `logSeverityLevel: 3` (errors only) unless it is given here.
   */
  readonly sessionOptions?: Omit<OrtCommon.InferenceSession.SessionOptions, 'executionProviders'>;
  /**
   * Browsers: called as the model's files download, with the bytes so far and in all (from
   * `Content-Length`) across the files of this load, and the file being read. Files read
   * from the cache count too.
   */
  readonly onProgress?: (progress: LoadProgress) => void;
  /**
   * Browsers: keep the downloaded graphs in the Cache API (`caches`, cache
   * `aekit-models-v1`) so that the next visit downloads none (default true). An entry is
   * the file's URL plus a version: `cacheKey`, else a hash of `aekit.json` (fetched every
   * time); a model with neither is not cached. Skipped where `caches` is missing (Node, an
   * insecure context).
   */
  readonly cache?: boolean;
  /** The version the cached graphs are stored under (default: a hash of `aekit.json`). */
  readonly cacheKey?: string;
  /**
   * Browsers: run the sessions in a Web Worker (the same API; inputs are copied to it and
   * results transferred back), so that the page stays responsive during long runs.
   * `true` starts the module worker shipped with this package; a URL names another build
   * of it (for pages without a bundler, whose import maps workers do not see).
   */
  readonly worker?: boolean | string | URL;
  /**
   * Refuse inputs that look raw while the model takes normalised values (default true):
   * encode, reconstruct, hash, nearest and classify throw `InputScaleMismatch` when a
   * value lies far outside the normalised range (for MNIST's "unit" normalisation, above
   * 5: 0..255 pixels not divided by 255). A model without a recorded normalisation is not
   * checked.
   */
  readonly checkScale?: boolean;
}

/** What `onProgress` gets. */
export interface LoadProgress {
  /** Bytes read so far, across the files of this load. */
  readonly loaded: number;
  /**
   * Bytes in all across the files started so far (their `Content-Length`s); `undefined`
   * while a file's length is unknown.
   */
  readonly total: number | undefined;
  /** The file being read, e.g. `encoder.onnx`. */
  readonly file: string;
  /** Whether this file came from the cache rather than the network. */
  readonly cached: boolean;
}

/** What a loaded autoencoder is, and where it runs. */
export interface AutoencoderInfo {
  /** Shape of one input sample (without the batch axis). */
  readonly inputShape: readonly number[];
  /** Shape of one coding (without the batch axis). */
  readonly codingShape: readonly number[];
  /** The aekit variant that trained the model (from `aekit.json`), for people to read. */
  readonly variant?: string;
  /** How raw inputs were normalised for training (from `aekit.json`); the graphs expect normalised inputs. */
  readonly normalization?: Normalization;
  /** The decoder's last activation, e.g. `sigmoid` (from `aekit.json`). */
  readonly outputActivation?: string;
  /** What the model can do beyond reconstruction, e.g. `sample`, `hash` (from `aekit.json`). */
  readonly capabilities: readonly string[];
  /** How `sample` generates, when `aekit.json` says (absent: from the prior). */
  readonly sampler?: Sampler;
  /** The aekit version that exported the model (from `aekit.json`). */
  readonly aekitVersion?: string;
  /**
   * Whether the shapes and names came from `aekit.json`, from the ONNX sessions alone, or
   * (`connectAutoencoder`) from a model server's metadata.
   */
  readonly described: 'aekit.json' | 'sessions' | 'server';
  /** The device the sessions run on (never `'auto'`). */
  readonly device: string;
  /** Browsers: true when the sessions run in a Web Worker (`LoadOptions.worker`). */
  readonly worker?: boolean;
  /** The ONNX Runtime execution providers of that device. */
  readonly executionProviders: readonly string[];
  /**
   * Why the sessions run on `device`, for people to read: `"wasm" was asked for`, or what
   * `'auto'` found (`wasm: the only WebGPU adapter is a fallback (software) adapter …`,
   * or both devices' timed calls).
   */
  readonly deviceReason?: string;
  /** Devices `'auto'` tried first and why each could not run, e.g. `webgpu: no adapter`. */
  readonly skippedDevices: readonly string[];
  /** Input name of the encoder graph. */
  readonly inputName: string;
  /** Output name of the encoder graph. */
  readonly codingName: string;
  /**
   * The encoder's log-variance output (`log_variance` in a variational autoencoder), which
   * `encode` returns as `logVariance`; absent when the encoder has none.
   */
  readonly logVarianceName?: string;
  /** Input name of the decoder graph. */
  readonly decoderInputName: string;
  /** Output name of the decoder graph. */
  readonly outputName: string;
  /** Where the model was loaded from, for messages. */
  readonly source: string;
}

/** A loaded autoencoder: its sessions are created once and reused by every call. */
export interface Autoencoder {
  /** Shapes, names, metadata and device. */
  readonly info: AutoencoderInfo;
  /**
   * Maps samples `[N, ...inputShape]` to codings `[N, ...codingShape]`. For a variational
   * autoencoder the codings are the means, and `logVariance` holds their log-variances.
   */
  encode(x: AutoencoderInput): Promise<EncodeResult>;
  /** Maps codings `[N, ...codingShape]` to reconstructions `[N, ...inputShape]`. */
  decode(z: AutoencoderInput): Promise<TensorData>;
  /**
   * Encodes then decodes, with `autoencoder.onnx` in one run when the model has it (a
   * variational autoencoder decodes the means: no sampling).
   */
  reconstruct(x: AutoencoderInput): Promise<TensorData>;
  /**
   * Generates `n` samples as `info.sampler` says: a prior sampler (the default) draws `n`
   * codings from N(0, temperature² I) with a seeded generator and decodes them; a chain
   * sampler runs its Markov chain from seeded noise. Only for models whose
   * `info.capabilities` include `sample`; others reject with `CapabilityMissing`. `n` is a positive integer whose samples hold at
   * most `MAX_SAMPLE_VALUES` (2^26) values in all, as they are decoded in one run
   * (`InvalidArgument` otherwise). The draws are pure-rand's xoroshiro128+ seeded with `seed`
   * (0 to 2^32 - 1) turned normal by Box-Muller, so a seed gives the same codings in Node and
   * in browsers.
   */
  sample(n: number, options?: SampleOptions): Promise<SampleResult>;
  /**
   * The binary codes of samples `[N, ...inputShape]`: the encoder's `bits` output (its
   * codings rounded: 1 above 0.5), packed 32 to a word, least significant bit first (see
   * `@aekit/core/hashing`). Only for models whose `info.capabilities` include `hash`;
   * others reject with `CapabilityMissing`.
   */
  hash(x: AutoencoderInput): Promise<PackedCodes>;
  /**
   * For each sample of `x`, the items of `index` (built by `aekit hash` from this model, read
   * with `parseHashIndex`, or a {@link HashSearchSource} such as a PostgreSQL table of
   * `@aekit/postgres`) whose codes are within Hamming distance `radius` of its code, or its
   * `k` nearest: item numbers sorted by distance then number, with their ids and labels when
   * the index has them. Give exactly one of `radius` and `k`.
   */
  nearest(
    x: AutoencoderInput,
    index: HashIndex | HashSearchSource,
    options: NearestOptions,
  ): Promise<Neighbours[]>;
  /**
   * Class probabilities `[N, classes]` of samples `[N, ...inputShape]` and the most probable
   * label of each, from `classifier.onnx` (read or fetched on first use). Only for models
   * whose `info.capabilities` include `classify` (classifier runs of `aekit classify`).
   */
  classify(x: AutoencoderInput): Promise<ClassifyResult>;
  /**
   * Releases the ONNX Runtime sessions (after any run already inside ONNX Runtime ends).
   * Later calls, and calls still in flight, reject with `ModelDisposed`. Safe to call twice.
   */
  dispose(): Promise<void>;
}

/** What {@link Autoencoder.classify} returns. */
export interface ClassifyResult {
  /** `[N, classes]`: each row sums to 1. */
  readonly probabilities: TensorData;
  /** The most probable label of each sample (aekit.json's `classes`, else the class number). */
  readonly labels: Int32Array;
}

/** What {@link Autoencoder.nearest} searches for: one of the two. */
export type NearestOptions =
  | { readonly radius: number; readonly k?: undefined }
  | { readonly k: number; readonly radius?: undefined };

/** What a {@link HashSearchSource} finds for one query, nearest first, ties by item number. */
export interface SourceMatches {
  /** Item numbers (insertion order in the source). */
  readonly items: readonly number[];
  readonly distances: ArrayLike<number>;
  readonly ids?: readonly string[];
  /** Labels, `null` where an item has none. */
  readonly labels?: readonly (number | null)[];
}

/**
 * A hash index searched elsewhere (a database: `openHashTable` of `@aekit/postgres`), which
 * {@link Autoencoder.nearest} takes in place of an in-memory index: its code width and the
 * two searches, answering as the in-memory index does on the same codes.
 */
export interface HashSearchSource {
  readonly bits: number;
  searchRadius(query: Uint32Array, radius: number): Promise<SourceMatches>;
  searchNearest(query: Uint32Array, k: number): Promise<SourceMatches>;
}

/**
 * The neighbours of one query in a hash index: item numbers (`indices`) nearest first, ties
 * by item number, and their Hamming distances (`distances`).
 */
export interface Neighbours extends HashSearchResult {
  /** Their ids, when the index has ids. */
  readonly ids?: readonly string[];
  /** Their labels, when the index has labels. */
  readonly labels?: Int32Array;
}

/** The parts of an ONNX Runtime JS package (`onnxruntime-node` or `onnxruntime-web`) aekit uses. */
export type OrtModule = Pick<typeof OrtCommon, 'InferenceSession' | 'Tensor' | 'env'>;

/** One ONNX Runtime session, as `onnxruntime-common` declares it. */
export type OrtSession = OrtCommon.InferenceSession;

/**
 * The model files of a source, as bytes. `autoencoder` may be a loader that runs on the
 * first `reconstruct` (and answers `undefined` when there is no such file), so that a
 * browser does not download the combined graph unless it is used.
 */
export interface ModelFiles {
  /** `encoder.onnx`. */
  readonly encoder: Uint8Array;
  /** `decoder.onnx`. */
  readonly decoder: Uint8Array;
  /** `autoencoder.onnx`, a loader for it, or nothing. */
  readonly autoencoder?: Uint8Array | (() => Promise<Uint8Array | undefined>);
  /** `classifier.onnx` of a classifier run (`aekit classify`), or a loader for it. */
  readonly classifier?: Uint8Array | (() => Promise<Uint8Array | undefined>);
  /** The parsed contents of `aekit.json`, unchecked. */
  readonly metadata?: unknown;
  /** Where the files came from, for messages. */
  readonly source: string;
}

/**
 * What a platform entry gives the shared core: its devices, how to get the ONNX Runtime
 * module for each, and whether runs must be serialised.
 */
export interface RuntimePlatform {
  /** Device name -> execution providers (a frozen table). */
  readonly devices: Readonly<Record<string, readonly string[]>>;
  /** The order `'auto'` tries devices in; the last one is the reference CPU device. */
  readonly autoOrder: readonly string[];
  /**
   * The ONNX Runtime module for `device`, after checking what can be checked before a
   * session exists. Rejects (with a reason a user can act on) when the device cannot work.
   */
  ortFor(device: string, options: LoadOptions): Promise<OrtModule>;
  /**
   * Why `'auto'` should pass over `device` without trying it (a WebGPU probe where no GPU is
   * likely only prints native warnings), or `undefined` to try it. A device asked for by
   * name is always tried.
   */
  readonly autoSkip?: (device: string) => string | undefined;
  /**
   * Runs `task` after every task queued before it (web: wasm and WebGPU sessions cannot run
   * concurrently); absent where runs may overlap.
   */
  readonly enqueue?: <T>(task: () => Promise<T>) => Promise<T>;
}
