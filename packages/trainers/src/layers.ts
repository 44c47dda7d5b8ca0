import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { biasActivation, canFuseSigmoidBce, SIGMOID_BCE_KERNEL } from './backends/fused-kernels.js';
import {
  conv2dSharingPatches,
  conv2dTransposeSharingPatches,
  maxPoolSharingArgmax,
} from './backends/wasm-conv.js';

/** Activations a dense layer may use. */
export const ACTIVATIONS = ['selu', 'elu', 'relu', 'sigmoid', 'tanh', 'linear'] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

/** Weight initialisers by name; `auto` picks the one that suits the activation. */
export const INITIALIZERS = [
  'auto',
  'glorot-uniform',
  'glorot-normal',
  'he-normal',
  'he-uniform',
  'lecun-normal',
  'lecun-uniform',
] as const;
export type InitializerName = (typeof INITIALIZERS)[number];

/** The reconstruction losses a dense decoder may train with. */
export const LOSSES = ['bce', 'mse'] as const;

/** Zod fields shared by dense variants. */
export const denseOptionFields = {
  activation: z.enum(ACTIVATIONS).default('selu').describe('activation of the hidden layers'),
  initializer: z
    .enum(INITIALIZERS)
    .default('auto')
    .describe(
      'weight initialiser (auto: lecun-normal for selu, he-normal for relu/elu, glorot-uniform otherwise)',
    ),
  l2: z.number().min(0).default(0).describe('L2 penalty on every kernel, added to the loss'),
};

/** Zod fields of the reconstruction: the loss, and the output activation it goes with. */
export const reconstructionOptionFields = {
  loss: z
    .enum(LOSSES)
    .default('bce')
    .describe('reconstruction loss: bce for data in [0, 1], mse otherwise'),
  outputActivation: z
    .enum(['sigmoid', 'linear'])
    .default('sigmoid')
    .describe('activation of the reconstruction: sigmoid for data in [0, 1], linear otherwise'),
};

/** A seeded initialiser for a layer using `activation`. */
export function initializer(
  name: InitializerName,
  activation: ActivationName,
  seed: number,
): ReturnType<typeof tfl.initializers.glorotUniform> {
  const resolved: Exclude<InitializerName, 'auto'> =
    name !== 'auto'
      ? name
      : activation === 'selu'
        ? 'lecun-normal'
        : activation === 'relu' || activation === 'elu'
          ? 'he-normal'
          : 'glorot-uniform';
  const make = {
    'glorot-uniform': tfl.initializers.glorotUniform,
    'glorot-normal': tfl.initializers.glorotNormal,
    'he-normal': tfl.initializers.heNormal,
    'he-uniform': tfl.initializers.heUniform,
    'lecun-normal': tfl.initializers.leCunNormal,
    'lecun-uniform': tfl.initializers.leCunUniform,
  }[resolved];
  return make({ seed });
}

/** Sum of squares of every kernel (weights of rank 2 and more, not biases) of `models`, times `l2`. */
export function l2Penalty(models: readonly tfl.LayersModel[], l2: number): tf.Scalar {
  const kernels = models.flatMap((m) => m.trainableWeights.filter((w) => w.shape.length >= 2));
  if (l2 === 0 || kernels.length === 0) return tf.scalar(0);
  return tf.mul(l2, tf.addN(kernels.map((w) => tf.sum(tf.square(w.read()))))) as tf.Scalar;
}

/** Binary cross-entropy with Keras's clipping, averaged over every value. */
export function binaryCrossEntropy(target: tf.Tensor, output: tf.Tensor): tf.Scalar {
  const eps = 1e-7;
  const p = tf.clipByValue(output, eps, 1 - eps);
  const ll = tf.add(tf.mul(target, tf.log(p)), tf.mul(tf.sub(1, target), tf.log(tf.sub(1, p))));
  return tf.neg(tf.mean(ll)) as tf.Scalar;
}

/**
 * Binary cross-entropy of `sigmoid(logits)` against `target`, averaged over every value,
 * computed from the logits: `max(z, 0) - z·t + log(1 + e^-|z|)`. Exact where the clipped
 * form saturates, and its gradient is one fused expression, `(sigmoid(z) - t) / n`, instead
 * of the chain through clip, two logs and sigmoid that autodiff would record.
 */
