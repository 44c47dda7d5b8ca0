import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import {
  ACTIVATIONS,
  type ActivationName,
  applyAll,
  flatten,
  INITIALIZERS,
  initializer,
  LOSSES,
  reconstructionLossFn,
  sigmoidCrossEntropyWithLogits,
} from '../../layers.js';
import { type AutoencoderModel, type BuildContext, defineTfjsVariant } from '../../plugin.js';
import { sizeOf } from '../dense.js';

const options = z
  .object({
    layers: z
      .array(z.number().int().positive())
      .min(1)
      .default([1000])
      .describe(
        'encoder layer sizes, the last is the coding layer that winner-take-all sparsifies; 1000 means 784-1000-784',
      ),
    activation: z
      .enum(ACTIVATIONS)
      .default('relu')
      .describe('activation of the hidden and coding layers (ReLU, as in the paper)'),
    wtaRate: z
      .number()
      .gt(0)
      .max(1)
      .default(0.05)
      .describe(
        'lifetime sparsity: during training each coding unit keeps only its largest rate x batch activations over the batch (1: no sparsity)',
      ),
    initializer: z
      .enum(INITIALIZERS)
      .default('auto')
      .describe(
        'weight initialiser (auto: lecun-normal for selu, he-normal for relu/elu, glorot-uniform otherwise)',
      ),
    loss: z
      .enum(LOSSES)
      .default('bce')
      .describe('reconstruction loss: bce for data in [0, 1], mse otherwise'),
  })
  .strict();

type WtaConfig = z.output<typeof options>;

/** How many winners each unit keeps in a batch of `batch` at `rate` (at least one). */
export function winnersPerUnit(batch: number, rate: number): number {
  return Math.min(batch, Math.max(1, Math.round(rate * batch)));
}

/**
 * Lifetime sparsity (Makhzani & Frey 2015): for each coding unit (column of `h`), keeps its
 * `k` largest activations over the batch and zeroes the others. The gradient flows through
 * the winners only (the mask is treated as a constant).
 */
export function lifetimeSparsity(h: tf.Tensor2D, k: number): tf.Tensor2D {
  const [batch, units] = h.shape;
  if (k >= batch) return h;
  const forward = (x: tf.Tensor, save: tf.GradSaveFunc) => {
    const mask = tf.tidy(() => {
      const top = tf.topk(tf.transpose(x), k).values;
      const threshold = tf.reshape(tf.slice(top, [0, k - 1], [units, 1]), [1, units]);
      return tf.cast(tf.greaterEqual(x, threshold), 'float32');
    });
    save([mask]);
    return {
      value: tf.mul(x, mask),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]!),
    };
  };
  const sparsify = tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0]);
  return sparsify(h) as tf.Tensor2D;
}

function build({ config, inputShape, seed }: BuildContext<WtaConfig>): AutoencoderModel {
  const features = sizeOf(inputShape);
  const act: ActivationName = config.activation;
  const dense = (units: number, activation: ActivationName, name: string, s: number) =>
    tfl.layers.dense({
      units,
      activation,
      kernelInitializer: initializer(config.initializer, activation, s),
      name,
    });
  const encoderLayers = config.layers.map((units, i) =>
    dense(units, act, `encoder_dense_${i + 1}`, seed * 1000 + i),
  );
  const encoderTrunk = [
    tfl.layers.flatten({ inputShape: [...inputShape], name: 'encoder_flatten' }),
    ...encoderLayers,
  ];
  const encoder = tfl.sequential({ name: 'encoder', layers: encoderTrunk });
  // The decoder mirrors the hidden layers, then a linear layer to the pixels (the paper's
  // decoder for a single coding layer), then the output activation on its own.
  const hidden = config.layers.slice(0, -1).reverse();
  const decoderLayers = [
    tfl.layers.inputLayer({ inputShape: [config.layers.at(-1)!] }),
    ...hidden.map((units, i) => dense(units, act, `decoder_dense_${i + 1}`, (seed + 1) * 1000 + i)),
    dense(features, 'linear', 'decoder_pixels', (seed + 1) * 1000 + 99),
    ...(inputShape.length > 1 ? [tfl.layers.reshape({ targetShape: [...inputShape] })] : []),
  ];
  const sigmoid = config.loss === 'bce';
  const decoder = tfl.sequential({
    name: 'decoder',
    layers: [
      ...decoderLayers,
      ...(sigmoid
        ? [tfl.layers.activation({ activation: 'sigmoid', name: 'decoder_output' })]
        : []),
    ],
  });
  const toOutput = decoderLayers.slice(1);

  return {
    networks: { encoder, decoder },
    reconstructionLoss: config.loss,
    loss: (x, training) => {
      const codings = applyAll(encoderTrunk, x) as tf.Tensor2D;
      const k = winnersPerUnit(codings.shape[0], training ? config.wtaRate : 1);
      const sparse = lifetimeSparsity(codings, k);
      const out = applyAll(toOutput, sparse);
      const reconstruction = sigmoid
        ? sigmoidCrossEntropyWithLogits(flatten(x), flatten(out))
        : reconstructionLossFn('mse')(x, out);
      // Logged, not minimised: the fraction of codes that are not zero after the sparsity.
      const kept = tf.mean(tf.cast(tf.notEqual(sparse, 0), 'float32')) as tf.Scalar;
      return { total: reconstruction, terms: { reconstruction, nonzero: kept } };
    },
    reconstruct: (x) => decoder.apply(encoder.apply(x)) as tf.Tensor,
    encode: (x) => encoder.apply(x) as tf.Tensor,
  };
}

/** The winner-take-all autoencoder with lifetime sparsity (fully connected). */
export const wtaVariant = defineTfjsVariant({
  name: 'wta',
  title: 'Winner-take-all autoencoder',
  description:
    "Makhzani & Frey's winner-take-all autoencoder: during training, each coding unit keeps only its largest activations over the batch (lifetime sparsity, --wta-rate, 5% by default) and the others are zeroed before decoding, so every unit learns a localised feature. The fraction of non-zero codes is logged as `nonzero`. Inference is dense (no sparsity): encode gives every unit's ReLU activation.",
  options,
  capabilities: [],
  trainer: {
    build,
    outputActivation: (config) => (config.loss === 'bce' ? 'sigmoid' : 'linear'),
  },
});
