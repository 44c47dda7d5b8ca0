import { createRng, TENSOR_NAMES } from '@aekit/core';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import {
  applyWithoutLast,
  denseStack,
  denseStackWeightCount,
  sizeOf,
} from '../../families/dense-stack.js';
import {
  type ActivationName,
  applyAll,
  denseLayer,
  denseOptionFields,
  flatten,
  initializer,
  l2Penalty,
  reconstructionLossFn,
  reconstructionOptionFields,
  Threshold,
} from '../../layers.js';
import {
  type AutoencoderModel,
  type BuildContext,
  DEFAULT_ONNX_GRAPHS,
  defineTfjsVariant,
  type LossValue,
  lossInputRange,
} from '../../plugin.js';

/** The ONNX encoder output holding the rounded bits (beside `codings`, the probabilities). */
export const BITS_OUTPUT = TENSOR_NAMES.bits;

/**
 * The export's parity allowance for graphs through the coding layer. The noise trains the
 * coding logits to large magnitudes (up to about 1,600 on MNIST after 10 epochs), so a
 * float32 logit carries rounding of order 1e-4 in either runtime, and the sigmoid passes a
 * quarter of it; 1e-5 would fail on summation order alone. The bits are still exact.
 */
export const HASHING_PARITY_TOLERANCE = 5e-4;

/** Coding activations below this or above 1 minus it count as saturated. */
export const SATURATION_MARGIN = 0.1;

const options = z
  .object({
    layers: z
      .array(z.number().int().positive())
      .default([500, 300])
      .describe('hidden layers of the encoder before the coding layer; the decoder mirrors them'),
    bits: z
      .number()
      .int()
      .min(1)
      .max(1024)
      .default(30)
      .describe('units of the logistic coding layer: the bits of a hash'),
    codingNoise: z
      .number()
      .min(0)
      .default(16)
      .describe(
        'standard deviation of the Gaussian noise added to the coding layer inputs in training, which pushes the codings to 0 or 1',
      ),
    ...denseOptionFields,
    ...reconstructionOptionFields,
  })
  .strict();

type HashingConfig = z.output<typeof options>;

function build({ config, inputShape, seed }: BuildContext<HashingConfig>): AutoencoderModel {
  const features = sizeOf(inputShape);
  const act: ActivationName = config.activation;
  const fromLogits = config.loss === 'bce' && config.outputActivation === 'sigmoid';

  // Encoder: [flatten], hidden dense layers, the coding logits, their sigmoid (the codings)
  // and, as a second output, the codings rounded to bits.
  const input = tfl.input({ shape: [...inputShape], name: TENSOR_NAMES.input });
  const trunk: tfl.layers.Layer[] = [
    ...(inputShape.length > 1 ? [tfl.layers.flatten({ name: 'encoder_flatten' })] : []),
    ...config.layers.map((units, i) =>
      denseLayer({
        units,
        activation: act,
        kernelInitializer: initializer(config.initializer, act, seed * 1000 + i),
        name: `encoder_dense_${i + 1}`,
      }),
    ),
    denseLayer({
      units: config.bits,
      kernelInitializer: initializer(config.initializer, 'sigmoid', seed * 1000 + 99),
      name: 'coding_logits',
    }),
  ];
  const logits = applyAll(trunk, input as unknown as tf.Tensor) as unknown as tfl.SymbolicTensor;
  const codings = tfl.layers
    .activation({ activation: 'sigmoid', name: TENSOR_NAMES.codings })
    .apply(logits) as tfl.SymbolicTensor;
  const bits = new Threshold({ threshold: 0.5, name: BITS_OUTPUT }).apply(
    codings,
  ) as tfl.SymbolicTensor;
  const encoder = tfl.model({ name: 'encoder', inputs: input, outputs: [codings, bits] });

  const decoder = denseStack({
    name: 'decoder',
    inputShape: [config.bits],
    layers: [
      ...[...config.layers].reverse().map((units) => ({ units, activation: act })),
      { units: features, activation: config.outputActivation },
    ],
    outputShape: inputShape,
    separateOutputActivation: fromLogits,
    initializer: config.initializer,
    seed: seed + 1,
  });

  const rng = createRng(seed, 'hashing');
  const noiseSeed = () => Math.floor(rng() * 2 ** 31);
  const reconstructionLoss = reconstructionLossFn(config.loss, fromLogits);
  const encodeBoth = (x: tf.Tensor) => encoder.apply(x) as [tf.Tensor2D, tf.Tensor2D];

  return {
    networks: { encoder, decoder },
    reconstructionLoss: config.loss,
    loss: (x, training): LossValue => {
      let z = applyAll(trunk, x, training);
      if (training && config.codingNoise > 0) {
        z = tf.add(z, tf.randomNormal(z.shape, 0, config.codingNoise, 'float32', noiseSeed()));
      }
      const probabilities = tf.sigmoid(z);
      const output = fromLogits
        ? applyWithoutLast(decoder, probabilities, training)
        : (decoder.apply(probabilities, { training }) as tf.Tensor);
      const reconstruction = reconstructionLoss(
        fromLogits ? flatten(x) : x,
        fromLogits ? flatten(output) : output,
      );
      if (config.l2 === 0) return reconstruction;
      const l2 = l2Penalty([encoder, decoder], config.l2);
      return { total: tf.add(reconstruction, l2) as tf.Scalar, terms: { reconstruction, l2 } };
    },
    measures: (x) => {
      const p = encodeBoth(x)[0];
      const saturated = tf.logicalOr(
        tf.less(p, SATURATION_MARGIN),
        tf.greater(p, 1 - SATURATION_MARGIN),
      );
      return { saturated: tf.mean(tf.cast(saturated, 'float32')) as tf.Scalar };
    },
    reconstruct: (x) => decoder.apply(encodeBoth(x)[0]) as tf.Tensor,
    encode: (x) => encodeBoth(x)[0],
  };
}

/** Semantic hashing (Salakhutdinov & Hinton 2009): an autoencoder whose codings are bits. */
export const hashingVariant = defineTfjsVariant({
  name: 'hashing',
  title: 'Semantic hashing',
  description:
    "A stacked autoencoder (default 784-500-300-30, SELU) whose coding layer is logistic with --bits units; in training, Gaussian noise (--coding-noise, std 16) is added to that layer's inputs, which only codings near 0 or 1 survive, so the codings saturate. The hash of an input is its codings rounded to bits: similar inputs get codes a small Hamming distance apart (aekit hash builds an index, aekit search finds neighbours, aekit eval reports precision@k). The ONNX encoder outputs both: codings (the probabilities) and bits (1 where a probability is above 0.5, else 0).",
  options,
  capabilities: ['hash'],
  trainer: {
    build,
    onnxGraphs: () =>
      DEFAULT_ONNX_GRAPHS.map((g) => ({
        ...g,
        ...(g.role === 'encoder' ? { extraOutputNames: [BITS_OUTPUT] } : {}),
        ...(g.networks[0] === 'encoder' ? { parityTolerance: HASHING_PARITY_TOLERANCE } : {}),
      })),
    outputActivation: (config) => config.outputActivation,
    inputRange: (config) => lossInputRange(config.loss),
    weightCount: ({ config, inputShape }) =>
      denseStackWeightCount(sizeOf(inputShape), [...config.layers, config.bits]),
  },
});
