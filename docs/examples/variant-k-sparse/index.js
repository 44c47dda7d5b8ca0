// The k-sparse autoencoder (Makhzani & Frey 2013) as an aekit variant plugin: a linear
// coding layer of which only the k largest units of each sample are kept in training, the
// others zeroed before decoding. Importing this module registers the variant; then
// `aekit train --plugin <this module> --variant k-sparse` trains it, and `aekit eval`,
// `aekit export` and the runtime work as for the built-in variants. See docs/plugins.md.
import { registerVariant } from '@aekit/core';
import {
  defineTfjsVariant,
  denseLayer,
  flatten,
  sigmoidCrossEntropyWithLogits,
} from '@aekit/trainers';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';

// 1. Options: a zod object. Every field becomes a flag of `aekit train` (--hidden, --k),
//    validated with the message of its schema; `describe` is the flag's help.
const options = z
  .object({
    hidden: z.number().int().positive().default(256).describe('units of the coding layer'),
    k: z.number().int().positive().default(25).describe('units kept per sample in training'),
  })
  .strict()
  .refine((o) => o.k <= o.hidden, { message: 'k must be at most hidden' });

/**
 * Keeps the k largest values of each row of `h` and zeroes the others; the gradient flows
 * through the kept values only.
 */
export const kSparse = (h, k) =>
  tf.customGrad((x, save) => {
    const kth = tf.slice(tf.topk(x, k).values, [0, k - 1], [-1, 1]);
    const mask = tf.cast(tf.greaterEqual(x, kth), 'float32');
    save([mask]);
    return { value: tf.mul(x, mask), gradFunc: (dy, [m]) => tf.mul(dy, m) };
  })(h);

// 2. The model: networks (encoder and decoder are LayersModels, so they are saved, reloaded
//    and exported like any other), the training loss, and inference.
function build({ config, inputShape, seed }) {
  const pixels = inputShape.reduce((a, b) => a * b, 1);
  const encoder = tfl.sequential({
    name: 'encoder',
    layers: [
      tfl.layers.flatten({ inputShape: [...inputShape], name: 'encoder_flatten' }),
      denseLayer({
        units: config.hidden,
        kernelInitializer: tfl.initializers.glorotUniform({ seed }),
        name: 'encoder_dense_1',
      }),
    ],
  });
  // The decoder ends in logits, then a sigmoid layer of its own: the loss uses the logits.
  const toLogits = [
    denseLayer({
      units: pixels,
      inputShape: [config.hidden],
      kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }),
      name: 'decoder_dense_1',
    }),
    tfl.layers.reshape({ targetShape: [...inputShape], name: 'decoder_reshape' }),
  ];
  const decoder = tfl.sequential({
    name: 'decoder',
    layers: [...toLogits, tfl.layers.activation({ activation: 'sigmoid', name: 'decoder_output' })],
  });
  return {
    networks: { encoder, decoder },
    reconstructionLoss: 'bce',
    loss: (x, training) => {
      const codings = encoder.apply(x, { training });
      const kept = training ? kSparse(codings, config.k) : codings;
      const logits = toLogits.reduce((t, layer) => layer.apply(t), kept);
      const reconstruction = sigmoidCrossEntropyWithLogits(flatten(x), flatten(logits));
      if (!training) return reconstruction;
      // Logged beside the loss (not minimised): the share of codes left non-zero, k / hidden.
      const nonzero = tf.mean(tf.cast(tf.notEqual(kept, 0), 'float32'));
      return { total: reconstruction, terms: { reconstruction, nonzero } };
    },
    // Inference is dense, as in the paper's first experiments.
    reconstruct: (x) => decoder.apply(encoder.apply(x)),
    encode: (x) => encoder.apply(x),
  };
}

// 3. The plugin: name, words for `aekit variants`, options, capabilities and the trainer.
export const kSparseVariant = defineTfjsVariant({
  name: 'k-sparse',
  title: 'k-sparse autoencoder',
  description:
    'A linear coding layer of which, in training, only the k largest units of each sample are kept (Makhzani & Frey 2013); the fraction of non-zero codes is logged as nonzero. Inference is dense.',
  options,
  capabilities: [],
  trainer: { build, outputActivation: () => 'sigmoid' },
});

registerVariant(kSparseVariant);
