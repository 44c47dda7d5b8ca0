/**
 * What the `aekit` commands that run exported models do, as functions over files in Node:
 * encode, decode or reconstruct a file, sample, interpolate, build a hash index of a data
 * set and hash search queries. Each loads the model, does its job and disposes of it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { applyNormalization, type Normalization, undoNormalization } from '@aekit/core';
import { AekitError, aekitError, isAekitError } from '@aekit/core/errors';
import {
  codeAt,
  codeWords,
  createHashIndex,
  type HashIndex,
  type PackedCodes,
  packedCodesFromWords,
  parseCode,
  serializeHashIndex,
} from '@aekit/core/hashing';
import {
  fileFitsSampleShape,
  loadDataset,
  RunDirectory,
  type Split,
  writeAtomic,
} from '@aekit/core/node';
import {
  checkOutputFile,
  checkSampleScale,
  modelFolder,
  modelNormalization,
  type NoticeListener,
  readSamples,
  shapeSize,
  writeSamples,
} from './files.js';
import { loadAutoencoder } from './node.js';
import type { Autoencoder, SampleOptions } from './session.js';

/** Options every file job takes. */
export interface FileJobOptions {
  /** Where ONNX Runtime runs: `auto` (default), `cpu`, `webgpu`, `wasm`. */
  readonly device?: string;
  /** Receives notes (where the normalisation came from), for stderr. */
  readonly onNotice?: NoticeListener;
  /**
   * false: samples are not compared with the model's recorded normalisation. By default
   * samples whose range contradicts it (values in [0, 1] given as raw to a model that
   * normalises 0..255, or 0..255 given as normalised) are refused with
   * `InputScaleMismatch` before the model runs (`checkInputScale` of `@aekit/core`).
   */
  readonly checkScale?: boolean;
}

/** Loads the model of `source` (a run directory or a model folder), runs `job`, disposes. */
async function withModel<T>(
  source: string,
  device: string | undefined,
  job: (ae: Autoencoder) => Promise<T>,
): Promise<T> {
  // The jobs check their files against the model's scale themselves, knowing whether the
  // values were given raw or normalised (and skip it where asked), before normalising them.
  const ae = await loadAutoencoder(modelFolder(source), {
    device: device ?? 'auto',
    checkScale: false,
  });
  try {
    return await job(ae);
  } finally {
    await ae.dispose();
  }
}

/** What {@link runOnFile} does. */
export type FileAction = 'encode' | 'decode' | 'reconstruct';

/** Options of {@link runOnFile}. */
export interface RunOnFileOptions extends FileJobOptions {
  /** Samples (`.npy`, `.csv`, IDX or one `.png`); codings for `decode`. */
  readonly input: string;
  /** The file to write: `.npy`, `.csv`, or `.png` (a grid) for samples. */
  readonly output: string;
  /** Inputs are already normalised: the graphs run as they are, and outputs stay so. */
  readonly raw?: boolean;
}

/** What {@link runOnFile} did. */
export interface RunOnFileReport {
  readonly count: number;
  readonly inputShape: readonly number[];
  /** `[count, ...]`, as written. */
  readonly outputShape: readonly number[];
  /** The device the model ran on. */
  readonly device: string;
}

/**
 * Encodes, decodes or reconstructs the samples of a file with an exported model and writes
 * the result (`aekit encode | decode | reconstruct`). Inputs are raw data, normalised with
 * the model's recorded normalisation (see {@link modelNormalization}) unless `raw`;
 * reconstructions come back raw. Files of another sample shape, samples whose range
 * contradicts the normalisation (`InputScaleMismatch`, unless `checkScale: false`) and
 * outputs that cannot be written are refused before the model runs.
 *
 * @param source - a run directory exported with `aekit export`, or a model folder.
 */
