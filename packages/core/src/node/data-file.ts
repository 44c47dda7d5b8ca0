import { Dataset } from '../dataset.js';
import { aekitError } from '../errors.js';
import { applyNormalization, type Normalization } from '../normalization.js';
import { type CsvHeader, readDataFile } from './readers.js';

/** Options of {@link loadDataFile}. */
export interface LoadDataFileOptions {
  /** An IDX, NPY or CSV file (optionally .gz) of raw samples, one per row / first axis. */
  readonly path: string;
  /** The shape of one sample the model takes, e.g. `[28, 28, 1]`. */
  readonly sampleShape: readonly number[];
  /** The normalisation recorded at training, applied to the raw values as it was then. */
  readonly normalization: Normalization;
  /** A file of one integer label per sample (one-column CSV, or NPY/IDX of shape [N] or [N, 1]). */
  readonly labels?: string;
  /** How to read a CSV file's first row (default `auto`). */
  readonly header?: CsvHeader;
}

/**
 * Why a 1-D array of `n` values is not a set of samples, and how to reshape it: `a 1-D array
 * of shape (784,) holds one axis, but samples need [N, features]: …`. Samples are the first
 * axis, so (784,) would be 784 samples of one value; one feature is written (N, 1).
 */
export function oneAxisProblem(n: number, expected: string): string {
  return `a 1-D array of shape (${n},), which holds one axis, but samples need ${expected}: reshape to (1, ${n}) for one sample of ${n} values, or to (${n}, 1) for ${n} samples of one value.`;
}

/** Drops trailing axes of size 1: `[28, 28, 1]` and `[28, 28]` describe the same samples. */
function squeezed(shape: readonly number[]): string {
  const s = [...shape];
  while (s.length > 1 && s[s.length - 1] === 1) s.pop();
  return s.join('x');
}

const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/**
 * Whether a data file of shape `fileShape` (`[N, ...one sample]`) holds samples of a model's
 * `sampleShape`: the same shape up to trailing axes of size 1, or flat rows of as many
 * values, as a CSV has. A 1-D file never does (see {@link oneAxisProblem}). The one rule for
 * every command that feeds a file to a trained model.
 */
export function fileFitsSampleShape(
  fileShape: readonly number[],
  sampleShape: readonly number[],
): boolean {
  if (fileShape.length < 2) return false;
  const rowShape = fileShape.slice(1);
  const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  return (
    squeezed(rowShape) === squeezed(sampleShape) ||
    (rowShape.length === 1 && size(rowShape) === size(sampleShape))
  );
}

/**
 * Loads a file of samples for a trained model (`aekit eval RUN --data FILE`): reads it as
 * training reads data files, checks its samples have the model's shape (the same shape up
 * to trailing axes of size 1, or flat rows of as many values, as a CSV has), applies the
 * recorded normalisation to the raw values and attaches the labels of `labels`.
 *
 * Fails with `DatasetMismatch` when the samples do not fit (a 1-D array among them: samples
 * are the first axis), `LabelsMismatch` when the labels do not, `EmptyDataset` for a file
 * without samples and `InvalidDataFile` for one that cannot be read or holds NaN or
 * infinite values.
 */
export function loadDataFile(options: LoadDataFileOptions): Dataset {
  const { path, sampleShape, normalization } = options;
  const file = readDataFile(path, options.header ? { header: options.header } : {});
  const count = file.shape[0] ?? 0;
  const featureCount = sampleShape.reduce((a, b) => a * b, 1);
  if (file.shape.length < 2) {
    const flat = sampleShape.length > 1 ? ` or [N, ${featureCount}]` : '';
    throw aekitError(
      'DatasetMismatch',
      `"${path}" is ${oneAxisProblem(count, `[N, ${sampleShape.join(', ')}]${flat}`)}`,
    );
  }
  const fileShape = file.shape.slice(1);
  const fileFeatures = fileShape.reduce((a, b) => a * b, 1);
  if (!fileFitsSampleShape(file.shape, sampleShape)) {
    const rows = `rows of ${featureCount} values (a CSV of ${featureCount} columns)`;
    const wanted =
      sampleShape.length > 1 ? `samples of shape ${shapeText(sampleShape)}, or flat ${rows}` : rows;
    throw aekitError(
      'DatasetMismatch',
      `"${path}" holds samples of shape ${shapeText(fileShape)} (${fileFeatures} values each), but the model takes samples of shape ${shapeText(sampleShape)} (${featureCount} values): give a file of ${wanted}.`,
    );
  }
  if (count === 0) {
    throw aekitError('EmptyDataset', `"${path}" holds no samples.`);
  }
  const x = file.data.slice();
  applyNormalization(x, featureCount, normalization);
  const labels = options.labels === undefined ? undefined : readLabelsFile(options.labels, count);
  return new Dataset({
    x,
    sampleShape,
    normalization,
    name: path,
    ...(labels ? { labels } : {}),
  });
}

/**
 * Reads a labels file: a one-column CSV or an NPY/IDX file of shape `[N]` or `[N, 1]` of
 * integers, `count` of them. Fails with `LabelsMismatch` naming what is wrong.
 */
export function readLabelsFile(path: string, count: number): Int32Array {
  const file = readDataFile(path);
  const columns = file.shape.slice(1).reduce((a, b) => a * b, 1);
  if (columns !== 1) {
    throw aekitError(
      'LabelsMismatch',
      path,
      `it holds ${columns} values per row (shape ${shapeText(file.shape)}); a labels file has one.`,
    );
  }
  if (file.data.length !== count) {
    throw aekitError(
      'LabelsMismatch',
      path,
      `it holds ${file.data.length} labels for ${count} samples.`,
    );
  }
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const v = file.data[i]!;
    if (!Number.isInteger(v)) {
      throw aekitError('LabelsMismatch', path, `label ${i + 1} is ${v}, not an integer.`);
    }
    labels[i] = v;
  }
  return labels;
}
