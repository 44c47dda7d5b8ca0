import { aekitError, createRng, Dataset, permutation } from '@aekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { fit } from '../engine/fit.js';

/** Options of {@link fitLinearProbe}. */
export interface ProbeOptions {
  /** Passes over the training codings (default 30). */
  readonly epochs?: number;
  readonly batchSize?: number;
  /** Adam's learning rate (default 0.01). */
  readonly learningRate?: number;
  /** L2 penalty on the weights, per sample (default 1e-4). */
  readonly l2?: number;
  /** Seed of the initial weights and the shuffles. */
  readonly seed?: number;
}

/** What a linear probe measured. */
export interface ProbeReport {
  /** Share of held-out samples whose label the probe predicts. */
  readonly accuracy: number;
  /** The same on the samples it was fitted to. */
  readonly trainAccuracy: number;
  /** The share of the most frequent held-out label: what predicting it always would score. */
  readonly chance: number;
  readonly classes: number;
  /** Coding values per sample: the probe's inputs. */
  readonly features: number;
  readonly trainSamples: number;
  readonly testSamples: number;
}

/** Labels as class numbers 0..C-1 (in increasing label order), and the label values. */
function classIndex(labels: Int32Array): { classes: number[]; of: Map<number, number> } {
  const classes = [...new Set(labels)].sort((a, b) => a - b);
  return { classes, of: new Map(classes.map((c, i) => [c, i])) };
}

/**
 * A linear probe: multinomial logistic regression (softmax of `x W + b`, cross-entropy, L2)
 * fitted to standardised codings `trainX` (`features` per sample) and their labels, then
 * scored on `testX`. The usual measure of how much of the labels a coding makes linearly
 * available. Fitted with Adam on seeded shuffled batches, so a seed gives one result.
 *
 * @throws AekitError `InvalidArgument` without labels or with fewer than two classes.
 */
export async function fitLinearProbe(
  trainX: Float32Array,
  trainY: Int32Array,
  testX: Float32Array,
  testY: Int32Array,
  features: number,
  options: ProbeOptions = {},
): Promise<ProbeReport> {
  const { epochs = 30, batchSize = 256, learningRate = 0.01, l2 = 1e-4, seed = 0 } = options;
  const n = trainY.length;
  const m = testY.length;
  if (trainX.length !== n * features || testX.length !== m * features) {
    throw aekitError('InvalidArgument', 'linear probe: codings and labels disagree in count.');
  }
  const { classes, of } = classIndex(trainY);
  if (classes.length < 2) {
    throw aekitError(
      'InvalidArgument',
      `linear probe: the training samples have ${classes.length} label(s); a probe needs at least two classes.`,
    );
  }
  // Standardise each coding value with the training mean and deviation (constant ones stay 0).
  const mean = new Float64Array(features);
  const sq = new Float64Array(features);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < features; j++) {
      const v = trainX[i * features + j]!;
      mean[j]! += v / n;
      sq[j]! += (v * v) / n;
    }
  }
  const scale = Float32Array.from(mean, (mu, j) => {
    const sd = Math.sqrt(Math.max(0, sq[j]! - mu * mu));
    return sd > 1e-12 ? 1 / sd : 0;
  });
  const standardise = (x: Float32Array) =>
    Float32Array.from(x, (v, k) => (v - mean[k % features]!) * scale[k % features]!);
  const target = (y: Int32Array) => Int32Array.from(y, (label) => of.get(label) ?? -1);

  const C = classes.length;
  const train = new Dataset({
    x: standardise(trainX),
    sampleShape: [features],
    labels: target(trainY),
  });
  const xs = tf.tensor2d(train.x, [n, features]);
  const ys = tf.tensor1d(train.labels!, 'int32');
  const w = tf.variable(tf.randomNormal([features, C], 0, 0.01, 'float32', seed));
  const b = tf.variable(tf.zeros([C]));
  const logits = (x: tf.Tensor) => tf.add(tf.matMul(x as tf.Tensor2D, w), b);
  const accuracyOf = async (x: tf.Tensor2D, y: tf.Tensor1D): Promise<number> => {
    const hits = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits(x), 1), y), 'float32')));
    const value = (await hits.data())[0]!;
    hits.dispose();
    return value / Math.max(1, y.shape[0]);
  };
  try {
    // One seeded stream of shuffles over the epochs, one permutation each.
    const rng = createRng(seed, 'probe');
    await fit(
      {
        supervised: true,
        variables: () => [w, b],
        loss: (x, _training, y) =>
          tf.add(
            tf.losses.softmaxCrossEntropy(tf.oneHot(y!, C), logits(x)),
            tf.mul(l2, tf.sum(tf.square(w))),
          ) as tf.Scalar,
      },
      {
        data: train,
        epochs,
        batchSize,
        seed,
        optimizer: () => tf.train.adam(learningRate),
        order: () => permutation(n, rng),
      },
    );
    const testXs = tf.tensor2d(standardise(testX), [m, features]);
    const testYs = tf.tensor1d(target(testY), 'int32');
    try {
      const counts = new Map<number, number>();
      for (const label of testY) counts.set(label, (counts.get(label) ?? 0) + 1);
      return {
        accuracy: await accuracyOf(testXs, testYs),
        trainAccuracy: await accuracyOf(xs, ys),
        chance: Math.max(0, ...counts.values()) / Math.max(1, m),
        classes: C,
        features,
        trainSamples: n,
        testSamples: m,
      };
    } finally {
      tf.dispose([testXs, testYs]);
    }
  } finally {
    tf.dispose([xs, ys, w, b]);
  }
}