export async function runOnFile(
  action: FileAction,
  source: string,
  options: RunOnFileOptions,
): Promise<RunOnFileReport> {
  modelFolder(source);
  checkOutputFile(options.output);
  return withModel(source, options.device, async (ae) => {
    const info = ae.info;
    const normalization = modelNormalization(info, options.raw === true, options.onNotice);
    const inShape = action === 'decode' ? info.codingShape : info.inputShape;
    const what = action === 'decode' ? 'codings' : 'inputs';
    const { data, count } = readSamples(options.input, inShape, what);
    if (action !== 'decode') {
      checkSampleScale(data, info, options.input, {
        raw: options.raw === true,
        check: options.checkScale !== false,
      });
    }
    if (normalization && action !== 'decode') {
      applyNormalization(data, shapeSize(inShape), normalization);
    }
    const result = await ae[action]({ data, shape: [count, ...inShape] });
    const outputsAreData = action !== 'encode';
    const restore = outputsAreData ? normalization : undefined;
    const out = restore
      ? undoNormalization(result.data, shapeSize(result.shape.slice(1)), restore)
      : result.data;
    const range: [number, number] | undefined = restore?.kind === 'unit' ? [0, 255] : undefined;
    writeSamples(options.output, out, result.shape, range ? { range } : {});
    return { count, inputShape: inShape, outputShape: result.shape, device: info.device };
  });
}

/** Options of {@link sampleToFile}. */
export interface SampleToFileOptions extends SampleOptions, FileJobOptions {
  /** `.png` (a grid), `.npy` or `.csv`. */
  readonly out: string;
  /** Columns of the PNG grid (default 10). */
  readonly cols?: number;
}

/** What {@link sampleToFile} drew. */
export interface SampleToFileReport {
  readonly seed: number;
  /** Chain samplers: the steps of each chain. */
  readonly steps?: number;
  readonly codingShape: readonly number[];
  readonly device: string;
}

/**
 * Generates `n` samples with an exported model that can sample (`aekit sample`): codings
 * from the prior decoded, or a Markov chain run from noise, as its sampler says; seeded.
 * Writes them to `options.out`, values in [0, 1].
 */
export async function sampleToFile(
  source: string,
  n: number,
  options: SampleToFileOptions,
): Promise<SampleToFileReport> {
  modelFolder(source);
  checkOutputFile(options.out);
  return withModel(source, options.device, async (ae) => {
    const { seed, temperature, steps } = options;
    const result = await ae.sample(n, {
      ...(seed !== undefined ? { seed } : {}),
      ...(temperature !== undefined ? { temperature } : {}),
      ...(steps !== undefined ? { steps } : {}),
    });
    const grid = { ...(options.cols !== undefined ? { cols: options.cols } : {}) };
    writeSamples(options.out, result.data, result.shape, { ...grid, range: [0, 1] });
    return {
      seed: result.seed,
      ...(result.steps !== undefined ? { steps: result.steps } : {}),
      codingShape: ae.info.codingShape,
      device: ae.info.device,
    };
  });
}

/** Where a run's data came from (its manifest's), to find test images by index. */
interface RunData {
  readonly source: string;
  readonly dataDir?: string;
  readonly binarize?: number;
}

/** The data a run directory was trained on, or undefined for a bare model folder. */
function runData(source: string, dataDir?: string): RunData | undefined {
  if (!existsSync(join(source, 'manifest.json'))) return undefined;
  const { data } = new RunDirectory(source).readManifest();
  if (data.source.startsWith('memory:')) return undefined;
  const dir = dataDir ?? data.dataDir;
  return {
    source: data.source,
    ...(dir ? { dataDir: dir } : {}),
    ...(data.binarize !== undefined ? { binarize: data.binarize } : {}),
  };
}

/**
 * One input sample, normalised: an index into the run's test set (`test:12`, or a plain
 * integer), a PNG image, or an NPY/CSV/IDX file holding one sample.
 */
function readOne(
  spec: string,
  ae: Autoencoder,
  run: RunData | undefined,
  normalization: Normalization | undefined,
  checkScale: boolean,
): Float32Array {
  const index = /^(?:test:)?(\d+)$/.exec(spec);
  if (index && !existsSync(spec)) {
    if (!run) {
      throw aekitError(
        'InvalidArgument',
        `"${spec}" names a test image, but the model's run records no built-in data set; give an image file instead.`,
      );
    }
    const i = Number(index[1]);
    const { dataset: loaded } = loadDataset({
      source: run.source,
      split: 'test',
      ...(normalization ? { normalization } : { normalize: 'none' as const }),
      ...(run.dataDir ? { dataDir: run.dataDir } : {}),
    });
    const dataset = run.binarize === undefined ? loaded : loaded.binarize(run.binarize);
    if (i >= dataset.count) {
      throw aekitError(
        'InvalidArgument',
        `The test set has ${dataset.count} images; "${spec}" is past its end.`,
      );
    }
    return dataset.x.slice(i * dataset.featureCount, (i + 1) * dataset.featureCount);
  }
  if (!existsSync(spec)) {
    throw aekitError(
      'InvalidDataFile',
      spec,
      'the file does not exist (give an image file, or test:N for the N-th test image).',
    );
  }
  const { data, count } = readSamples(spec, ae.info.inputShape);
  if (count !== 1) {
    throw aekitError('InvalidInput', `${spec} holds ${count} samples; give a file with one.`);
  }
  checkSampleScale(data, ae.info, spec, { raw: false, check: checkScale });
  if (normalization) applyNormalization(data, data.length, normalization);
  return data;
}

