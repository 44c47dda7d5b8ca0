import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { l2Penalty, reconstructionLossFn, sigmoidCrossEntropyWithLogits } from '../../layers.js';
import type { StackedConfig } from './spec.js';

/** The decoder's result: its output, or the logits before its sigmoid. */
export type DecoderResult = { readonly output: tf.Tensor } | { readonly logits: tf.Tensor };

/** Reconstruction loss plus the L2 penalty on every kernel. */
export function stackedLoss(
  config: StackedConfig,
  networks: { encoder: LayersModel; decoder: LayersModel },
  x: tf.Tensor,
  decoded: DecoderResult,
): tf.Scalar {
  const rec =
    'logits' in decoded
      ? sigmoidCrossEntropyWithLogits(x, decoded.logits)
      : reconstructionLossFn(config.loss)(x, decoded.output);
  if (config.l2 === 0) return rec;
  return tf.add(rec, l2Penalty([networks.encoder, networks.decoder], config.l2));
}
