import * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import {
  ACTIVATIONS,
  type ActivationName,
  conv2dLayer,
  conv2dTransposeLayer,
  INITIALIZERS,
  initializer,
  maxPooling2dLayer,
} from '../layers.js';

/** Zod fields of a convolutional encoder/decoder pair (the `conv` variant's, and `vae --arch conv`). */
export const convOptionFields = {
  filters: z
    .array(z.number().int().positive())
    .min(1)
    .default([16, 32, 64])
    .describe(
      "channels of the encoder's convolutions, one level each; every level halves the image (2x2 max pooling) and the decoder undoes it with a stride-2 transposed convolution",
    ),
  kernelSize: z
    .number()
    .int()
    .min(3)
    .refine((k) => k % 2 === 1, 'must be odd')
    .default(3)
    .describe('side of the square convolution kernels (odd, at least 3)'),
  convActivation: z
    .enum(ACTIVATIONS)
    .default('selu')
    .describe('activation of the convolutional layers'),
  convInitializer: z
    .enum(INITIALIZERS)
    .default('auto')
    .describe(
      'initialiser of the convolution kernels (auto: lecun-normal for selu, he-normal for relu/elu, glorot-uniform otherwise)',
    ),
};

/** The conv fields, validated. */
export type ConvConfig = z.output<z.ZodObject<typeof convOptionFields>>;

/** Image shape `[height, width, channels]` after each level of the encoder, input first. */
export function convShapes(inputShape: readonly number[], filters: readonly number[]): number[][] {
  const shapes = [[...inputShape]];
  for (const f of filters) {
    const [h, w] = shapes[shapes.length - 1]!;
    shapes.push([Math.floor(h! / 2), Math.floor(w! / 2), f]);
  }
  return shapes;
}

/**
 * Why a sample shape cannot go through `filters.length` levels of halving, or undefined:
 * images must be `[height, width, channels]` and stay at least 1x1.
 */
export function convShapeProblem(
  inputShape: readonly number[],
  filters: readonly number[],
): string | undefined {
  if (inputShape.length !== 3) {
    return `convolutional layers need image samples [height, width, channels]; these samples have shape [${inputShape.join(', ')}]`;
  }
  const deepest = convShapes(inputShape, filters).at(-1)!;
  if (deepest[0]! < 1 || deepest[1]! < 1) {
    return `${filters.length} halving levels are too many for ${inputShape[0]}x${inputShape[1]} images; use at most ${Math.floor(Math.log2(Math.min(inputShape[0]!, inputShape[1]!)))} filters`;
  }
  return undefined;
}

/**
 * The encoder's convolutional levels: for each entry of `filters`, a same-padded convolution
 * and a 2x2 max pooling (sizes round down: 28 -> 14 -> 7 -> 3). Layers are named
 * `<name>_conv_<i>` and `<name>_pool_<i>`.
 */
export function convEncoderLayers(
  name: string,
  inputShape: readonly number[],
  config: ConvConfig,
  seed: number,
): tfl.layers.Layer[] {
  return config.filters.flatMap((filters, i) => [
    conv2dLayer({
      filters,
      kernelSize: config.kernelSize,
      padding: 'same',
      activation: config.convActivation,
      kernelInitializer: initializer(config.convInitializer, config.convActivation, seed + i),
      name: `${name}_conv_${i + 1}`,
      ...(i === 0 ? { inputShape: [...inputShape] } : {}),
    }),
    maxPooling2dLayer({ poolSize: 2, name: `${name}_pool_${i + 1}` }),
  ]);
}

/**
 * The decoder's levels, undoing {@link convEncoderLayers}: for each level from the deepest,
 * a stride-2 transposed convolution to the level's input size and the channels of the level
 * above (the image's own channels at the end, with `outputActivation`). A side that doubles
 * exactly uses same padding; a side that was odd before pooling uses valid padding (which
 * gives `2s + k - 2`) and crops the extra rows or columns.
 */
export function convDecoderLayers(
  name: string,
  inputShape: readonly number[],
  config: ConvConfig,
  outputActivation: ActivationName,
  seed: number,
): tfl.layers.Layer[] {
  const shapes = convShapes(inputShape, config.filters);
  const layers: tfl.layers.Layer[] = [];
  const levels = config.filters.length;
  for (let level = levels; level >= 1; level--) {
    const [h, w] = shapes[level]!;
    const [th, tw, tc] = shapes[level - 1]!;
    const last = level === 1;
    const activation = last ? outputActivation : config.convActivation;
    const exact = th === 2 * h! && tw === 2 * w!;
    const i = levels - level + 1;
    layers.push(
      conv2dTransposeLayer({
        filters: tc!,
        kernelSize: config.kernelSize,
        strides: 2,
        padding: exact ? 'same' : 'valid',
        activation,
        kernelInitializer: initializer(config.convInitializer, activation, seed + i),
        name: `${name}_deconv_${i}`,
      }),
    );
    if (!exact) {
      const extraH = 2 * h! + config.kernelSize - 2 - th!;
      const extraW = 2 * w! + config.kernelSize - 2 - tw!;
      if (extraH > 0 || extraW > 0) {
        const split = (n: number): [number, number] => [Math.floor(n / 2), n - Math.floor(n / 2)];
        layers.push(
          tfl.layers.cropping2D({
            cropping: [split(extraH), split(extraW)],
            name: `${name}_crop_${i}`,
          }),
        );
      }
    }
  }
  return layers;
}