/** Options of {@link interpolateToFile}. */
export interface InterpolateOptions extends FileJobOptions {
  /** `test:N` (the N-th test image of the run's data set) or a file of one sample. */
  readonly from: string;
  /** The other end, as `from`. */
  readonly to: string;
  /** Codings on the line, both ends included (at least 2). */
  readonly steps: number;
  /** `.png` (one row), `.npy` or `.csv`. */
  readonly out: string;
  /** Folder of the run's data set's files, if not where training found them. */
  readonly dataDir?: string;
}

/**
 * Encodes two inputs, decodes `steps` codings evenly spaced on the line between their
 * codings (both ends included) and writes them in one row (`aekit interpolate`).
 *
 * @returns the device the model ran on.
 */
export async function interpolateToFile(
  source: string,
  options: InterpolateOptions,
): Promise<{ device: string }> {
  const { steps } = options;
  if (!Number.isInteger(steps) || steps < 2) {
    throw aekitError(
      'InvalidArgument',
      `--steps must be an integer of at least 2, got "${steps}".`,
    );
  }
  modelFolder(source);
  checkOutputFile(options.out);
  const data = runData(source, options.dataDir);
  return withModel(source, options.device, async (ae) => {
    const normalization = modelNormalization(ae.info, false, options.onNotice);
    const check = options.checkScale !== false;
    const a = readOne(options.from, ae, data, normalization, check);
    const b = readOne(options.to, ae, data, normalization, check);
    const both = new Float32Array(a.length * 2);
    both.set(a);
    both.set(b, a.length);
    const codings = await ae.encode({ data: both, shape: [2, ...ae.info.inputShape] });
    const width = shapeSize(ae.info.codingShape);
    const line = new Float32Array(steps * width);
    for (let s = 0; s < steps; s++) {
      const t = s / (steps - 1);
      for (let j = 0; j < width; j++) {
        line[s * width + j] = (1 - t) * codings.data[j]! + t * codings.data[width + j]!;
      }
    }
    const decoded = await ae.decode({ data: line, shape: [steps, ...ae.info.codingShape] });
    writeSamples(options.out, decoded.data, decoded.shape, { cols: steps, range: [0, 1] });
    return { device: ae.info.device };
  });
}

/** Samples hashed per ONNX Runtime run. */
const HASH_CHUNK = 4096;

/** Options of {@link buildHashIndex}. */
export interface BuildHashIndexOptions extends FileJobOptions {
  /** `mnist`, `fashion-mnist`, or an IDX, NPY or CSV file. */
  readonly data: string;
  /** For built-in data sets (default `train`). */
  readonly split?: Split;
  /** Only the first `limit` samples. */
  readonly limit?: number;
  /** A text file with one id per line, in the order of the samples. */
  readonly idsFile?: string;
  /** Folder of the data set's files, if not where aekit finds them by default. */
  readonly dataDir?: string;
  /** The data is already normalised (recorded in the index's meta as `raw: true`). */
  readonly raw?: boolean;
  /** Where to write the index (atomically); checked before any work is done. */
  readonly out?: string;
  /** Called after each chunk: items hashed so far, of `total`. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** What {@link buildHashIndex} built. */
export interface HashIndexBuild {
  readonly index: HashIndex;
  /** Code length. */
  readonly bits: number;
  /** Distinct codes, and the items of the largest bucket. */
  readonly distinct: number;
  readonly largest: number;
  readonly device: string;
}

/** Reads an ids file: one id per line, as many as items. */
function readIds(path: string, count: number): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw aekitError('InvalidArgument', `--ids ${path} cannot be read: ${(err as Error).message}`);
  }
  const ids = text.split(/\r?\n/);
  if (ids.at(-1) === '') ids.pop();
  if (ids.length !== count) {
    throw aekitError(
      'InvalidArgument',
      `--ids ${path} has ${ids.length} lines, but there are ${count} items: give one id per line, in the data's order.`,
    );
  }
  return ids;
}

