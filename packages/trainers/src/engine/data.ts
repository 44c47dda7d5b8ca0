import { createHash } from 'node:crypto';
import { aekitError, type DataSource, Dataset, type RunManifest } from '@aekit/core';
import { firstNonFinite, loadDataset, nonFiniteReason } from '@aekit/core/node';
import type { InputRange } from '../plugin.js';
import type { ResolvedTrainOptions } from './config.js';

/** The data a run trains on, split, with how to find it again. */
export interface RunData {
  readonly train: Dataset;
  readonly validation: Dataset;
  readonly source: DataSource;
  /** What was decided while loading (a CSV header, a limit above the sample count). */
  readonly notices: readonly string[];
}

function hash(data: Float32Array): string {
  return createHash('sha256')
    .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    .digest('hex');
}

/** An in-memory data set limited to `limit` samples, with what the limit did. */
function limitInMemory(
  data: Dataset,
  limit: number | undefined,
): { full: Dataset; applied: number | undefined; notices: string[] } {
  const notices: string[] = [];
  if (limit !== undefined && limit > data.count) {
    notices.push(
      `--limit ${limit} is more than the ${data.count} samples in "memory:${data.name}"; using all ${data.count}.`,
    );
  }
  const full = data.limit(limit);
  const i = firstNonFinite(full.x);
  if (i >= 0) {
    throw aekitError(
      'InvalidDataFile',
      `memory:${data.name}`,
      nonFiniteReason(i, full.featureCount, full.x[i]!),
    );
  }
  return { full, applied: limit !== undefined && limit < data.count ? limit : undefined, notices };
}

/**
 * Loads the training data of a run (a built-in name, a file, or an in-memory Dataset), keeps
 * the first `limit` samples and splits off the validation set with the run's seed. When
 * resuming, the data is read as recorded (limit, CSV header) and must have the fingerprint
 * recorded in the manifest. A limit that cut nothing is not recorded (and said in `notices`).
 */
export function loadRunData(
  opts: Pick<
    ResolvedTrainOptions,
    'data' | 'dataDir' | 'limit' | 'validationSplit' | 'normalize' | 'binarize' | 'seed'
  > &
    Partial<Pick<ResolvedTrainOptions, 'header'>>,
  previous?: RunManifest,
): RunData {
  const src = previous?.data;
  const limit = src ? src.limit : opts.limit;
  const validationSplit = src ? src.validationSplit : opts.validationSplit;
  let full: Dataset;
  let fingerprint: string;
  let applied: number | undefined;
  let header: 'yes' | 'no' | undefined;
  let notices: readonly string[];
  if (opts.data instanceof Dataset) {
    ({ full, applied, notices } = limitInMemory(opts.data, limit));
    fingerprint = hash(full.x);
  } else {
    const dataDir = src ? src.dataDir : opts.dataDir;
    const csvHeader = src ? src.header : opts.header;
    const loaded = loadDataset({
      source: src ? src.source : (opts.data as string),
      split: 'train',
      ...(dataDir ? { dataDir } : {}),
      ...(limit ? { limit } : {}),
      ...(csvHeader ? { header: csvHeader } : {}),
      ...(src ? { normalization: previous.normalization } : { normalize: opts.normalize }),
    });
    full = loaded.dataset;
    fingerprint = loaded.fingerprint;
    applied = loaded.limit;
    header = loaded.header;
    notices = loaded.notices;
  }
  if (src && src.fingerprint !== fingerprint) {
    throw aekitError(
      'DatasetMismatch',
      `The data of "${src.source}" changed since the run started (fingerprint ${fingerprint.slice(0, 12)}… instead of ${src.fingerprint.slice(0, 12)}…).`,
    );
  }
  const binarize = src ? src.binarize : opts.binarize;
  if (binarize !== undefined) full = full.binarize(binarize);
  const seed = previous?.training.seed ?? opts.seed;
  const { train, validation } = full.split(validationSplit, seed);
  const dataDir = src ? src.dataDir : opts.dataDir;
  return {
    train,
    validation,
    notices,
    source: {
      source: src
        ? src.source
        : opts.data instanceof Dataset
          ? `memory:${opts.data.name}`
          : String(opts.data),
      ...(dataDir ? { dataDir } : {}),
      ...(applied ? { limit: applied } : {}),
      ...(header ? { header } : {}),
      validationSplit,
      normalize: full.normalization.kind,
      ...(binarize !== undefined ? { binarize } : {}),
      fingerprint,
      trainCount: train.count,
      validationCount: validation.count,
    },
  };
}

/** The smallest and largest value of `data`'s samples. */
function valueRange(data: Float32Array): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

/**
 * Checks that a run's samples (training and validation, after normalisation) lie in
 * `range`, the range the variant `variant` needs for its options (none: anything goes).
 * Fails with `DataOutOfRange`, naming the range found and the one needed.
 */
export function checkInputRange(
  data: RunData,
  variant: string,
  range: InputRange | undefined,
): void {
  if (!range) return;
  const a = valueRange(data.train.x);
  const b = valueRange(data.validation.x);
  const min = Math.min(a.min, b.min);
  const max = Math.max(a.max, b.max);
  if (min > max) return;
  // Normalisation computes x * scale + offset in float32: minmax may land a few ulps past
  // its bounds (1.0000001), which is rounding, not data out of range.
  const slack = (bound: number) => 1e-6 * Math.max(1, Math.abs(bound));
  if (min >= range.min - slack(range.min) && max <= range.max + slack(range.max)) return;
  const shown = (v: number) => Number(v.toPrecision(6));
  throw aekitError(
    'DataOutOfRange',
    data.source.source,
    shown(min),
    shown(max),
    `variant "${variant}" ${range.why} needs them in [${range.min}, ${range.max}]`,
  );
}
