import { aekitError } from '@aekit/core';
import * as tf from '@tensorflow/tfjs-core';

/** Optimisers by name, with the learning rate each uses when none is given. */
export const OPTIMIZERS = Object.freeze({
  sgd: { defaultLearningRate: 0.01, make: (lr: number) => tf.train.sgd(lr) },
  momentum: { defaultLearningRate: 0.01, make: (lr: number) => tf.train.momentum(lr, 0.9) },
  adam: { defaultLearningRate: 0.001, make: (lr: number) => tf.train.adam(lr) },
  rmsprop: { defaultLearningRate: 0.001, make: (lr: number) => tf.train.rmsprop(lr, 0.9) },
});

/** An optimiser name. */
export type OptimizerName = keyof typeof OPTIMIZERS;

/** The optimiser `name` with learning rate `lr` (or its default). */
export function createOptimizer(name: string, lr?: number): tf.Optimizer {
  const entry = OPTIMIZERS[name as OptimizerName];
  if (!entry) {
    throw aekitError(
      'InvalidTrainingOptions',
      `  --optimizer: unknown optimiser "${name}"; choose one of ${Object.keys(OPTIMIZERS).join(', ')}.`,
    );
  }
  return entry.make(lr ?? entry.defaultLearningRate);
}
