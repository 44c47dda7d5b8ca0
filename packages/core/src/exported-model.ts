/**
 * The exported-model contract: `onnx/aekit.json`, what a runtime needs beside the ONNX
 * graphs to use them without the rest of the run directory. One module owns it: the
 * format tag, the type, the parser every runtime reads it with, the writer every exporter
 * writes it with, the tensor names of the graphs, and the capability and sampler kinds a
 * variant plugin declares as data. A runtime runs what the file declares and never needs
 * to know which variant wrote it.
 *
 * Browser-safe (`@aekit/core/model`): it imports only the error catalogue and the
 * normalisation kinds, and no Node API.
 *
 * The checks are written by hand rather than as a zod schema on purpose: this module is in
 * the page chunk of every web app that runs a model, and the same checks as a schema would
 * add about 37 KB minified (9.5 KB gzip) to it with `zod/mini`, about 120 KB with full zod
 * (Vite builds), where the whole runtime layer is about 50 KB. The checks below are the one
 * definition; the run manifest's zod schema (`manifest.ts`) builds on the lists exported
 * here.
 *
 * @packageDocumentation
 */
import { aekitError, aekitErrorWithCause } from './errors.js';
import {
  applyNormalization,
  checkInputScale,
  IDENTITY,
  NORMALIZATION_KINDS,
  type Normalization,
  undoNormalization,
} from './normalization.js';

/**
 * How runtimes apply `normalization` to inputs and undo it on outputs, and check that
 * inputs are on the scale it expects.
 */
export { applyNormalization, checkInputScale, IDENTITY, undoNormalization };

/** The format tag of `aekit.json` that this version writes and reads. */
export const EXPORTED_MODEL_FORMAT = 'aekit-onnx/1';

/** The name of the file beside the ONNX graphs. */
export const EXPORTED_MODEL_FILE = 'aekit.json';

/**
 * The names of the tensors of the graphs aekit exports, which runtimes look up: every
 * exporter and runtime spells them through this table.
 */
export const TENSOR_NAMES = Object.freeze({
  /** Samples into an encoder, autoencoder or classifier graph. */
  input: 'input',
  /** An encoder's output and a decoder's input (the mean of a variational encoder). */
  codings: 'codings',
  /** A decoder's or an autoencoder's output. */
  reconstruction: 'reconstruction',
  /** A variational encoder's further output, log(sigma^2) of each coding. */
  logVariance: 'log_variance',
  /** A hashing encoder's further output: the codings rounded to 0 or 1. */
  bits: 'bits',
  /** A classifier graph's output, one probability per class. */
  probabilities: 'probabilities',
} as const);

/** One of {@link TENSOR_NAMES}' values. */
export type TensorName = (typeof TENSOR_NAMES)[keyof typeof TENSOR_NAMES];

/**
 * What a runtime can do with a model beyond encode, decode and reconstruct, each enabled
 * by listing it in `aekit.json`'s `capabilities`, with what it uses.
 */
export const CAPABILITIES = Object.freeze({
  sample: Object.freeze({
    summary: 'generates new samples with the decoder, as the `sampler` says (default: prior)',
  }),
  hash: Object.freeze({
    summary: `packs binary codes of the codings (the encoder's "${TENSOR_NAMES.bits}" output when it has one)`,
  }),
  classify: Object.freeze({
    summary: `predicts labels with the classifier graph ("${TENSOR_NAMES.probabilities}" over \`classes\`)`,
  }),
} as const);

/** A capability a model can declare (see {@link CAPABILITIES}). */
export type CapabilityKind = keyof typeof CAPABILITIES;

/** Every capability kind, in a fixed order. */
export const CAPABILITY_KINDS: readonly CapabilityKind[] = Object.freeze(
  Object.keys(CAPABILITIES) as CapabilityKind[],
);

/** Whether `value` names a {@link CapabilityKind}. */
export function isCapabilityKind(value: unknown): value is CapabilityKind {
  return typeof value === 'string' && Object.hasOwn(CAPABILITIES, value);
}

/** The ways a model with the `sample` capability generates (see {@link SamplerSpec}). */
export const SAMPLER_KINDS = Object.freeze(['prior', 'chain'] as const);

