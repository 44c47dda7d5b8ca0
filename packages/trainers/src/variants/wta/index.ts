import { aekitError } from '@aekit/core';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { sizeOf } from '../../families/dense-stack.js';
import {
  ACTIVATIONS,
  type ActivationName,
  applyAll,
  conv2dLayer,
  conv2dTransposeLayer,
  denseLayer,
  denseOptionFields,
  initializer,
  reconstructionLossFn,
  reconstructionOptionFields,
} from '../../layers.js';
import {
  type AutoencoderModel,
  type BuildContext,
  defineTfjsVariant,
  lossInputRange,
} from '../../plugin.js';

const options = z
  .object({
    arch: z
      .enum(['dense', 'conv'])
      .default('dense')
      .describe(
        'dense: a fully connected coding layer (lifetime sparsity); conv: convolutional feature maps (spatial, then lifetime sparsity)',
      ),
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
    filters: z
      .array(z.number().int().positive())
      .min(1)
      .default([64])
      .describe('--arch conv: channels of the encoder convolutions (same padding, no pooling)'),
    kernelSize: z
      .number()
      .int()
      .positive()
      .default(5)
      .describe('--arch conv: side of the encoder convolution kernels'),
    decoderKernel: z
      .number()
      .int()
      .positive()
      .default(11)
      .describe('--arch conv: side of the kernel of the one transposed convolution that decodes'),
    wtaRate: z
      .number()
      .gt(0)
      .max(1)
      .default(0.05)
      .describe(
        'lifetime sparsity: during training each coding unit keeps only its largest rate x batch activations over the batch (1: no sparsity)',
      ),
    initializer: denseOptionFields.initializer,
    loss: reconstructionOptionFields.loss,
  })
  .strict();

type WtaConfig = z.output<typeof options>;

/** How many winners each unit keeps in a batch of `batch` at `rate` (at least one). */
export function winnersPerUnit(batch: number, rate: number): number {
  return Math.min(batch, Math.max(1, Math.round(rate * batch)));
}

/**
 * Winner-take-all sparsity (Makhzani & Frey 2015), the mask as a constant for the gradient
 * (which flows through the winners only):
 * - codes `[batch, units]`: lifetime sparsity, each unit keeps its `k` largest activations
 *   over the batch;
 * - feature maps `[batch, height, width, channels]`: spatial sparsity first, each map of
 *   each sample keeps only its largest (positive) activation, then lifetime sparsity on
 *   those winners: each channel keeps its `k` largest winners over the batch.
 */
export function winnerTakeAll<T extends tf.Tensor>(h: T, k: number): T {
  const batch = h.shape[0]!;
  const conv = h.rank === 4;
  if (!conv && k >= batch) return h;
  const forward = (x: tf.Tensor, save: tf.GradSaveFunc) => {
    const mask = tf.tidy(() => {
      const units = x.shape[x.rank - 1]!;
      let spatial: tf.Tensor | undefined;
      let winners = x;
      if (conv) {
        const max = tf.max(x, [1, 2], true);
        spatial = tf.logicalAnd(tf.greaterEqual(x, max), tf.greater(x, 0));
        winners = tf.reshape(max, [batch, units]);
      }
      let lifetime: tf.Tensor = tf.cast(tf.onesLike(winners), 'bool');
      if (k < batch) {
        const top = tf.topk(tf.transpose(winners), k).values;
        const threshold = tf.reshape(tf.slice(top, [0, k - 1], [units, 1]), [1, units]);
        lifetime = tf.greaterEqual(winners, threshold);
      }
      const keep = conv
        ? tf.logicalAnd(spatial!, tf.reshape(lifetime, [batch, 1, 1, units]))
        : lifetime;
      return tf.cast(keep, 'float32');
    });
    save([mask]);
    return {
      value: tf.mul(x, mask),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]!),
    };
  };
  const sparsify = tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0]);
  return sparsify(h) as T;
}

/**
 * The fraction of codes (`[batch, units]`) or of feature maps (`[batch, h, w, channels]`,
 * per sample) that hold a non-zero value.
 */
function activeFraction(codes: tf.Tensor): tf.Scalar {
  const active = codes.rank === 4 ? tf.max(tf.abs(codes), [1, 2]) : codes;
  return tf.mean(tf.cast(tf.notEqual(active, 0), 'float32')) as tf.Scalar;
}

