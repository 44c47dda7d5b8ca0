import { aekitError, createRng, TENSOR_NAMES } from '@aekit/core';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import {
  convDecoderLayers,
  convEncoderLayers,
  convOptionFields,
  convShapeProblem,
  convShapes,
} from '../../families/conv-stack.js';
import { sizeOf } from '../../families/dense-stack.js';
import {
  ACTIVATIONS,
  type ActivationName,
  applyAll,
  denseLayer,
  denseOptionFields,
  flatten,
  initializer,
  sigmoidCrossEntropyWithLogits,
} from '../../layers.js';
import {
  type AutoencoderModel,
  type BuildContext,
  DEFAULT_ONNX_GRAPHS,
  defineTfjsVariant,
} from '../../plugin.js';

const options = z
  .object({
    arch: z
      .enum(['dense', 'conv'])
      .default('dense')
      .describe(
        'dense: hidden dense layers (--layers); conv: convolutional levels (--filters) before the dense heads',
      ),
    codingSize: z
      .number()
      .int()
      .positive()
      .default(20)
      .describe('dimensions of the coding (the latent space); 2 can be drawn as a plane'),
    layers: z
      .array(z.number().int().positive())
      .optional()
      .describe(
        'hidden dense layers of the encoder, the decoder mirrors them (default 500,500 with --arch dense; none after the convolutions with --arch conv)',
      ),
    activation: z.enum(ACTIVATIONS).default('elu').describe('activation of the hidden layers'),
    initializer: denseOptionFields.initializer,
    beta: z
      .number()
      .min(0)
      .default(1)
      .describe('weight of the latent loss (beta-VAE: above 1 for more disentangled codings)'),
    ...convOptionFields,
  })
  .strict();

type VaeConfig = z.output<typeof options>;

/**
 * The latent loss of codings N(mean, exp(logVariance)) against the prior N(0, I): the KL
 * divergence 0.5 * sum(exp(gamma) + mu^2 - 1 - gamma) over the coding units, averaged over
 * the batch.
 */
export function latentLoss(mean: tf.Tensor, logVariance: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const perUnit = tf.sub(tf.add(tf.exp(logVariance), tf.square(mean)), tf.add(1, logVariance));
    return tf.div(tf.mul(0.5, tf.sum(perUnit)), mean.shape[0]!) as tf.Scalar;
  });
}