export function sigmoidCrossEntropyWithLogits(target: tf.Tensor, logits: tf.Tensor): tf.Scalar {
  const n = logits.size;
  if (target.size === n && target.dtype === 'float32' && canFuseSigmoidBce()) {
    // One pass computes the loss and its gradient (see fused-kernels.ts).
    const fused = (z: tf.Tensor, save: tf.GradSaveFunc) => {
      const [value, grad] = tf
        .engine()
        .runKernel(SIGMOID_BCE_KERNEL, { logits: z, target }, { scale: 1 / n }) as tf.Tensor[];
      save([grad!]);
      return {
        value: value!,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]!),
      };
    };
    const loss = tf.customGrad(fused as unknown as Parameters<typeof tf.customGrad>[0]);
    return loss(logits) as tf.Scalar;
  }
  const forward = (z: tf.Tensor, save: tf.GradSaveFunc) => {
    const value = tf.mean(
      tf.add(tf.sub(tf.relu(z), tf.mul(z, target)), tf.log1p(tf.exp(tf.neg(tf.abs(z))))),
    );
    // The target is saved too: one made inside the loss (an adversarial discriminator's
    // ones and zeros) is freed when the forward pass ends, before the gradient is taken.
    save([z, target]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.mul(dy, tf.div(tf.sub(tf.sigmoid(saved[0]!), saved[1]!), n)),
    };
  };
  const loss = tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0]);
  return loss(logits) as tf.Scalar;
}

/** Mean squared error, averaged over every value. */
export function meanSquaredError(target: tf.Tensor, output: tf.Tensor): tf.Scalar {
  return tf.mean(tf.squaredDifference(target, output));
}

/**
 * The reconstruction loss function by name. With `fromLogits`, the outputs it is given are
 * the logits of a sigmoid output, and cross-entropy is computed from them.
 */
export function reconstructionLossFn(
  name: (typeof LOSSES)[number],
  fromLogits = false,
): (t: tf.Tensor, o: tf.Tensor) => tf.Scalar {
  if (name === 'mse') return meanSquaredError;
  return fromLogits ? sigmoidCrossEntropyWithLogits : binaryCrossEntropy;
}

/** Applies an activation by name with tfjs ops (for layers that compute their own). */
export function applyActivation(name: ActivationName, x: tf.Tensor): tf.Tensor {
  switch (name) {
    case 'selu':
      return tf.selu(x);
    case 'elu':
      return tf.elu(x);
    case 'relu':
      return tf.relu(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'tanh':
      return tf.tanh(x);
    case 'linear':
      return x;
  }
}

/** Applies layers in order, eagerly (`training` switches noise and dropout layers on). */
export function applyAll(
  layers: readonly tfl.layers.Layer[],
  x: tf.Tensor,
  training = false,
): tf.Tensor {
  return layers.reduce((t, layer) => layer.apply(t, { training }) as tf.Tensor, x);
}

/** Flattens samples of any shape to `[batch, features]`. */
export function flatten(x: tf.Tensor): tf.Tensor2D {
  return x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [x.shape[0]!, -1]);
}

/** The fields of tfjs-layers' Dense and Conv2D that the training layers read. */
interface WeightedLayerFields {
  readonly kernel: { read(): tf.Tensor };
  readonly bias: { read(): tf.Tensor } | null;
  readonly activation: { apply(x: tf.Tensor): tf.Tensor; getClassName(): string };
  invokeCallHook(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): void;
}

type DenseLayer = ReturnType<typeof tfl.layers.dense>;
type DenseArgs = Parameters<typeof tfl.layers.dense>[0];
type Conv2DLayer = ReturnType<typeof tfl.layers.conv2d>;
type Conv2DArgs = Parameters<typeof tfl.layers.conv2d>[0];
type Conv2DTransposeLayer = ReturnType<typeof tfl.layers.conv2dTranspose>;
type Conv2DTransposeArgs = Parameters<typeof tfl.layers.conv2dTranspose>[0];
type MaxPooling2DLayer = ReturnType<typeof tfl.layers.maxPooling2d>;
type MaxPooling2DArgs = Parameters<typeof tfl.layers.maxPooling2d>[0];
type Kwargs = Parameters<tfl.layers.Layer['call']>[1];

// tfjs-layers' classes: its package exports only the `tf.layers.*` factories.
const DenseBase = tfl.layers.dense({ units: 1 }).constructor as new (args: DenseArgs) => DenseLayer;
const Conv2DBase = tfl.layers.conv2d({ filters: 1, kernelSize: 1 }).constructor as new (
  args: Conv2DArgs,
) => Conv2DLayer;
const Conv2DTransposeBase = tfl.layers.conv2dTranspose({ filters: 1, kernelSize: 1 })
  .constructor as new (
  args: Conv2DTransposeArgs,
) => Conv2DTransposeLayer;

const MaxPooling2DBase = tfl.layers.maxPooling2d({ poolSize: 2 }).constructor as new (
  args: MaxPooling2DArgs,
) => MaxPooling2DLayer;