/** One of {@link SAMPLER_KINDS}. */
export type SamplerKind = (typeof SAMPLER_KINDS)[number];

/** How a chain sampler corrupts its images at each step. */
export const CHAIN_NOISES = Object.freeze(['gaussian', 'dropout'] as const);

/** Most steps a sampling chain may take. */
export const MAX_CHAIN_STEPS = 100_000;

/** Most values one sample or coding may hold: far above any model, far below overflow. */
export const MAX_SHAPE_VALUES = 2 ** 31;

/** Codings drawn from N(0, I) and decoded. */
export interface PriorSampler {
  readonly kind: 'prior';
}

/**
 * A Markov chain from uniform noise: each step corrupts the current images as in training
 * (Gaussian noise of `noiseStd`, or values switched off with probability `noiseRate`),
 * reconstructs them and draws binary pixels from the reconstruction, `steps` times.
 */
export interface ChainSampler {
  readonly kind: 'chain';
  readonly noise: (typeof CHAIN_NOISES)[number];
  /** Standard deviation of the Gaussian noise, at least 0. */
  readonly noiseStd: number;
  /** Probability of switching a value off, in [0, 1). */
  readonly noiseRate: number;
  /** Steps of the chain, from 1 to {@link MAX_CHAIN_STEPS}. */
  readonly steps: number;
}

/** How a model samples (`aekit.json`'s `sampler`, declared by the variant plugin). */
export type SamplerSpec = PriorSampler | ChainSampler;

/** One ONNX graph file listed in `aekit.json`. */
export interface GraphEntry {
  /** File name in the model folder (a name, never a path). */
  readonly file: string;
  /** Its input name. */
  readonly input: string;
  /** Its output name. */
  readonly output: string;
  /**
   * Names of the graph's further outputs, fetched in the same run as `output`: a
   * variational autoencoder's encoder lists `["log_variance"]`. Absent when the graph has
   * one output.
   */
  readonly extraOutputs?: readonly string[];
}

/**
 * Where the samples came from that the export checked ONNX Runtime against TensorFlow.js
 * on: the data set's `test` split, the run's `validation` split, its `training` split (a
 * run without held-out samples), a user's `file`, or `random` seeded uniform inputs (a run
 * whose data was only in memory).
 */
export const CHECK_SAMPLE_SOURCES = Object.freeze([
  'test',
  'validation',
  'training',
  'file',
  'random',
] as const);

/** One of {@link CHECK_SAMPLE_SOURCES}. */
export type CheckSampleSource = (typeof CHECK_SAMPLE_SOURCES)[number];

/** The parity check of an export: how many samples, where from, the largest difference. */
export interface ExportCheck {
  readonly samples: number;
  readonly from: CheckSampleSource;
  /** Largest |ONNX Runtime - TensorFlow.js| over every graph, sample and output. */
  readonly maxAbsDiff: number;
}

/** A model folder's place in a Triton model repository (`NAME/VERSION/`). */
export interface RepositoryEntry {
  /** The model's name: its folder's in the repository. */
  readonly model: string;
  /** Its version: the folder's name, a positive integer. */
  readonly version: number;
}

/** The precisions an exporter stores weights at, widest first. */
export const PRECISIONS = Object.freeze(['fp32', 'fp16', 'int8'] as const);

/** One of {@link PRECISIONS}: float32, float16, or int8 with a float32 scale per channel. */
export type Precision = (typeof PRECISIONS)[number];

/** Whether `value` names a {@link Precision}. */
export function isPrecision(value: unknown): value is Precision {
  return (PRECISIONS as readonly unknown[]).includes(value);
}

/** One quality measure of an export, at float32 and at the precision written. */
export interface QualityMeasure {
  /** The measure of the float32 graphs. */
  readonly fp32: number;
  /** The measure of the graphs as written. */
  readonly value: number;
  /**
   * Relative change against float32, either way: `|value - fp32| / |fp32|` (`|value|` when
   * `fp32` is 0); for `bitAgreement`, `1 - value`. Noise from smaller weights that happens to
   * improve a measure moved the model as much as noise that worsens it.
   */
  readonly loss: number;
}

