import { aekitError } from './errors.js';
import { IDENTITY, type Normalization } from './normalization.js';
import { createRng, permutation } from './random.js';

/** One batch: `size` samples, row-major in `x`. */
export interface Batch {
  readonly x: Float32Array;
  readonly size: number;
  /** Labels of the samples, when the data set has them. */
  readonly labels?: Int32Array;
}

/** Options of {@link Dataset.batches}. */
export interface BatchOptions {
  /** Shuffle the order (seeded by `seed` and `epoch`, so a resumed run sees the same order). */
  readonly shuffle?: boolean;
  readonly seed?: number;
  readonly epoch?: number;
  /** Drop a last batch smaller than `batchSize`. */
  readonly dropLast?: boolean;
  /**
   * Shuffled batches are gathered into one buffer that the next batch overwrites, sparing an
   * allocation per batch: for consumers that copy each batch before asking for the next.
   */
  readonly reuseBuffer?: boolean;
}

/** What a {@link Dataset} is built from. */
export interface DatasetInit {
  /** Row-major samples, already normalised. */
  readonly x: Float32Array;
  /** Shape of one sample, e.g. `[28, 28, 1]` or `[3]`. */
  readonly sampleShape: readonly number[];
  readonly labels?: Int32Array;
  readonly normalization?: Normalization;
  /** A human name, e.g. `mnist/train`. */
  readonly name?: string;
}

/**
 * An in-memory data set of equally shaped float samples, with optional integer labels and
 * the normalisation that produced the values. Immutable: every operation returns a view or
 * a new data set.
 */
export class Dataset {
  readonly x: Float32Array;
  readonly sampleShape: readonly number[];
  readonly featureCount: number;
  readonly count: number;
  readonly labels: Int32Array | undefined;
  readonly normalization: Normalization;
  readonly name: string;

  constructor(init: DatasetInit) {
    this.sampleShape = Object.freeze([...init.sampleShape]);
    this.featureCount = init.sampleShape.reduce((a, b) => a * b, 1);
    if (this.featureCount <= 0 || init.x.length % this.featureCount !== 0) {
      throw aekitError(
        'DatasetMismatch',
        `${init.x.length} values do not divide into samples of shape [${init.sampleShape.join(', ')}].`,
      );
    }
    this.x = init.x;
    this.count = init.x.length / this.featureCount;
    if (init.labels && init.labels.length !== this.count) {
      throw aekitError(
        'DatasetMismatch',
        `${init.labels.length} labels for ${this.count} samples.`,
      );
    }
    this.labels = init.labels;
    this.normalization = init.normalization ?? IDENTITY;
    this.name = init.name ?? 'data';
  }

