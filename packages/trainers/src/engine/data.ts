import { createHash } from 'node:crypto';
import { aekitError, type DataSource, Dataset, type RunManifest } from '@aekit/core';
import { loadDataset } from '@aekit/core/node';
import type { ResolvedTrainOptions } from './config.js';

/** The data a run trains on, split, with how to find it again. */
export interface RunData {
  readonly train: Dataset;
  readonly validation: Dataset;
  readonly source: DataSource;
}

function hash(data: Float32Array): string {
  return createHash('sha256')
    .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    .digest('hex');
}

/**
 * Loads the training data of a run (a built-in name, a file, or an in-memory Dataset), keeps
 * the first `limit` samples and splits off the validation set with the run's seed. When
 * resuming, the data must have the fingerprint recorded in the manifest.
 */
export function loadRunData(
  opts: Pick<
    ResolvedTrainOptions,
    'data' | 'dataDir' | 'limit' | 'validationSplit' | 'normalize' | 'binarize' | 'seed'
  >,
  previous?: RunManifest,
): RunData {
  const src = previous?.data;
  const limit = src ? src.limit : opts.limit;
  const validationSplit = src ? src.validationSplit : opts.validationSplit;
  let full: Dataset;
  let fingerprint: string;
  if (opts.data instanceof Dataset) {
    full = opts.data.limit(limit);
    fingerprint = hash(full.x);
  } else {
    const dataDir = src ? src.dataDir : opts.dataDir;
    const loaded = loadDataset({
      source: src ? src.source : (opts.data as string),
      split: 'train',
      ...(dataDir ? { dataDir } : {}),
      ...(limit ? { limit } : {}),
      ...(src ? { normalization: previous.normalization } : { normalize: opts.normalize }),
    });
    full = loaded.dataset;
    fingerprint = loaded.fingerprint;
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
    source: {
      source: src
        ? src.source
        : opts.data instanceof Dataset
          ? `memory:${opts.data.name}`
          : String(opts.data),
      ...(dataDir ? { dataDir } : {}),
      ...(limit ? { limit } : {}),
      validationSplit,
      normalize: full.normalization.kind,
      ...(binarize !== undefined ? { binarize } : {}),
      fingerprint,
      trainCount: train.count,
      validationCount: validation.count,
    },
  };
}