/**
 * The quality of the graphs as written against their float32 form, measured in ONNX Runtime
 * on held-out samples before anything was written: `mse` (reconstruction, every
 * autoencoder), `negativeElbo` (nats per sample, models whose encoder gives a
 * `log_variance`), `bitAgreement` and `precisionAt10` (models with the `hash` capability;
 * the second on labelled samples), `accuracy` (a classifier, on labelled samples).
 */
export interface ExportQuality {
  /** Each measure by name. */
  readonly metrics: Readonly<Record<string, QualityMeasure>>;
  /** The largest loss of any measure (0 for float32): what the budget was held to. */
  readonly loss: number;
  /** The largest loss the export allowed. */
  readonly budget: number;
  /** Samples measured on. */
  readonly samples: number;
  /** Where the samples came from. */
  readonly from: CheckSampleSource;
}

/**
 * The contents of `aekit.json`. Only `format`, `inputShape` and `codingShape` must be
 * there; runtimes report the rest and act on `capabilities`, `sampler`, `classes` and
 * `graphs`.
 */
export interface ExportedModel {
  /** Always {@link EXPORTED_MODEL_FORMAT}. */
  readonly format: typeof EXPORTED_MODEL_FORMAT;
  /** The variant that trained the model, for people: runtimes never act on it. */
  readonly variant?: string;
  /** Shape of one input sample, e.g. `[28, 28, 1]`. */
  readonly inputShape: readonly number[];
  /** Shape of one coding, e.g. `[30]`. */
  readonly codingShape: readonly number[];
  /**
   * How raw inputs are to be normalised before the graphs (`x * scale + offset`); runtimes
   * apply it to inputs and undo it on outputs. `none` where the graphs take raw values.
   */
  readonly normalization?: Normalization;
  /**
   * The training normalisation folded into the graphs themselves (a model repository's
   * graphs take and give raw values): for people, runtimes never apply it.
   */
  readonly foldedNormalization?: Normalization;
  /** Where the folder sits in a Triton model repository: its model name and version. */
  readonly repository?: RepositoryEntry;
  /** The decoder's last activation, e.g. `sigmoid`. */
  readonly outputActivation?: string;
  /**
   * What the model can do beyond reconstruction ({@link CAPABILITY_KINDS}); `[]` when the
   * file lists none. A runtime ignores kinds it does not know.
   */
  readonly capabilities: readonly string[];
  /** How `sample` generates (absent: from the prior). */
  readonly sampler?: SamplerSpec;
  /** A classifier's labels, one per output of the classifier graph, in order. */
  readonly classes?: readonly number[];
  /** Graph files by role (`encoder`, `decoder`, `autoencoder`, `classifier`, …). */
  readonly graphs?: Readonly<Record<string, GraphEntry>>;
  /** What the graphs were checked on against TensorFlow.js before they were written. */
  readonly check?: ExportCheck;
  /**
   * The precision the graphs store their weights at (absent: `fp32`). Every graph's inputs
   * and outputs are float32 whatever it is, so runtimes load them alike.
   */
  readonly precision?: Precision;
  /** The graphs' quality against their float32 form, when the export measured it. */
  readonly quality?: ExportQuality;
  /** The aekit version that exported the model. */
  readonly aekitVersion?: string;
}

type Fields = Record<string, unknown>;

const isObject = (v: unknown): v is Fields =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

const isStrings = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((s) => typeof s === 'string');

const isShape = (v: unknown): v is number[] =>
  Array.isArray(v) &&
  v.length > 0 &&
  v.every((d) => Number.isSafeInteger(d) && d > 0) &&
  v.reduce((a: number, b: number) => a * b, 1) <= MAX_SHAPE_VALUES;

const isScaleOrOffset = (v: unknown): boolean =>
  isFiniteNumber(v) || (Array.isArray(v) && v.every(isFiniteNumber));

const inRange = (v: unknown, lo: number, hi: number): boolean =>
  isFiniteNumber(v) && v >= lo && v <= hi;