function build({ config, inputShape, seed }: BuildContext<WtaConfig>): AutoencoderModel {
  const features = sizeOf(inputShape);
  const act: ActivationName = config.activation;
  const dense = (units: number, activation: ActivationName, name: string, s: number) =>
    denseLayer({
      units,
      activation,
      kernelInitializer: initializer(config.initializer, activation, s),
      name,
    });
  const conv = config.arch === 'conv';
  if (conv && inputShape.length !== 3) {
    throw aekitError(
      'InvalidArgument',
      `Variant "wta" (--arch conv) needs image samples [height, width, channels]; these have shape [${inputShape.join(', ')}].`,
    );
  }
  let encoderTrunk: tfl.layers.Layer[];
  let decoderLayers: tfl.layers.Layer[];
  if (conv) {
    // The paper's convolutional WTA: same-padded convolutions without pooling, so that each
    // feature map keeps the image's size, and one large transposed convolution to decode.
    encoderTrunk = config.filters.map((filters, i) =>
      conv2dLayer({
        filters,
        kernelSize: config.kernelSize,
        padding: 'same',
        activation: act,
        kernelInitializer: initializer(config.initializer, act, seed * 1000 + i),
        name: `encoder_conv_${i + 1}`,
        ...(i === 0 ? { inputShape: [...inputShape] } : {}),
      }),
    );
    decoderLayers = [
      tfl.layers.inputLayer({
        inputShape: [inputShape[0]!, inputShape[1]!, config.filters.at(-1)!],
      }),
      conv2dTransposeLayer({
        filters: inputShape[2]!,
        kernelSize: config.decoderKernel,
        padding: 'same',
        kernelInitializer: initializer(config.initializer, 'linear', (seed + 1) * 1000),
        name: 'decoder_deconv',
      }),
    ];
  } else {
    encoderTrunk = [
      tfl.layers.flatten({ inputShape: [...inputShape], name: 'encoder_flatten' }),
      ...config.layers.map((units, i) =>
        dense(units, act, `encoder_dense_${i + 1}`, seed * 1000 + i),
      ),
    ];
    // The decoder mirrors the hidden layers, then a linear layer to the pixels (the paper's
    // decoder for a single coding layer).
    const hidden = config.layers.slice(0, -1).reverse();
    decoderLayers = [
      tfl.layers.inputLayer({ inputShape: [config.layers.at(-1)!] }),
      ...hidden.map((units, i) =>
        dense(units, act, `decoder_dense_${i + 1}`, (seed + 1) * 1000 + i),
      ),
      dense(features, 'linear', 'decoder_pixels', (seed + 1) * 1000 + 99),
      ...(inputShape.length > 1 ? [tfl.layers.reshape({ targetShape: [...inputShape] })] : []),
    ];
  }
  const encoder = tfl.sequential({ name: 'encoder', layers: encoderTrunk });
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
      const codings = applyAll(encoderTrunk, x);
      // Inference is dense; so is the validation loss.
      const sparse = training
        ? winnerTakeAll(codings, winnersPerUnit(codings.shape[0]!, config.wtaRate))
        : codings;
      // toOutput ends in logits when the sigmoid is a layer of its own (bce).
      const reconstruction = reconstructionLossFn(config.loss, sigmoid)(
        x,
        applyAll(toOutput, sparse),
      );
      if (!training) return reconstruction;
      // Logged, not minimised: the fraction of codes (or maps) not zero after the sparsity.
      return { total: reconstruction, terms: { reconstruction, nonzero: activeFraction(sparse) } };
    },
    reconstruct: (x) => decoder.apply(encoder.apply(x)) as tf.Tensor,
    encode: (x) => encoder.apply(x) as tf.Tensor,
  };
}

/** The winner-take-all autoencoder: lifetime sparsity, and spatial sparsity for conv. */
export const wtaVariant = defineTfjsVariant({
  name: 'wta',
  title: 'Winner-take-all autoencoder',
  description:
    "Makhzani & Frey's winner-take-all autoencoder: during training, each coding unit keeps only its largest activations over the batch (lifetime sparsity, --wta-rate, 5% by default) and the others are zeroed before decoding, so every unit learns a localised feature. With --arch conv the codings are feature maps of the image's size: each map first keeps only its largest activation (spatial sparsity), then each channel its largest winners over the batch; one large transposed convolution decodes. The fraction of non-zero codes (or maps) is logged as `nonzero`. With --loss mse (the paper's linear decoder and squared error) the decoder's features are local strokes; with bce they tend to be whole-digit templates. As in the paper, the sparsity is for training: inference is dense, so encode gives every unit's activation (features for a classifier) and reconstructions of dense codes are not the training-time ones.",
  options,
  capabilities: [],
  trainer: {
    build,
    outputActivation: (config) => (config.loss === 'bce' ? 'sigmoid' : 'linear'),
    inputRange: (config) => lossInputRange(config.loss),
  },
});
