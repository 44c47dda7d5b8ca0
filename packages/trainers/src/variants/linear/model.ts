import * as tf from '@tensorflow/tfjs-core';
import { denseStack, run, sizeOf } from '../../families/dense-stack.js';
import type { AutoencoderModel, BuildContext } from '../../plugin.js';
import type { LinearConfig } from './spec.js';

/**
 * Linear encoder and decoder trained with MSE: the optimum spans the same subspace as the
 * top principal components of the data (the autoencoder performs PCA).
 */
export function buildLinear({
  config,
  inputShape,
  seed,
}: BuildContext<LinearConfig>): AutoencoderModel {
  const features = sizeOf(inputShape);
  const encoder = denseStack({
    name: 'encoder',
    inputShape,
    layers: [{ units: config.codingSize, activation: 'linear' }],
    initializer: 'glorot-uniform',
    seed,
  });
  const decoder = denseStack({
    name: 'decoder',
    inputShape: [config.codingSize],
    layers: [{ units: features, activation: 'linear' }],
    outputShape: inputShape,
    initializer: 'glorot-uniform',
    seed: seed + 1,
  });
  const reconstruct = (x: tf.Tensor, training = false) =>
    run(decoder, run(encoder, x, training), training);
  return {
    networks: { encoder, decoder },
    reconstructionLoss: 'mse',
    loss: (x, training) => tf.mean(tf.squaredDifference(x, reconstruct(x, training))) as tf.Scalar,
    reconstruct: (x) => reconstruct(x),
    encode: (x) => run(encoder, x, false),
  };
}