/** What is wrong with `sampler`, or undefined. */
function samplerProblem(s: unknown): string | undefined {
  const ok =
    isObject(s) &&
    (s.kind === 'prior' ||
      (s.kind === 'chain' &&
        (CHAIN_NOISES as readonly unknown[]).includes(s.noise) &&
        inRange(s.noiseStd, 0, Number.MAX_VALUE) &&
        isFiniteNumber(s.noiseRate) &&
        s.noiseRate >= 0 &&
        s.noiseRate < 1 &&
        Number.isInteger(s.steps) &&
        inRange(s.steps, 1, MAX_CHAIN_STEPS)));
  return ok
    ? undefined
    : `"sampler" must be { kind: "prior" } or { kind: "chain", noise: ${CHAIN_NOISES.map((n) => `"${n}"`).join(' | ')}, noiseStd >= 0, noiseRate in [0, 1), steps from 1 to ${MAX_CHAIN_STEPS} }.`;
}

/** What is wrong with `graphs`, or undefined. */
function graphsProblem(graphs: unknown): string | undefined {
  if (!isObject(graphs)) return '"graphs" must be an object.';
  for (const [role, e] of Object.entries(graphs)) {
    if (
      !isObject(e) ||
      typeof e.file !== 'string' ||
      typeof e.input !== 'string' ||
      typeof e.output !== 'string'
    ) {
      return `"graphs.${role}" must be { file, input, output } (strings).`;
    }
    if (e.extraOutputs !== undefined && !isStrings(e.extraOutputs)) {
      return `"graphs.${role}.extraOutputs" must be an array of strings.`;
    }
    if (!/^[^/\\]+$/.test(e.file) || e.file === '..' || e.file === '.') {
      return `"graphs.${role}.file" must be a file name in the model folder, not a path.`;
    }
  }
  return undefined;
}

/**
 * The first thing wrong with the contents of an `aekit.json`, in the order of its fields,
 * or undefined when it is valid.
 */
function problemOf(m: unknown): string | undefined {
  if (!isObject(m)) return 'it is not a JSON object.';
  if (m.format !== EXPORTED_MODEL_FORMAT) {
    return `"format" is ${JSON.stringify(m.format)}; this runtime reads "${EXPORTED_MODEL_FORMAT}". Update @aekit/runtime-web, or export the model again.`;
  }
  for (const key of ['inputShape', 'codingShape'] as const) {
    if (!isShape(m[key])) {
      return `"${key}" must be a non-empty array of positive integers (at most ${MAX_SHAPE_VALUES} values in all).`;
    }
  }
  for (const key of ['variant', 'outputActivation', 'aekitVersion'] as const) {
    if (m[key] !== undefined && typeof m[key] !== 'string') return `"${key}" must be a string.`;
  }
  if (m.capabilities !== undefined && !isStrings(m.capabilities)) {
    return '"capabilities" must be an array of strings.';
  }
  for (const key of ['normalization', 'foldedNormalization'] as const) {
    const n = m[key];
    if (
      n !== undefined &&
      !(
        isObject(n) &&
        (NORMALIZATION_KINDS as readonly unknown[]).includes(n.kind) &&
        isScaleOrOffset(n.scale) &&
        isScaleOrOffset(n.offset)
      )
    ) {
      return `"${key}" must be { kind, scale, offset } with kind one of ${NORMALIZATION_KINDS.map((k) => `"${k}"`).join(', ')} and finite numeric scale and offset.`;
    }
  }
  const r = m.repository;
  if (
    r !== undefined &&
    !(
      isObject(r) &&
      typeof r.model === 'string' &&
      r.model.length > 0 &&
      Number.isSafeInteger(r.version) &&
      (r.version as number) > 0
    )
  ) {
    return '"repository" must be { model (a non-empty string), version (a positive integer) }.';
  }
  if (m.sampler !== undefined) {
    const problem = samplerProblem(m.sampler);
    if (problem) return problem;
  }
  if (
    m.classes !== undefined &&
    !(Array.isArray(m.classes) && m.classes.every((c) => Number.isSafeInteger(c)))
  ) {
    return '"classes" must be an array of integer labels.';
  }
  if (m.graphs !== undefined) {
    const problem = graphsProblem(m.graphs);
    if (problem) return problem;
  }
  const c = m.check;
  if (
    c !== undefined &&
    !(
      isObject(c) &&
      Number.isSafeInteger(c.samples) &&
      (c.samples as number) > 0 &&
      (CHECK_SAMPLE_SOURCES as readonly unknown[]).includes(c.from) &&
      inRange(c.maxAbsDiff, 0, Number.MAX_VALUE)
    )
  ) {
    return `"check" must be { samples (a positive integer), from (${CHECK_SAMPLE_SOURCES.map((s) => `"${s}"`).join(', ')}), maxAbsDiff (>= 0) }.`;
  }
  if (m.precision !== undefined && !isPrecision(m.precision)) {
    return `"precision" must be one of ${PRECISIONS.map((p) => `"${p}"`).join(', ')}.`;
  }
  if (m.quality !== undefined) {
    const problem = qualityProblem(m.quality);
    if (problem) return problem;
  }
  return undefined;
}

