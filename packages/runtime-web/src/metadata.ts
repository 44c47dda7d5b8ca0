import type { Normalization } from '@aekit/core';
import { aekitError, aekitErrorWithCause } from '@aekit/core/errors';

/** The format tag of `aekit.json` this runtime reads. */
export const METADATA_FORMAT = 'aekit-onnx/1';

/** One graph file listed in `aekit.json`. */
export interface GraphEntry {
  /** File name, relative to the model folder. */
  readonly file: string;
  /** Its input name. */
  readonly input: string;
  /** Its output name. */
  readonly output: string;
  /**
   * Names of the graph's further outputs, fetched in the same run as `output`: a
   * variational autoencoder's encoder lists `["log_variance"]` (the runtime returns it as
   * `logVariance`). Absent when the graph has one output.
   */
  readonly extraOutputs?: readonly string[];
}

/**
 * How a model samples: `prior`, codings drawn from N(0, I) and decoded (VAE); `chain`, a
 * Markov chain from uniform noise that corrupts the images as in training (Gaussian noise
 * of `noiseStd`, or values switched off with probability `noiseRate`), reconstructs them
 * and draws binary pixels from the reconstruction, `steps` times (GSN).
 */
export type Sampler =
  | { readonly kind: 'prior' }
  | {
      readonly kind: 'chain';
      readonly noise: 'gaussian' | 'dropout';
      readonly noiseStd: number;
      readonly noiseRate: number;
      readonly steps: number;
    };

/**
 * What the runtime reads from `aekit.json` (written by `aekit export`). Only `format`,
 * `inputShape` and `codingShape` are required; the rest is reported in `info`.
 */
export interface AekitOnnxMetadata {
  /** Always `aekit-onnx/1`. */
  readonly format: typeof METADATA_FORMAT;
  /** The aekit variant, e.g. `stacked`, `vae`. */
  readonly variant?: string;
  /** Shape of one input sample, e.g. `[28, 28, 1]`. */
  readonly inputShape: readonly number[];
  /** Shape of one coding, e.g. `[30]`. */
  readonly codingShape: readonly number[];
  /** How raw inputs were normalised for training (`x * scale + offset`). */
  readonly normalization?: Normalization;
  /** The decoder's last activation, e.g. `sigmoid`. */
  readonly outputActivation?: string;
  /** Runtime capabilities of the variant (`sample`, `hash`, …); `[]` when absent. */
  readonly capabilities: readonly string[];
  /** How `sample` generates (absent: from the prior, as a VAE). */
  readonly sampler?: Sampler;
  /** A classifier's labels, one per output of `classifier.onnx`, in order. */
  readonly classes?: readonly number[];
  /** Graph files by role (`encoder`, `decoder`, `autoencoder`, …). */
  readonly graphs?: Readonly<Record<string, GraphEntry>>;
  /** The aekit version that exported the model. */
  readonly aekitVersion?: string;
}

/** Most values one sample or coding may hold: far above any model, far below overflow. */
const MAX_SAMPLE_VALUES = 2 ** 31;

const isShape = (v: unknown): v is number[] =>
  Array.isArray(v) &&
  v.length > 0 &&
  v.every((d) => Number.isSafeInteger(d) && d > 0) &&
  v.reduce((a: number, b: number) => a * b, 1) <= MAX_SAMPLE_VALUES;

const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

const isScaleOrOffset = (v: unknown): boolean =>
  isFiniteNumber(v) || (Array.isArray(v) && v.every(isFiniteNumber));

/** Most steps a sampling chain may take. */
const MAX_CHAIN_STEPS = 100_000;

/**
 * Checks the contents of `aekit.json` and returns them typed, or throws `ModelLoadFailed`
 * naming the first field that is wrong.
 */
