/**
 * Activation functions (the `activation` of Dense and convolution layers, and the
 * `Activation` layer) and the advanced-activation layers.
 */
import { attr } from '../onnx-model.js';
import {
  type ConversionContext,
  configOf,
  identityPerm,
  type LayerConverter,
  requireWeight,
  type TensorValue,
  transposeArray,
} from './context.js';

/**
 * SELU's alpha, 1.6732632423543772848170429916717 to the double nearest (tfjs uses
 * `SELU_SCALEALPHA = alpha * gamma`; ONNX stores both as float32).
 */
export const SELU_ALPHA = 1.6732632423543772;

/** SELU's scale (ONNX `gamma`), tfjs's `SELU_SCALE` 1.0507009873554804934193349852946. */
export const SELU_GAMMA = 1.0507009873554805;

type ActivationFn = (ctx: ConversionContext, x: TensorValue) => string;

const unary =
  (op: string, attributes?: Parameters<ConversionContext['node']>[2]): ActivationFn =>
  (ctx, x) =>
    ctx.node(op, [x.name], attributes);

const ACTIVATIONS: Readonly<Record<string, ActivationFn>> = Object.freeze({
  linear: (_ctx, x) => x.name,
  relu: unary('Relu'),
  // tfjs: min(6, relu(x)).
  relu6: (ctx, x) => ctx.node('Clip', [x.name, ctx.scalar(0), ctx.scalar(6)], { output: 'Relu6' }),
  elu: unary('Elu', { attributes: { alpha: attr.float(1) } }),
  selu: unary('Selu', {
    attributes: { alpha: attr.float(SELU_ALPHA), gamma: attr.float(SELU_GAMMA) },
  }),
  sigmoid: unary('Sigmoid'),
  // tfjs: clip(0.2 x + 0.5, 0, 1), which is ONNX HardSigmoid with its default alpha and beta.
  hardSigmoid: unary('HardSigmoid', {
    attributes: { alpha: attr.float(0.2), beta: attr.float(0.5) },
  }),
  tanh: unary('Tanh'),
  softplus: unary('Softplus'),
  softsign: unary('Softsign'),
  // tfjs applies softmax and logSoftmax along its last axis, wherever that is in ONNX.
  softmax: (ctx, x) =>
    ctx.node('Softmax', [x.name], {
      attributes: { axis: attr.int(ctx.onnxAxis(x, -1)) },
    }),
  logSoftmax: (ctx, x) =>
    ctx.node('LogSoftmax', [x.name], {
      attributes: { axis: attr.int(ctx.onnxAxis(x, -1)) },
    }),
  // tfjs: x * sigmoid(x).
  swish: (ctx, x) => ctx.node('Mul', [ctx.node('Sigmoid', [x.name]), x.name], { output: 'Swish' }),
  // tfjs: x * tanh(softplus(x)); ONNX Mish needs opset 18.
  mish: (ctx, x) =>
    ctx.node('Mul', [x.name, ctx.node('Tanh', [ctx.node('Softplus', [x.name])])], {
      output: 'Mish',
    }),
  // tfjs: x * 0.5 * (1 + erf(x / sqrt(2))); ONNX Gelu needs opset 20.
  gelu: (ctx, x) => {
    const erf = ctx.node('Erf', [ctx.node('Div', [x.name, ctx.scalar(Math.SQRT2)])]);
    const cdf = ctx.node('Mul', [ctx.scalar(0.5), ctx.node('Add', [ctx.scalar(1), erf])]);
    return ctx.node('Mul', [x.name, cdf], { output: 'Gelu' });
  },
  // tfjs: 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3))).
  gelu_new: (ctx, x) => {
    const cube = ctx.node('Mul', [ctx.node('Mul', [x.name, x.name]), x.name]);
    const inner = ctx.node('Add', [x.name, ctx.node('Mul', [ctx.scalar(0.044715), cube])]);
    const t = ctx.node('Tanh', [ctx.node('Mul', [ctx.scalar(Math.sqrt(2 / Math.PI)), inner])]);
    const y = ctx.node('Mul', [x.name, ctx.node('Add', [ctx.scalar(1), t])]);
    return ctx.node('Mul', [ctx.scalar(0.5), y], { output: 'GeluNew' });
  },
});

/** The tfjs activation names the exporter converts. */
export const SUPPORTED_ACTIVATIONS: readonly string[] = Object.freeze(Object.keys(ACTIVATIONS));

/** The tfjs class name of an activation as a layer config stores it. */
function activationName(value: unknown): string {
  if (value == null) return 'linear';
  if (typeof value === 'string') return value;
  const named = value as { className?: string; getClassName?: () => string };
  return named.getClassName?.() ?? named.className ?? String(value);
}