/** Distinct codes and the largest bucket. */
function bucketStats(codes: PackedCodes): { distinct: number; largest: number } {
  const words = codeWords(codes.bits);
  const counts = new Map<string, number>();
  for (let i = 0; i < codes.count; i++) {
    const key = codes.data.subarray(i * words, (i + 1) * words).join(',');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return { distinct: counts.size, largest: Math.max(0, ...counts.values()) };
}

/**
 * Hashes every sample of a data set with the exported encoder of a model that can hash, and
 * builds a hash index (`aekit hash`): codes packed as bits, the labels when the data has
 * them, ids from `idsFile`, and where it came from in `meta`. The data is normalised as the
 * model was trained unless `raw`, after its range is checked against that normalisation
 * (unless `checkScale: false`, recorded in `meta` so that searches skip it too). With `out`,
 * the index is written there atomically in the checksummed `aekit-hash/2` format.
 *
 * @throws AekitError `InvalidInput` for data of another sample shape, `CapabilityMissing`
 *   for a model that cannot hash, `InputScaleMismatch` for data on another scale.
 */
export async function buildHashIndex(
  source: string,
  options: BuildHashIndexOptions,
): Promise<HashIndexBuild> {
  const folder = modelFolder(source);
  const split = options.split ?? 'train';
  if (options.out !== undefined) checkOutputFile(options.out);
  return withModel(source, options.device, async (ae) => {
    const { inputShape, codingShape } = ae.info;
    const raw = options.raw === true;
    const normalization = modelNormalization(ae.info, raw, options.onNotice);
    const { limit } = options;
    const checkScale = options.checkScale !== false;
    // Read as stored, so that the range is checked before the normalisation is applied.
    const { dataset } = loadDataset({
      source: options.data,
      split,
      ...(limit ? { limit } : {}),
      normalize: 'none',
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    });
    // The rule of every file fed to a model: the same sample shape, or flat rows.
    const n = shapeSize(inputShape);
    if (!fileFitsSampleShape([dataset.count, ...dataset.sampleShape], inputShape)) {
      throw aekitError(
        'InvalidInput',
        `${options.data} holds ${dataset.count} sample(s) of shape [${dataset.sampleShape.join(', ')}] (${dataset.featureCount} values each), but the model's inputs have shape [${inputShape.join(', ')}] (${n} values). Give data of shape [N, ${inputShape.join(', ')}] or [N, ${n}] (a CSV: ${n} columns).`,
      );
    }
    checkSampleScale(dataset.x, ae.info, options.data, { raw, check: checkScale });
    if (normalization) applyNormalization(dataset.x, n, normalization);
    const ids = options.idsFile ? readIds(options.idsFile, dataset.count) : undefined;
    const bits = shapeSize(codingShape);
    const words = codeWords(bits);
    const data = new Uint32Array(dataset.count * words);
    for (let start = 0; start < dataset.count; start += HASH_CHUNK) {
      const chunk = dataset.slice(start, Math.min(dataset.count, start + HASH_CHUNK));
      const codes = await ae.hash({ data: chunk.x, shape: [chunk.count, ...inputShape] });
      data.set(codes.data, start * words);
      options.onProgress?.(start + chunk.count, dataset.count);
    }
    const codes = packedCodesFromWords(data, bits);
    const index = createHashIndex(codes, {
      ...(dataset.labels ? { labels: dataset.labels } : {}),
      ...(ids ? { ids } : {}),
      meta: {
        model: resolve(folder),
        ...(ae.info.variant ? { variant: ae.info.variant } : {}),
        data: options.data,
        split,
        ...(limit ? { limit } : {}),
        ...(raw ? { raw } : {}),
        ...(checkScale ? {} : { checkScale }),
      },
    });
    if (options.out !== undefined) writeAtomic(options.out, serializeHashIndex(index));
    return { index, bits, ...bucketStats(codes), device: ae.info.device };
  });
}

/** Options of {@link hashQueries}: one of `code` and `query`. */
export interface HashQueryOptions extends FileJobOptions {
  /** `item:N` (the code of the index's N-th item), or a file of samples to hash. */
  readonly query?: string;
  /** A code in hex. */
  readonly code?: string;
  /** The model that hashes `query` files (default: the index's `meta.model`). */
  readonly model?: string;
}

/**
 * An index searched elsewhere, as {@link hashQueries} needs it: its code width, and the code
 * of an item where it can look one up (a database table).
 */
export interface HashQueryTarget {
  readonly bits: number;
  /** The code of item `i`, or undefined when there is no such item. */
  readonly codeOf?: (item: number) => Promise<Uint32Array | undefined>;
  /** Where queries are told to look up items, for messages (`the table "codes"`). */
  readonly description: string;
}

const isHashIndex = (index: HashIndex | HashQueryTarget): index is HashIndex =>
  (index as Partial<HashIndex>).codes !== undefined;

/** The code of item `i` of an index or a target; fails naming the items there are. */
async function itemCode(
  index: HashIndex | HashQueryTarget,
  i: number,
  query: string,
): Promise<Uint32Array> {
  if (isHashIndex(index)) {
    if (i >= index.codes.count) {
      throw aekitError(
        'InvalidArgument',
        `--query ${query}: the index has items 0 to ${index.codes.count - 1}.`,
      );
    }
    return codeAt(index.codes, i);
  }
  if (!index.codeOf) {
    throw aekitError(
      'InvalidArgument',
      `--query ${query}: ${index.description} cannot look up items; give --code HEX, or --query FILE with --model RUN.`,
    );
  }
  const code = await index.codeOf(i);
  if (!code)
    throw aekitError('InvalidArgument', `--query ${query}: ${index.description} has no item ${i}.`);
  return code;
}

/**
 * The codes to search a hash index for (`aekit search`): a code given in hex, an item of
 * the index, or the samples of a file hashed by the index's model, normalised as the
 * index's data was (raw when built with `raw`) after their range is checked as the index's
 * data was. `names` says what each code stands for.
 * `index` is an in-memory index, or a {@link HashQueryTarget} (a database table), whose
 * files are hashed by `options.model`.
 *
 * @throws AekitError `InvalidArgument` for neither or both of `code` and `query`, an item
 *   past the index's end, no model to hash a file with, or codes of another length.
 */
export async function hashQueries(
  index: HashIndex | HashQueryTarget,
  options: HashQueryOptions,
): Promise<{ codes: PackedCodes; names: string[] }> {
  const bits = isHashIndex(index) ? index.codes.bits : index.bits;
  const meta = isHashIndex(index) ? index.meta : {};
  if ((options.code === undefined) === (options.query === undefined)) {
    throw aekitError(
      'InvalidArgument',
      'aekit search needs one of --query (item:N, or a file of samples) and --code (a hex code).',
    );
  }
  if (options.code !== undefined) {
    const code = parseCode(options.code, bits);
    return { codes: packedCodesFromWords(code, bits), names: [`code ${options.code}`] };
  }
  const query = options.query!;
  const item = /^item:(\d+)$/.exec(query);
  if (item) {
    const code = await itemCode(index, Number(item[1]), query);
    return { codes: packedCodesFromWords(code, bits), names: [query] };
  }
  const model = options.model ?? (meta.model as string | undefined);
  if (!model) {
    throw aekitError(
      'InvalidArgument',
      `--query ${query} must be hashed by the index's model, which the index does not name: give --model RUN.`,
    );
  }
  return withModel(model, options.device, async (ae) => {
    const { inputShape } = ae.info;
    const raw = meta.raw === true;
    const normalization = modelNormalization(ae.info, raw, options.onNotice);
    const { data, count } = readSamples(query, inputShape);
    const check = options.checkScale !== false && meta.checkScale !== false;
    try {
      checkSampleScale(data, ae.info, query, { raw, check });
    } catch (err) {
      if (!isAekitError(err, 'InputScaleMismatch')) throw err;
      // Queries take the scale of the index's data: no flag of the search changes it.
      const scale = raw
        ? 'already normalised, as the index was built with --raw'
        : 'raw values, as the data of the index was before the model normalised it';
      throw new AekitError(
        err.code,
        err.message,
        err.title,
        `Give query samples ${scale}. --no-check-scale skips this check.`,
      );
    }
    if (normalization) applyNormalization(data, shapeSize(inputShape), normalization);
    const codes = await ae.hash({ data, shape: [count, ...inputShape] });
    if (codes.bits !== bits) {
      throw aekitError(
        'InvalidArgument',
        `The model makes ${codes.bits}-bit codes, but the index holds ${bits}-bit codes: search with the model that built it.`,
      );
    }
    const names = Array.from({ length: count }, (_, i) => (count === 1 ? query : `${query}[${i}]`));
    return { codes, names };
  });
}