export function parseMetadata(value: unknown, source: string): AekitOnnxMetadata {
  const fail = (what: string): Error =>
    aekitError('ModelLoadFailed', source, `aekit.json is not valid: ${what}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw fail('it is not a JSON object.');
  }
  const m = value as Record<string, unknown>;
  if (m.format !== METADATA_FORMAT) {
    throw fail(
      `"format" is ${JSON.stringify(m.format)}; this runtime reads "${METADATA_FORMAT}". Update @aekit/runtime-web, or export the model again.`,
    );
  }
  for (const key of ['inputShape', 'codingShape'] as const) {
    if (!isShape(m[key])) {
      throw fail(
        `"${key}" must be a non-empty array of positive integers (at most ${MAX_SAMPLE_VALUES} values in all).`,
      );
    }
  }
  for (const key of ['variant', 'outputActivation', 'aekitVersion'] as const) {
    if (m[key] !== undefined && typeof m[key] !== 'string')
      throw fail(`"${key}" must be a string.`);
  }
  if (
    m.capabilities !== undefined &&
    !(Array.isArray(m.capabilities) && m.capabilities.every((c) => typeof c === 'string'))
  ) {
    throw fail('"capabilities" must be an array of strings.');
  }
  const n = m.normalization as Record<string, unknown> | undefined;
  if (
    n !== undefined &&
    (typeof n !== 'object' ||
      n === null ||
      typeof n.kind !== 'string' ||
      !isScaleOrOffset(n.scale) ||
      !isScaleOrOffset(n.offset))
  ) {
    throw fail(
      '"normalization" must be { kind, scale, offset } with finite numeric scale and offset.',
    );
  }
  const graphs = m.graphs as Record<string, unknown> | undefined;
  const sampler = m.sampler as Record<string, unknown> | undefined;
  if (sampler !== undefined) {
    const finite = (v: unknown, lo: number, hi: number) =>
      typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi;
    const ok =
      typeof sampler === 'object' &&
      sampler !== null &&
      (sampler.kind === 'prior' ||
        (sampler.kind === 'chain' &&
          (sampler.noise === 'gaussian' || sampler.noise === 'dropout') &&
          finite(sampler.noiseStd, 0, Number.MAX_VALUE) &&
          finite(sampler.noiseRate, 0, 0.999999) &&
          Number.isInteger(sampler.steps) &&
          (sampler.steps as number) > 0 &&
          (sampler.steps as number) <= MAX_CHAIN_STEPS));
    if (!ok) {
      throw fail(
        `"sampler" must be { kind: "prior" } or { kind: "chain", noise: "gaussian" | "dropout", noiseStd >= 0, noiseRate in [0, 1), steps from 1 to ${MAX_CHAIN_STEPS} }.`,
      );
    }
  }
  if (
    m.classes !== undefined &&
    !(Array.isArray(m.classes) && m.classes.every((c) => Number.isSafeInteger(c)))
  ) {
    throw fail('"classes" must be an array of integer labels.');
  }
  if (graphs !== undefined) {
    if (typeof graphs !== 'object' || graphs === null) throw fail('"graphs" must be an object.');
    for (const [role, g] of Object.entries(graphs)) {
      const e = g as Record<string, unknown> | null;
      if (
        typeof e !== 'object' ||
        e === null ||
        typeof e.file !== 'string' ||
        typeof e.input !== 'string' ||
        typeof e.output !== 'string'
      ) {
        throw fail(`"graphs.${role}" must be { file, input, output } (strings).`);
      }
      if (
        e.extraOutputs !== undefined &&
        !(Array.isArray(e.extraOutputs) && e.extraOutputs.every((o) => typeof o === 'string'))
      ) {
        throw fail(`"graphs.${role}.extraOutputs" must be an array of strings.`);
      }
      if (!/^[^/\\]+$/.test(e.file) || e.file === '..' || e.file === '.') {
        throw fail(`"graphs.${role}.file" must be a file name in the model folder, not a path.`);
      }
    }
  }
  return {
    ...m,
    capabilities: (m.capabilities as string[] | undefined) ?? [],
  } as unknown as AekitOnnxMetadata;
}

/** The file name of graph `role` (`encoder`, `decoder`, `autoencoder`) in a model folder. */
export function graphFile(metadata: AekitOnnxMetadata | undefined, role: string): string {
  return metadata?.graphs?.[role]?.file ?? `${role}.onnx`;
}

/**
 * Whether the folder has graph `role`: `true`/`false` when `aekit.json` lists its graphs,
 * `undefined` when only looking will tell.
 */
export function hasGraph(
  metadata: AekitOnnxMetadata | undefined,
  role: string,
): boolean | undefined {
  return metadata?.graphs ? role in metadata.graphs : undefined;
}

/** Parses the text of an `aekit.json` file (see {@link parseMetadata}). */
export function parseMetadataText(text: string, source: string): AekitOnnxMetadata {
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
  return parseMetadata(value, source);
}
