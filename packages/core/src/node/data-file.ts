import { Dataset } from '../dataset.js';
import { aekitError } from '../errors.js';
import { applyNormalization, type Normalization } from '../normalization.js';
import { readDataFile } from './readers.js';

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
}

/** Drops trailing axes of size 1: `[28, 28, 1]` and `[28, 28]` describe the same samples. */
function squeezed(shape: readonly number[]): string {
  const s = [...shape];
  while (s.length > 1 && s[s.length - 1] === 1) s.pop();
  return s.join('x');
}

const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/**
 * Loads a file of samples for a trained model (`aekit eval RUN --data FILE`): reads it as
 * training reads data files, checks its samples have the model's shape (the same shape up
 * to trailing axes of size 1, or flat rows of as many values, as a CSV has), applies the
 * recorded normalisation to the raw values and attaches the labels of `labels`.
 *
 * Fails with `DatasetMismatch` when the samples do not fit, `LabelsMismatch` when the labels
 * do not, `EmptyDataset` for a file without samples and `InvalidDataFile` for one that
 * cannot be read.
 */
export function loadDataFile(options: LoadDataFileOptions): Dataset {
  const { path, sampleShape, normalization } = options;
  const file = readDataFile(path);
  const count = file.shape[0] ?? 0;
  const fileShape = file.shape.length > 1 ? file.shape.slice(1) : [1];
  const featureCount = sampleShape.reduce((a, b) => a * b, 1);
  const fileFeatures = fileShape.reduce((a, b) => a * b, 1);
  const fits =
    squeezed(fileShape) === squeezed(sampleShape) ||
    (fileShape.length === 1 && fileFeatures === featureCount);
  if (!fits) {
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
