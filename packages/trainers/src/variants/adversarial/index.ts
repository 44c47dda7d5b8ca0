import { createRng } from '@aekit/core';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import {
  buildDenseAutoencoder,
  checkDenseConfig,
  type DenseAutoencoderConfig,
  denseAutoencoderOptions,
} from '../../families/dense-autoencoder.js';
import { denseStackWeightCount, sizeOf } from '../../families/dense-stack.js';
import {
  ACTIVATIONS,
  type ActivationName,
  applyAll,
  denseLayer,
  initializer,
  sigmoidCrossEntropyWithLogits,
} from '../../layers.js';
import {
  type AutoencoderModel,
  type BuildContext,
  defineTfjsVariant,
  lossInputRange,
  lossParts,
} from '../../plugin.js';

/** Validated options: the dense autoencoder's and the discriminator's. */
type AdversarialConfig = DenseAutoencoderConfig & {
  readonly discriminatorLayers: readonly number[];
  readonly discriminatorActivation: ActivationName;
};

const options = denseAutoencoderOptions
  .extend({
    layers: z
      .array(z.number().int().positive())
      .min(1)
      .default([256, 8])
      .describe(
        'encoder layer sizes, the last is the coding size (the prior has as many dimensions); 256,8 means 784-256-8-256-784',
      ),
    discriminatorLayers: z
      .array(z.number().int().positive())
      .min(1)
      .default([256, 256])
      .describe('hidden layers of the discriminator, which reads a coding and gives one logit'),
    discriminatorActivation: z
      .enum(ACTIVATIONS)
      .default('relu')
      .describe('activation of the discriminator hidden layers'),
  })
  .superRefine((raw, ctx) => {
    const config = raw as unknown as AdversarialConfig;
    const problem = checkDenseConfig([], config);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
    if (config.with.includes('greedy')) {
      ctx.addIssue({
        code: 'custom',
        message:
          'greedy cannot be combined with adversarial: each batch trains the whole autoencoder, the discriminator and the encoder in turn.',
      });
    }
  });

/**
 * The adversarial autoencoder: a dense autoencoder (with any `--with` constraint but
 * greedy) whose codings a discriminator network learns to tell from draws of the prior
 * N(0, I), while the encoder learns to fool it. Three steps on every batch, each with its
 * own optimiser: reconstruction (encoder and decoder), discriminator, generator (encoder).
 */
function build(context: BuildContext<Record<string, unknown>>): AutoencoderModel {
  const { seed } = context;
  const config = context.config as AdversarialConfig;
  // Codings are matched to a Gaussian, so they are linear unless the options say otherwise.
  const denseConfig = {
    ...config,
    codingActivation: config.codingActivation === 'auto' ? 'linear' : config.codingActivation,
  } as unknown as DenseAutoencoderConfig;
  const autoencoder = buildDenseAutoencoder([], { ...context, config: denseConfig });
  const { encoder, decoder } = autoencoder.networks;
  const codingSize = config.layers[config.layers.length - 1]!;

  const discriminatorLayers = [
    ...config.discriminatorLayers.map((units, i) =>
      denseLayer({
        units,
        activation: config.discriminatorActivation,
        kernelInitializer: initializer(
          config.initializer,
          config.discriminatorActivation,
          (seed + 2) * 1000 + i,
        ),
        name: `discriminator_dense_${i + 1}`,
        ...(i === 0 ? { inputShape: [codingSize] } : {}),
      }),
    ),
    denseLayer({
      units: 1,
      kernelInitializer: initializer(config.initializer, 'sigmoid', (seed + 2) * 1000 + 99),
      name: 'discriminator_logit',
    }),
  ];
  const discriminator = tfl.sequential({ name: 'discriminator', layers: discriminatorLayers });
  const logitOf = (codings: tf.Tensor) => applyAll(discriminatorLayers, codings, true);
  const ones = (t: tf.Tensor) => tf.onesLike(t);
  const zeros = (t: tf.Tensor) => tf.zerosLike(t);

  const rng = createRng(seed, 'adversarial');
  const priorSeed = () => Math.floor(rng() * 2 ** 31);
  const weightsOf = (...nets: tfl.LayersModel[]) =>
    nets.flatMap((net) => net.trainableWeights.map((w) => w.read() as tf.Variable));
  const codingsOf = (x: tf.Tensor) => encoder.apply(x, { training: true }) as tf.Tensor2D;

  return {
    ...autoencoder,
    networks: { encoder, decoder, discriminator },
    steps: [
      {
        name: 'reconstruction',
        variables: () => weightsOf(encoder, decoder),
        loss: (x, training) => lossParts(autoencoder.loss(x, training)).total,
      },
      {
        // Prior draws are "real" (1), codings "fake" (0); only the discriminator changes.
        name: 'discriminator',
        variables: () => weightsOf(discriminator),
        loss: (x) => {
          const codings = codingsOf(x);
          const prior = tf.randomNormal(codings.shape, 0, 1, 'float32', priorSeed());
          const real = logitOf(prior);
          const fake = logitOf(codings);
          return tf.mul(
            0.5,
            tf.add(
              sigmoidCrossEntropyWithLogits(ones(real), real),
              sigmoidCrossEntropyWithLogits(zeros(fake), fake),
            ),
          ) as tf.Scalar;
        },
      },
      {
        // The encoder changes so that the discriminator takes its codings for prior draws.
        name: 'generator',
        variables: () => weightsOf(encoder),
        loss: (x) => {
          const fake = logitOf(codingsOf(x));
          return sigmoidCrossEntropyWithLogits(ones(fake), fake);
        },
      },
    ],
  };
}

/** The adversarial autoencoder (Makhzani et al. 2016) with a Gaussian prior. */
export const adversarialVariant = defineTfjsVariant({
  name: 'adversarial',
  title: 'Adversarial autoencoder',
  description:
    'A dense autoencoder (the stacked options, --with constraints but greedy) whose codings a discriminator network (--discriminator-layers) learns to tell from draws of the prior N(0, I), while the encoder learns to fool it (Makhzani et al. 2016). Every batch makes three steps, each with its own optimiser: reconstruction (encoder and decoder), discriminator, generator (encoder); the three losses are logged. The codings come to follow the prior, so prior draws decode to new samples (aekit sample). The coding layer is linear unless --coding-activation says otherwise.',
  options,
  capabilities: ['sample'],
  trainer: {
    build,
    outputActivation: (config) => (config as AdversarialConfig).outputActivation,
    inputRange: (config) => lossInputRange((config as AdversarialConfig).loss),
    // The autoencoder's stack; the discriminator's few small layers are left out.
    weightCount: ({ config, inputShape }) =>
      denseStackWeightCount(sizeOf(inputShape), (config as AdversarialConfig).layers),
    sampler: () => ({ kind: 'prior' }),
  },
});