/** What is wrong with `quality`, or undefined. */
function qualityProblem(q: unknown): string | undefined {
  const shape = `"quality" must be { metrics: { NAME: { fp32, value, loss } }, loss (>= 0), budget (>= 0), samples (a positive integer), from (${CHECK_SAMPLE_SOURCES.map((s) => `"${s}"`).join(', ')}) } with finite numbers.`;
  if (
    !isObject(q) ||
    !isObject(q.metrics) ||
    !inRange(q.loss, 0, Number.MAX_VALUE) ||
    !inRange(q.budget, 0, Number.MAX_VALUE) ||
    !Number.isSafeInteger(q.samples) ||
    (q.samples as number) <= 0 ||
    !(CHECK_SAMPLE_SOURCES as readonly unknown[]).includes(q.from)
  ) {
    return shape;
  }
  for (const [name, v] of Object.entries(q.metrics)) {
    if (
      !isObject(v) ||
      !isFiniteNumber(v.fp32) ||
      !isFiniteNumber(v.value) ||
      !inRange(v.loss, 0, Number.MAX_VALUE)
    ) {
      return `"quality.metrics.${name}" must be { fp32, value, loss (>= 0) } (finite numbers).`;
    }
  }
  return undefined;
}

/** The known fields of valid contents, `capabilities` defaulted to `[]`. */
function pick(m: Fields): ExportedModel {
  const out: Record<string, unknown> = {
    format: m.format,
    ...(m.variant !== undefined ? { variant: m.variant } : {}),
    inputShape: m.inputShape,
    codingShape: m.codingShape,
  };
  for (const key of [
    'normalization',
    'foldedNormalization',
    'repository',
    'outputActivation',
  ] as const) {
    if (m[key] !== undefined) out[key] = m[key];
  }
  out.capabilities = m.capabilities ?? [];
  for (const key of [
    'sampler',
    'classes',
    'graphs',
    'check',
    'precision',
    'quality',
    'aekitVersion',
  ] as const) {
    if (m[key] !== undefined) out[key] = m[key];
  }
  return out as unknown as ExportedModel;
}

/**
 * Checks the contents of an `aekit.json` (already parsed from JSON) and returns them typed,
 * with `capabilities` defaulted to `[]` and unknown fields left out; or throws
 * `ModelLoadFailed` for `source`, naming the first field that is wrong.
 */
export function parseExportedModel(value: unknown, source: string): ExportedModel {
  const problem = problemOf(value);
  if (problem) throw aekitError('ModelLoadFailed', source, `aekit.json is not valid: ${problem}`);
  return pick(value as Fields);
}

/** Parses the text of an `aekit.json` file (see {@link parseExportedModel}). */
export function parseExportedModelText(text: string, source: string): ExportedModel {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw aekitErrorWithCause(
      err,
      'ModelLoadFailed',
      source,
      `aekit.json is not JSON: ${(err as Error).message}`,
    );
  }
  return parseExportedModel(value, source);
}