/**
 * The output of a dense or convolutional layer made of plain ops (`product` of the input and
 * the kernel, plus the bias, then the activation) while gradients are recorded for an input
 * of `rank`; undefined otherwise, for tfjs's own `call`.
 *
 * Why: tfjs-layers' Dense and Conv2D call the fused ops (`tf.fused.matMul`,
 * `tf.fused.conv2d`), whose gradient is a custom gradient that computes the gradients of all
 * their inputs whenever it runs, including the input of the first layer, which no weight
 * depends on; tfjs discards that product after making it. For a 784-100 first dense layer it
 * is a sixth of a training step's multiply-adds; for the conv autoencoder's first layer, 6%
 * of an epoch here. The plain ops' gradients are taken input by input, and tfjs skips the
 * ones no weight needs. The bias and the activation then run as one op where
 * {@link biasActivation} applies (wasm with SIMD; linear, relu, elu, selu), forward and
 * backward, instead of an addition, the activation, its gradient and a sum. The values are
 * the same (tested), and outside gradient recording (inference, export checks) the layers
 * are tfjs's unchanged.
 */
function unfusedWhileRecording(
  layer: DenseLayer | Conv2DLayer | Conv2DTransposeLayer,
  inputs: tf.Tensor | tf.Tensor[],
  kwargs: Kwargs,
  rank: number,
  product: (x: tf.Tensor, kernel: tf.Tensor) => tf.Tensor,
): tf.Tensor | undefined {
  return whileRecording(layer, inputs, kwargs, rank, (x) => {
    const fields = layer as unknown as WeightedLayerFields;
    const y = product(x, fields.kernel.read());
    if (!fields.bias) return fields.activation.apply(y);
    const bias = fields.bias.read();
    return (
      biasActivation(y, bias, fields.activation.getClassName()) ??
      fields.activation.apply(tf.add(y, bias))
    );
  });
}

/**
 * `f` of a layer's one input of `rank`, after the layer's call hook and inside `tf.tidy`,
 * while gradients are recorded; undefined otherwise, or where `f` gives undefined (the layer
 * then runs tfjs's own `call`).
 */
function whileRecording(
  layer: tfl.layers.Layer,
  inputs: tf.Tensor | tf.Tensor[],
  kwargs: Kwargs,
  rank: number,
  f: (x: tf.Tensor) => tf.Tensor | undefined,
): tf.Tensor | undefined {
  const x = Array.isArray(inputs) && inputs.length === 1 ? inputs[0]! : inputs;
  if (tf.engine().state.gradientDepth === 0 || Array.isArray(x) || x.rank !== rank) {
    return undefined;
  }
  return tf.tidy(() => {
    (layer as unknown as Pick<WeightedLayerFields, 'invokeCallHook'>).invokeCallHook(
      inputs,
      kwargs,
    );
    return f(x);
  });
}

/** tfjs-layers' Dense, unfused while gradients are recorded: see {@link unfusedWhileRecording}. */
class TrainingDense extends DenseBase {
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    return (
      unfusedWhileRecording(this, inputs, kwargs, 2, (x, kernel) => tf.matMul(x, kernel)) ??
      super.call(inputs, kwargs)
    );
  }
}

/** A convolution layer's settings (protected in tfjs-layers, so passed by the layer). */
interface ConvGeometry {
  readonly strides: number[];
  readonly padding: string;
  readonly dataFormat: string;
}

/**
 * {@link unfusedWhileRecording} for a 4-D channels-last convolution layer with 'same' or
 * 'valid' padding, `product` given the strides and padding; undefined for other layers.
 */
function convWhileRecording(
  layer: Conv2DLayer | Conv2DTransposeLayer,
  { strides, padding, dataFormat }: ConvGeometry,
  inputs: tf.Tensor | tf.Tensor[],
  kwargs: Kwargs,
  product: (
    x: tf.Tensor4D,
    kernel: tf.Tensor4D,
    strides: [number, number],
    padding: 'same' | 'valid',
  ) => tf.Tensor,
): tf.Tensor | undefined {
  if (dataFormat !== 'channelsLast' || (padding !== 'same' && padding !== 'valid')) {
    return undefined;
  }
  return unfusedWhileRecording(layer, inputs, kwargs, 4, (x, kernel) =>
    product(x as tf.Tensor4D, kernel as tf.Tensor4D, strides as [number, number], padding),
  );
}

