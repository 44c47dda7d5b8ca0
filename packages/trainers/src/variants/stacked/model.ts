import type { AutoencoderModel, BuildContext } from '../../plugin.js';
import { applyWithoutLast, denseStack, run, sizeOf } from '../dense.js';
import { stackedLoss } from './loss.js';
import type { StackedConfig } from './spec.js';

/** A symmetric dense encoder/decoder: layers [a, b] give input-a-b-a-input. */
export function buildStacked({
  config,
  inputShape,
  seed,
}: BuildContext<StackedConfig>): AutoencoderModel {
  const features = sizeOf(inputShape);
  // Sigmoid output with cross-entropy: train on the logits (stable and a cheaper gradient).
  const fromLogits = config.loss === 'bce' && config.outputActivation === 'sigmoid';
  const sizes = config.layers;
  const encoder = denseStack({
    name: 'encoder',
    inputShape,
    layers: sizes.map((units) => ({ units, activation: config.activation })),
    initializer: config.initializer,
    seed,
  });
  const decoder = denseStack({
    name: 'decoder',
    inputShape: [sizes[sizes.length - 1]!],
    layers: [
      ...sizes
        .slice(0, -1)
        .reverse()
        .map((units) => ({ units, activation: config.activation })),
      { units: features, activation: config.outputActivation },
    ],
    outputShape: inputShape,
    initializer: config.initializer,
    seed: seed + 1,
    separateOutputActivation: fromLogits,
  });
  const networks = { encoder, decoder };
  const reconstruct = (x: Parameters<AutoencoderModel['reconstruct']>[0], training = false) =>
    run(decoder, run(encoder, x, training), training);
  return {
    networks,
    reconstructionLoss: config.loss,
    loss: (x, training) =>
      fromLogits
        ? stackedLoss(config, networks, x, {
            logits: applyWithoutLast(decoder, run(encoder, x, training), training),
          })
        : stackedLoss(config, networks, x, { output: reconstruct(x, training) }),
    reconstruct: (x) => reconstruct(x),
    encode: (x) => run(encoder, x, false),
  };
}
