import { aekitError } from '@aekit/core';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import {
  convDecoderLayers,
  convEncoderLayers,
  convOptionFields,
  convShapeProblem,
} from '../../families/conv-stack.js';
import {
  applyAll,
  denseOptionFields,
  l2Penalty,
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
    ...convOptionFields,
    ...reconstructionOptionFields,
    l2: denseOptionFields.l2,
  })
  .strict();

type ConvAutoencoderConfig = z.output<typeof options>;

function build({
  config,
  inputShape,
  seed,
}: BuildContext<ConvAutoencoderConfig>): AutoencoderModel {
  const problem = convShapeProblem(inputShape, config.filters);
  if (problem) throw aekitError('InvalidArgument', `Variant "conv": ${problem}.`);
  const encoder = tfl.sequential({
    name: 'encoder',
    layers: convEncoderLayers('encoder', inputShape, config, seed * 1000),
  });
  const codingShape = encoder.outputs[0]!.shape.slice(1) as number[];
  const fromLogits = config.loss === 'bce' && config.outputActivation === 'sigmoid';
  const levels = convDecoderLayers(
    'decoder',
    inputShape,
    config,
    fromLogits ? 'linear' : config.outputActivation,
    (seed + 1) * 1000,
  );
  const decoder = tfl.sequential({
    name: 'decoder',
    layers: [
      tfl.layers.inputLayer({ inputShape: codingShape, name: 'decoder_input' }),
      ...levels,
      ...(fromLogits
        ? [tfl.layers.activation({ activation: 'sigmoid', name: 'decoder_output' })]
        : []),
    ],
  });
  const loss = (x: tf.Tensor) => {
    // The levels end in logits when the sigmoid is a layer of its own (fromLogits).
    const out = applyAll(levels, applyAll(encoder.layers, x));
    const rec = reconstructionLossFn(config.loss, fromLogits)(x, out);
    if (config.l2 === 0) return rec;
    const l2 = l2Penalty([encoder, decoder], config.l2);
    return { total: tf.add(rec, l2) as tf.Scalar, terms: { reconstruction: rec, l2 } };
  };
  return {
    networks: { encoder, decoder },
    reconstructionLoss: config.loss,
    loss,
    reconstruct: (x) => decoder.apply(encoder.apply(x)) as tf.Tensor,
    encode: (x) => encoder.apply(x) as tf.Tensor,
  };
}

/** The stacked convolutional autoencoder. */
export const convVariant = defineTfjsVariant({
  name: 'conv',
  title: 'Convolutional autoencoder',
  description:
    'A stacked convolutional autoencoder for images [height, width, channels]: each encoder level is a convolution and 2x2 max pooling (28x28 -> 14 -> 7 -> 3 with the default 16,32,64 filters), so the codings are feature maps; the decoder undoes each level with a stride-2 transposed convolution. Far fewer weights than a dense autoencoder, and better reconstructions of images.',
  options,
  capabilities: [],
  trainer: {
    build,
    outputActivation: (config) => config.outputActivation,
    inputRange: (config) => lossInputRange(config.loss),
  },
});