/** tfjs-layers' Conv2D, unfused while gradients are recorded: see {@link unfusedWhileRecording}. */
class TrainingConv2D extends Conv2DBase {
  private get geometry(): ConvGeometry {
    return { strides: this.strides, padding: this.padding, dataFormat: this.dataFormat };
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const dilations = this.dilationRate as [number, number];
    return (
      convWhileRecording(
        this,
        this.geometry,
        inputs,
        kwargs,
        (x, kernel, strides, padding) =>
          (dilations.every((d) => d === 1)
            ? conv2dSharingPatches(x, kernel, strides, padding)
            : undefined) ?? tf.conv2d(x, kernel, strides, padding, 'NHWC', dilations),
      ) ?? super.call(inputs, kwargs)
    );
  }
}

/**
 * tfjs-layers' Conv2DTranspose while gradients are recorded: the same transposed convolution
 * (tfjs-layers' ops have no fused form of it), then the bias and activation as one op where
 * {@link biasActivation} applies: see {@link unfusedWhileRecording}.
 */
class TrainingConv2DTranspose extends Conv2DTransposeBase {
  private get geometry(): ConvGeometry {
    return { strides: this.strides, padding: this.padding, dataFormat: this.dataFormat };
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    return (
      convWhileRecording(this, this.geometry, inputs, kwargs, (x, kernel, strides, padding) => {
        // tfjs-layers' own output shape: [batch, rows, columns, filters].
        const shape = this.computeOutputShape(x.shape) as [number, number, number, number];
        return (
          conv2dTransposeSharingPatches(x, kernel, shape, strides, padding) ??
          tf.conv2dTranspose(x, kernel, shape, strides, padding)
        );
      }) ?? super.call(inputs, kwargs)
    );
  }
}

/**
 * tfjs-layers' MaxPooling2D while gradients are recorded, for windows side by side ('valid'
 * padding, strides equal to the window, channels last): {@link maxPoolSharingArgmax} where
 * it applies, which keeps where each window's largest value was for the gradient.
 */
class TrainingMaxPooling2D extends MaxPooling2DBase {
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const pool = this.poolSize as [number, number];
    const sideBySide =
      this.dataFormat === 'channelsLast' &&
      this.padding === 'valid' &&
      this.strides.every((s, i) => s === pool[i]);
    return (
      (sideBySide
        ? whileRecording(this, inputs, kwargs, 4, (x) =>
            maxPoolSharingArgmax(x as tf.Tensor4D, pool),
          )
        : undefined) ?? super.call(inputs, kwargs)
    );
  }
}

/**
 * A dense layer, as `tf.layers.dense(args)`, that trains faster (it is saved as `Dense`): see
 * {@link unfusedWhileRecording}. aekit's variants build their dense layers with it.
 */
export function denseLayer(args: DenseArgs): DenseLayer {
  return new TrainingDense(args);
}

/**
 * A 2-D convolution layer, as `tf.layers.conv2d(args)`, that trains faster (it is saved as
 * `Conv2D`): see {@link unfusedWhileRecording}.
 */
export function conv2dLayer(args: Conv2DArgs): Conv2DLayer {
  return new TrainingConv2D(args);
}

/**
 * A transposed 2-D convolution layer, as `tf.layers.conv2dTranspose(args)`, that trains
 * faster on wasm (it is saved as `Conv2DTranspose`): see {@link unfusedWhileRecording}.
 */
export function conv2dTransposeLayer(args: Conv2DTransposeArgs): Conv2DTransposeLayer {
  return new TrainingConv2DTranspose(args);
}

/**
 * A 2-D max pooling layer, as `tf.layers.maxPooling2d(args)`, that trains faster on wasm (it
 * is saved as `MaxPooling2D`): see {@link maxPoolSharingArgmax}.
 */
export function maxPooling2dLayer(args: MaxPooling2DArgs): MaxPooling2DLayer {
  return new TrainingMaxPooling2D(args);
}

/** What a {@link Threshold} layer is made from. */
export interface ThresholdArgs {
  /** Values above it give 1, the others 0. */
  readonly threshold: number;
  readonly name?: string;
}

/**
 * A step: 1 where the input is above `threshold`, else 0 (float32). It has no gradient
 * worth the name, so it belongs after the loss, e.g. the rounded bits of a semantic hash.
 * The ONNX exporter writes it as `Cast(Greater(x, threshold))`.
 */
export class Threshold extends tfl.layers.Layer {
  static className = 'Threshold';
  readonly threshold: number;

  constructor(args: ThresholdArgs) {
    super(args.name ? { name: args.name } : {});
    this.threshold = args.threshold;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      return tf.cast(tf.greater(x, this.threshold), 'float32');
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), threshold: this.threshold };
  }
}

tf.serialization.registerClass(Threshold);