  #derive(x: Float32Array, labels: Int32Array | undefined, name: string): Dataset {
    return new Dataset({
      x,
      sampleShape: this.sampleShape,
      normalization: this.normalization,
      name,
      ...(labels ? { labels } : {}),
    });
  }

  /** Samples `start` (inclusive) to `end` (exclusive), sharing memory. */
  slice(start: number, end = this.count): Dataset {
    const s = Math.max(0, Math.min(start, this.count));
    const e = Math.max(s, Math.min(end, this.count));
    return this.#derive(
      this.x.subarray(s * this.featureCount, e * this.featureCount),
      this.labels?.subarray(s, e),
      this.name,
    );
  }

  /** The first `n` samples (all of them if `n` is undefined or larger). */
  limit(n: number | undefined): Dataset {
    return n === undefined || n >= this.count ? this : this.slice(0, n);
  }

  /**
   * A copy with every value above `threshold` set to 1 and the others to 0 (binarised
   * MNIST, the usual data of variational autoencoders measured in nats).
   */
  binarize(threshold: number): Dataset {
    if (!(threshold > 0 && threshold < 1)) {
      throw aekitError(
        'InvalidArgument',
        `The binarisation threshold must be between 0 and 1 (exclusive), got ${threshold}.`,
      );
    }
    const x = new Float32Array(this.x.length);
    for (let i = 0; i < x.length; i++) x[i] = this.x[i]! > threshold ? 1 : 0;
    return this.#derive(x, this.labels, this.name);
  }

  /** A copy holding the samples at `indices`, in that order. */
  take(indices: ArrayLike<number>, name = this.name): Dataset {
    const f = this.featureCount;
    const x = new Float32Array(indices.length * f);
    const labels = this.labels ? new Int32Array(indices.length) : undefined;
    for (let i = 0; i < indices.length; i++) {
      const j = indices[i]!;
      x.set(this.x.subarray(j * f, (j + 1) * f), i * f);
      if (labels) labels[i] = this.labels![j]!;
    }
    return this.#derive(x, labels, name);
  }

  /**
   * A seeded train/validation split: a shuffled `fraction` of the samples goes to
   * validation. The same seed always gives the same split.
   */
  split(fraction: number, seed: number): { train: Dataset; validation: Dataset } {
    if (!(fraction >= 0 && fraction < 1)) {
      throw aekitError(
        'InvalidArgument',
        `The validation split must be in [0, 1), got ${fraction}.`,
      );
    }
    const nVal = Math.round(this.count * fraction);
    if (this.count - nVal < 1 || (fraction > 0 && nVal < 1)) {
      throw aekitError(
        'EmptyDataset',
        `${this.count} samples cannot be split into training and validation with fraction ${fraction}.`,
      );
    }
    const order = permutation(this.count, createRng(seed, 'split'));
    const val = order.subarray(0, nVal).slice().sort();
    const train = order.subarray(nVal).slice().sort();
    return {
      train: this.take(train, `${this.name}[train]`),
      validation: this.take(val, `${this.name}[validation]`),
    };
  }

  /** Batches of `batchSize` samples; the order is seeded by `seed` and `epoch` when shuffled. */
  *batches(batchSize: number, options: BatchOptions = {}): Generator<Batch> {
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw aekitError(
        'InvalidArgument',
        `The batch size must be a positive integer, got ${batchSize}.`,
      );
    }
    const f = this.featureCount;
    const order = options.shuffle
      ? permutation(this.count, createRng(options.seed ?? 0, `epoch-${options.epoch ?? 0}`))
      : undefined;
    let buffer: Float32Array | undefined;
    for (let start = 0; start < this.count; start += batchSize) {
      const size = Math.min(batchSize, this.count - start);
      if (options.dropLast && size < batchSize) return;
      if (!order) {
        const labels = this.labels?.subarray(start, start + size);
        yield {
          x: this.x.subarray(start * f, (start + size) * f),
          size,
          ...(labels ? { labels } : {}),
        };
        continue;
      }
      if (options.reuseBuffer) buffer ??= new Float32Array(batchSize * f);
      const x = buffer ? buffer.subarray(0, size * f) : new Float32Array(size * f);
      const labels = this.labels ? new Int32Array(size) : undefined;
      for (let i = 0; i < size; i++) {
        const j = order[start + i]!;
        x.set(this.x.subarray(j * f, (j + 1) * f), i * f);
        if (labels) labels[i] = this.labels![j]!;
      }
      yield { x, size, ...(labels ? { labels } : {}) };
    }
  }

  /** Number of batches {@link batches} yields. */
  batchCount(batchSize: number, dropLast = false): number {
    return dropLast ? Math.floor(this.count / batchSize) : Math.ceil(this.count / batchSize);
  }

  /** The mean sample (per feature). */
  mean(): Float32Array {
    const f = this.featureCount;
    const sum = new Float64Array(f);
    for (let i = 0; i < this.x.length; i++) sum[i % f]! += this.x[i]!;
    const out = new Float32Array(f);
    for (let j = 0; j < f; j++) out[j] = sum[j]! / Math.max(1, this.count);
    return out;
  }
}