/** Applies the tfjs activation `name` (as stored in a layer config) to `x`. */
export function applyActivation(
  ctx: ConversionContext,
  x: TensorValue,
  name: unknown,
): TensorValue {
  const key = activationName(name);
  const fn = Object.hasOwn(ACTIVATIONS, key) ? ACTIVATIONS[key] : undefined;
  if (!fn) ctx.unsupported(`activation "${key}"`, SUPPORTED_ACTIVATIONS);
  return { ...x, name: fn(ctx, x) };
}

/** `Activation` layer. */
export const convertActivation: LayerConverter = (layer, x, ctx) =>
  applyActivation(ctx, x, configOf(layer).activation);

/** `ReLU` layer: relu, clipped at `maxValue` when given. */
export const convertReLU: LayerConverter = (layer, x, ctx) => {
  const maxValue = configOf(layer).maxValue as number | null | undefined;
  const name =
    maxValue == null
      ? ctx.node('Relu', [x.name])
      : ctx.node('Clip', [x.name, ctx.scalar(0), ctx.scalar(maxValue)], { output: 'ReLU' });
  return { ...x, name };
};

/** `LeakyReLU` layer (default alpha 0.3). */
export const convertLeakyReLU: LayerConverter = (layer, x, ctx) => {
  const alpha = (configOf(layer).alpha as number | undefined) ?? 0.3;
  return {
    ...x,
    name: ctx.node('LeakyRelu', [x.name], { attributes: { alpha: attr.float(alpha) } }),
  };
};

/** `ELU` layer (tfjs only supports alpha 1). */
export const convertELU: LayerConverter = (layer, x, ctx) => {
  const alpha = (configOf(layer).alpha as number | undefined) ?? 1;
  return { ...x, name: ctx.node('Elu', [x.name], { attributes: { alpha: attr.float(alpha) } }) };
};

/** `ThresholdedReLU` layer: x where x > theta, else 0. */
export const convertThresholdedReLU: LayerConverter = (layer, x, ctx) => {
  const theta = (configOf(layer).theta as number | undefined) ?? 1;
  return {
    ...x,
    name: ctx.node('ThresholdedRelu', [x.name], { attributes: { alpha: attr.float(theta) } }),
  };
};

/**
 * aekit's `Threshold` layer (1 above the threshold, else 0): `Cast(Greater(x, t))`, the
 * comparison giving booleans and the cast float32 (ONNX TensorProto FLOAT = 1).
 */
export const convertThreshold: LayerConverter = (layer, x, ctx) => {
  const threshold = configOf(layer).threshold as number;
  const above = ctx.node('Greater', [x.name, ctx.scalar(threshold)]);
  return { ...x, name: ctx.node('Cast', [above], { attributes: { to: attr.int(1) } }) };
};

/** `PReLU` layer: the learned slopes become an ONNX `PRelu` slope in the tensor's layout. */
export const convertPReLU: LayerConverter = (layer, x, ctx) => {
  const alpha = requireWeight(layer, 'alpha');
  // Slope of the tfjs rank with a leading batch 1, then in the ONNX axis order of x.
  const full = [1, ...alpha.shape];
  const slope =
    x.perm.join() === identityPerm(full.length).join()
      ? { dims: full, values: alpha.values }
      : transposeArray(alpha.values, full, x.perm);
  return {
    ...x,
    name: ctx.node('PRelu', [x.name, ctx.floatConst('slope', slope.dims, slope.values)]),
  };
};

/** `Softmax` layer: softmax along `axis` (tfjs default 1), or over several axes. */
export const convertSoftmax: LayerConverter = (layer, x, ctx) => {
  const axis = configOf(layer).axis as number | number[] | undefined;
  const axes = axis == null ? [1] : Array.isArray(axis) ? axis : [axis];
  if (axes.length === 1) {
    return {
      ...x,
      name: ctx.node('Softmax', [x.name], {
        attributes: { axis: attr.int(ctx.onnxAxis(x, axes[0]!)) },
      }),
    };
  }
  // tfjs: exp(x - logSumExp(x, axes, keepDims)).
  const lse = ctx.node('ReduceLogSumExp', [x.name], {
    attributes: { axes: attr.ints(axes.map((a) => ctx.onnxAxis(x, a))), keepdims: attr.int(1) },
  });
  return { ...x, name: ctx.node('Exp', [ctx.node('Sub', [x.name, lse])], { output: 'Softmax' }) };
};
