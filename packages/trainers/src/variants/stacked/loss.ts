import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { l2Penalty, reconstructionLossFn } from '../../layers.js';
import type { StackedConfig } from './spec.js';

/** Reconstruction loss plus the L2 penalty on every kernel. */
export function stackedLoss(
  config: StackedConfig,
  networks: { encoder: LayersModel; decoder: LayersModel },
  x: tf.Tensor,
  reconstruction: tf.Tensor,
): tf.Scalar {
  const rec = reconstructionLossFn(config.loss)(x, reconstruction);
  if (config.l2 === 0) return rec;
  return tf.add(rec, l2Penalty([networks.encoder, networks.decoder], config.l2));
}
