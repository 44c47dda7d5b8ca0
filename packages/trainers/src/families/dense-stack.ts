import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { ActivationName, InitializerName } from '../layers.js';
import { denseLayer, initializer } from '../layers.js';

/** One dense layer of a stack. */
export interface DenseSpec {
  readonly units: number;
  readonly activation: ActivationName;
}

/** Options of {@link denseStack}. */
export interface DenseStackOptions {
  readonly name: string;
  readonly inputShape: readonly number[];
  readonly layers: readonly DenseSpec[];
  /** Reshape the output to this shape (a decoder giving back images). */
  readonly outputShape?: readonly number[];
  /**
   * Apply the last layer's activation as a separate final layer (so that the logits before
   * it can be read with {@link applyWithoutLast}, e.g. for a loss computed from logits).
   */
  readonly separateOutputActivation?: boolean;
  readonly initializer: InitializerName;
  readonly seed: number;
}

/**
 * A sequential model: flatten the input, then dense layers, optionally reshaped at the end.
 * Layers are named `<name>_dense_<i>` so saved models read clearly; each initialiser gets
 * its own seed derived from `seed`.
 */
export function denseStack(options: DenseStackOptions): tfl.Sequential {
  const model = tfl.sequential({ name: options.name });
  const rank = options.inputShape.length;
  if (rank > 1) {
    model.add(
      tfl.layers.flatten({ inputShape: [...options.inputShape], name: `${options.name}_flatten` }),
    );
  }
  const last = options.layers.length - 1;
  options.layers.forEach((spec, i) => {
    const separate = options.separateOutputActivation && i === last;
    model.add(
      denseLayer({
        units: spec.units,
        activation: separate ? 'linear' : spec.activation,
        kernelInitializer: initializer(
          options.initializer,
          spec.activation,
          options.seed * 1000 + i,
        ),
        biasInitializer: 'zeros',
        name: `${options.name}_dense_${i + 1}`,
        ...(i === 0 && rank <= 1 ? { inputShape: [...options.inputShape] } : {}),
      }),
    );
  });
  if (options.outputShape && options.outputShape.length > 1) {
    model.add(
      tfl.layers.reshape({
        targetShape: [...options.outputShape],
        name: `${options.name}_reshape`,
      }),
    );
  }
  if (options.separateOutputActivation) {
    const activation = options.layers[last]!.activation;
    model.add(tfl.layers.activation({ activation, name: `${options.name}_output` }));
  }
  return model;
}

/**
 * Applies every layer of a sequential model but the last, eagerly: the logits of a model
 * built with `separateOutputActivation`.
 */
export function applyWithoutLast(
  model: tfl.Sequential,
  x: tf.Tensor,
  training: boolean,
): tf.Tensor {
  return model.layers
    .slice(0, -1)
    .reduce((t, layer) => layer.apply(t, { training }) as tf.Tensor, x);
}

/** Number of values in a sample of `shape`. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Applies a model eagerly (not symbolically) and returns a tensor. */
export function run(model: tfl.LayersModel, x: tf.Tensor, training: boolean): tf.Tensor {
  return model.apply(x, { training }) as tf.Tensor;
}

/**
 * The weights of a symmetric dense stack on `features` inputs: dense layers of `sizes` (the
 * last is the coding layer) and their mirror back to the features, kernels and biases.
 */
export function denseStackWeightCount(features: number, sizes: readonly number[]): number {
  let count = 0;
  let prev = features;
  for (const units of sizes) {
    count += 2 * prev * units + prev + units;
    prev = units;
  }
  return count;
}