function build({ config, inputShape, seed }: BuildContext<VaeConfig>): AutoencoderModel {
  const conv = config.arch === 'conv';
  if (conv) {
    const problem = convShapeProblem(inputShape, config.filters);
    if (problem) throw aekitError('InvalidArgument', `Variant "vae" (--arch conv): ${problem}.`);
  }
  const hidden = config.layers ?? (conv ? [] : [500, 500]);
  const features = sizeOf(inputShape);
  const act: ActivationName = config.activation;
  const dense = (units: number, activation: ActivationName, name: string, s: number) =>
    denseLayer({
      units,
      activation,
      kernelInitializer: initializer(config.initializer, activation, s),
      name,
    });

  // Encoder: [conv levels], flatten, hidden dense layers, then two heads from the same
  // tensor: the mean coding and gamma = log(sigma^2).
  const input = tfl.input({ shape: [...inputShape], name: TENSOR_NAMES.input });
  const trunk: tfl.layers.Layer[] = [
    ...(conv ? convEncoderLayers('encoder', inputShape, config, seed * 1000) : []),
    ...(inputShape.length > 1 ? [tfl.layers.flatten({ name: 'encoder_flatten' })] : []),
    ...hidden.map((units, i) => dense(units, act, `encoder_dense_${i + 1}`, seed * 1000 + 100 + i)),
  ];
  const h = trunk.reduce<tfl.SymbolicTensor>(
    (t, layer) => layer.apply(t) as tfl.SymbolicTensor,
    input,
  );
  const meanHead = dense(config.codingSize, 'linear', 'mean', seed * 1000 + 200);
  const logVarianceHead = dense(
    config.codingSize,
    'linear',
    TENSOR_NAMES.logVariance,
    seed * 1000 + 201,
  );
  const encoder = tfl.model({
    name: 'encoder',
    inputs: input,
    outputs: [
      meanHead.apply(h) as tfl.SymbolicTensor,
      logVarianceHead.apply(h) as tfl.SymbolicTensor,
    ],
  });

  // Decoder: hidden dense layers mirrored, then either dense to the pixels or, for conv, a
  // dense layer to the deepest feature maps and the transposed convolutions; the output
  // activation (sigmoid) is a layer of its own so the loss can use the logits.
  const deepest = convShapes(inputShape, config.filters).at(-1)!;
  const logitsLayers: tfl.layers.Layer[] = [
    tfl.layers.inputLayer({ inputShape: [config.codingSize], name: 'decoder_input' }),
    ...[...hidden]
      .reverse()
      .map((units, i) => dense(units, act, `decoder_dense_${i + 1}`, (seed + 1) * 1000 + i)),
    ...(conv
      ? [
          dense(
            sizeOf(deepest),
            config.convActivation,
            'decoder_dense_maps',
            (seed + 1) * 1000 + 99,
          ),
          tfl.layers.reshape({ targetShape: deepest, name: 'decoder_maps' }),
          ...convDecoderLayers('decoder', inputShape, config, 'linear', (seed + 1) * 1000 + 200),
        ]
      : [
          dense(features, 'linear', 'decoder_pixels', (seed + 1) * 1000 + 99),
          ...(inputShape.length > 1
            ? [tfl.layers.reshape({ targetShape: [...inputShape], name: 'decoder_reshape' })]
            : []),
        ]),
  ];
  const decoder = tfl.sequential({
    name: 'decoder',
    layers: [
      ...logitsLayers,
      tfl.layers.activation({ activation: 'sigmoid', name: 'decoder_output' }),
    ],
  });
  const toLogits = logitsLayers.slice(1);

  // Every draw of the reparameterisation noise gets its own seed from one stream.
  const rng = createRng(seed, 'vae');
  const noiseSeed = () => Math.floor(rng() * 2 ** 31);
  const encodeBoth = (x: tf.Tensor) => encoder.apply(x) as [tf.Tensor2D, tf.Tensor2D];

  /** Both terms of the negative ELBO of batch `x`, in nats per sample, from one draw. */
  const terms = (x: tf.Tensor) => {
    const [mean, logVariance] = encodeBoth(x);
    const eps = tf.randomNormal(mean.shape, 0, 1, 'float32', noiseSeed());
    const z = tf.add(mean, tf.mul(tf.exp(tf.mul(0.5, logVariance)), eps));
    // Cross-entropy summed over the pixels, averaged over the batch: the mean over every
    // value (one fused kernel) times the pixels of a sample.
    const reconstruction = tf.mul(
      sigmoidCrossEntropyWithLogits(flatten(x), flatten(applyAll(toLogits, z))),
      features,
    ) as tf.Scalar;
    return { reconstruction, latent: latentLoss(mean, logVariance) };
  };

  return {
    networks: { encoder, decoder },
    reconstructionLoss: 'bce',
    lossDescription: {
      name:
        config.beta === 1
          ? 'negative ELBO'
          : `reconstruction + ${config.beta} × KL (β-weighted negative ELBO)`,
      unit: 'nats per image',
    },
    loss: (x) => {
      const { reconstruction, latent } = terms(x);
      const total = tf.add(reconstruction, tf.mul(config.beta, latent)) as tf.Scalar;
      return { total, terms: { reconstruction, latent } };
    },
    measures: (x) => {
      const { reconstruction, latent } = terms(x);
      return {
        negativeElbo: tf.add(reconstruction, latent) as tf.Scalar,
        reconstructionNats: reconstruction,
        latentNats: latent,
      };
    },
    reconstruct: (x) => decoder.apply(encodeBoth(x)[0]) as tf.Tensor,
    encode: (x) => encodeBoth(x)[0],
  };
}

/** The variational autoencoder (Kingma & Welling), with an optional convolutional body. */
export const vaeVariant = defineTfjsVariant({
  name: 'vae',
  title: 'Variational autoencoder',
  description:
    'The encoder outputs a mean coding and gamma = log(sigma^2); training samples the coding as mean + exp(gamma/2) * noise (the reparameterisation trick) and minimises the reconstruction cross-entropy summed over pixels plus beta times the latent loss 0.5 * sum(exp(gamma) + mean^2 - 1 - gamma). Codings drawn from N(0, I) decode to new samples (aekit sample). The ONNX encoder outputs codings (the mean) and log_variance; no graph holds a random op.',
  options,
  capabilities: ['sample'],
  trainer: {
    build,
    onnxGraphs: () =>
      DEFAULT_ONNX_GRAPHS.map((g) =>
        g.role === 'encoder' ? { ...g, extraOutputNames: [TENSOR_NAMES.logVariance] } : g,
      ),
    outputActivation: () => 'sigmoid',
    inputRange: () => ({
      min: 0,
      max: 1,
      why: 'with its binary cross-entropy reconstruction loss',
    }),
    sampler: () => ({ kind: 'prior' }),
  },
});