/** One graph handed to the writer: its role (and file stem) and tensor names. */
export interface ExportedGraphDescription {
  /** Role and file stem: `encoder` is `encoder.onnx`. */
  readonly role: string;
  /** Its file name when not `ROLE.onnx` (a repository's `model.onnx`). */
  readonly file?: string;
  readonly inputName: string;
  readonly outputName: string;
  readonly extraOutputNames?: readonly string[];
}

/** What {@link createExportedModel} and {@link writeExportedModel} describe. */
export interface ExportedModelInput
  extends Omit<ExportedModel, 'format' | 'variant' | 'normalization' | 'capabilities' | 'graphs'> {
  /** The variant that trained the model. */
  readonly variant: string;
  /** How raw inputs are normalised before the graphs (`none` where they are folded in). */
  readonly normalization: Normalization;
  /** What the variant (and a classifier run) declares. */
  readonly capabilities: readonly CapabilityKind[];
  /** The graphs written beside it, each to `ROLE.onnx` (an OnnxGraphDescription will do). */
  readonly graphs: readonly ExportedGraphDescription[];
}

/** The file name of graph `role` as exporters write it: `ROLE.onnx`. */
export const graphFileName = (role: string): string => `${role}.onnx`;

/**
 * Builds the contents of `aekit.json` for an exported model, checked as runtimes will read
 * them; fails with `InvalidArgument` naming the first field that would be wrong (a
 * capability no runtime knows, a sampler out of range, a graph role that is not a file name).
 */
export function createExportedModel(input: ExportedModelInput): ExportedModel {
  const unknown = input.capabilities.filter((c) => !isCapabilityKind(c));
  if (unknown.length) {
    throw aekitError(
      'InvalidArgument',
      `aekit.json would not be valid: capabilities ${unknown.map((c) => `"${c}"`).join(', ')} are not among ${CAPABILITY_KINDS.map((c) => `"${c}"`).join(', ')}.`,
    );
  }
  const model: ExportedModel = {
    format: EXPORTED_MODEL_FORMAT,
    variant: input.variant,
    inputShape: [...input.inputShape],
    codingShape: [...input.codingShape],
    normalization: input.normalization,
    ...(input.foldedNormalization ? { foldedNormalization: input.foldedNormalization } : {}),
    ...(input.repository ? { repository: { ...input.repository } } : {}),
    ...(input.outputActivation ? { outputActivation: input.outputActivation } : {}),
    capabilities: [...new Set(input.capabilities)],
    ...(input.sampler ? { sampler: input.sampler } : {}),
    ...(input.classes ? { classes: [...input.classes] } : {}),
    ...(input.check ? { check: input.check } : {}),
    ...(input.precision ? { precision: input.precision } : {}),
    ...(input.quality ? { quality: input.quality } : {}),
    graphs: Object.fromEntries(
      input.graphs.map((g) => [
        g.role,
        {
          file: g.file ?? graphFileName(g.role),
          input: g.inputName,
          output: g.outputName,
          ...(g.extraOutputNames?.length ? { extraOutputs: [...g.extraOutputNames] } : {}),
        },
      ]),
    ),
    ...(input.aekitVersion !== undefined ? { aekitVersion: input.aekitVersion } : {}),
  };
  const problem = problemOf(model);
  if (problem) throw aekitError('InvalidArgument', `aekit.json would not be valid: ${problem}`);
  return model;
}

/**
 * The text of `aekit.json` for an exported model (see {@link createExportedModel}): what
 * exporters write beside the graphs, and what {@link parseExportedModelText} reads back.
 */
export function writeExportedModel(input: ExportedModelInput): string {
  return `${JSON.stringify(createExportedModel(input), null, 2)}\n`;
}

/** The file name of graph `role` in a model folder: as `aekit.json` lists it, else `ROLE.onnx`. */
export function graphFile(model: ExportedModel | undefined, role: string): string {
  return model?.graphs?.[role]?.file ?? graphFileName(role);
}

/**
 * Whether the folder has graph `role`: `true`/`false` when `aekit.json` lists its graphs,
 * `undefined` when only looking will tell.
 */
export function hasGraph(model: ExportedModel | undefined, role: string): boolean | undefined {
  return model?.graphs ? role in model.graphs : undefined;
}
