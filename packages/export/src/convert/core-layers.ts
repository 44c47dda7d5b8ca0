/**
 * Core layers: inputs, dense, reshaping, regularisers that vanish at inference, and batch
 * normalisation in its inference form.
 */
import { applyActivation } from './activations.js';
import {
  configOf,
  identityPerm,
  type LayerConverter,
  outputShapeOf,
  requireWeight,
  staticDims,
  weight,
} from './context.js';

/**
 * Layers that are the identity at inference: `InputLayer`, and the dropout and noise
 * layers (tfjs applies them only while training).
 */
export const convertIdentity: LayerConverter = (_layer, x) => x;

/**
 * `Dense`: `Gemm` (A = input, B = kernel as stored by tfjs, transB = 0, C = bias) on a
 * rank-2 input; `MatMul` + `Add` on the last axis of a higher-rank one; then its activation.
 */
export const convertDense: LayerConverter = (layer, x, ctx) => {
  const config = configOf(layer);
  const kernel = requireWeight(layer, 'kernel');
  const bias = config.useBias === false ? undefined : weight(layer, 'bias');
  const rank = x.shape.length;
  const input = ctx.layout(x, identityPerm(rank));
  const k = ctx.floatConst('kernel', kernel.shape, kernel.values);
  let y: string;
  if (rank === 2) {
    const inputs = [input, k];
    if (bias) inputs.push(ctx.floatConst('bias', bias.shape, bias.values));
    y = ctx.node('Gemm', inputs);
  } else {
    y = ctx.node('MatMul', [input, k]);
    if (bias) y = ctx.node('Add', [y, ctx.floatConst('bias', bias.shape, bias.values)]);
  }
  const out = { name: y, shape: outputShapeOf(layer, x.shape), perm: identityPerm(rank) };
  return applyActivation(ctx, out, config.activation);
};

/**
 * `Flatten`: ONNX `Flatten` (axis 1) on the tensor in tfjs's element order (NHWC, C order);
 * with `dataFormat: 'channelsFirst'`, tfjs first moves the channels last, and so does this.
 */
export const convertFlatten: LayerConverter = (layer, x, ctx) => {
  const rank = x.shape.length;
  const channelsFirst = configOf(layer).dataFormat === 'channelsFirst' && rank > 2;
  const perm = channelsFirst
    ? [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1]
    : identityPerm(rank);
  const y = ctx.node('Flatten', [ctx.layout(x, perm)]);
  return { name: y, shape: outputShapeOf(layer, x.shape), perm: [0, 1] };
};

/** `Reshape`: ONNX `Reshape` to `[batch, ...targetShape]` (tfjs's `-1` resolved). */
export const convertReshape: LayerConverter = (layer, x, ctx) => {
  // tfjs leaves an unknown (-1) target dimension unresolved while the batch is unknown.
  const size = staticDims(x.shape, `Reshape layer "${layer.name}"`).reduce((a, b) => a * b, 1);
  const target = outputShapeOf(layer, x.shape).slice(1);
  const known = target.reduce<number>((a, b) => (b == null ? a : a * b), 1);
  const dims = target.map((d) => d ?? size / known);
  const shape = [x.shape[0] ?? null, ...dims];
  const input = ctx.layout(x, identityPerm(x.shape.length));
  // 0 copies the batch dimension from the input (allowzero is 0).
  const onnxShape = ctx.int64Const('shape', [dims.length + 1], [0, ...dims]);
  const y = ctx.node('Reshape', [input, onnxShape]);
  return { name: y, shape, perm: identityPerm(shape.length) };
};

/**
 * `Permute`: tfjs transposes by `[0, ...dims]`. No node is needed: the ONNX tensor keeps
 * its axes and only the record of which tfjs axis each one holds changes.
 */
export const convertPermute: LayerConverter = (layer, x) => {
  const dims = configOf(layer).dims as number[];
  const p = [0, ...dims];
  return {
    name: x.name,
    shape: outputShapeOf(layer, x.shape),
    perm: x.perm.map((axis) => p.indexOf(axis)),
  };
};

/**
 * `BatchNormalization` at inference: `x * s + t` per feature of `axis`, with
 * `s = gamma / sqrt(movingVariance + epsilon)` and `t = beta - movingMean * s` folded in
 * double precision, shaped to broadcast along that axis in the tensor's ONNX layout.
 */
export const convertBatchNormalization: LayerConverter = (layer, x, ctx) => {
  const config = configOf(layer);
  const epsilon = (config.epsilon as number | undefined) ?? 1e-3;
  const axis = (config.axis as number | undefined) ?? -1;
  const mean = requireWeight(layer, 'moving_mean').values;
  const variance = requireWeight(layer, 'moving_variance').values;
  const gamma = config.scale === false ? undefined : weight(layer, 'gamma')?.values;
  const beta = config.center === false ? undefined : weight(layer, 'beta')?.values;
  const n = mean.length;
  const scale = new Float32Array(n);
  const shift = new Float32Array(n);
  for (let c = 0; c < n; c++) {
    const s = (gamma ? gamma[c]! : 1) / Math.sqrt(variance[c]! + epsilon);
    scale[c] = s;
    shift[c] = (beta ? beta[c]! : 0) - mean[c]! * s;
  }
  const rank = x.shape.length;
  if (axis !== -1 && axis !== rank - 1) {
    // tfjs's cpu and wasm kernels apply the moving statistics as if they belonged to the
    // last axis (they cycle through them element by element), so no ONNX graph reproduces
    // a model normalised on another axis.
    ctx.unsupported(`axis ${axis}`, ['axis -1, the only axis tfjs computes correctly']);
  }
  const at = ctx.onnxAxis(x, axis);
  const dims = Array.from({ length: rank }, (_, i) => (i === at ? n : 1));
  const mul = ctx.node('Mul', [x.name, ctx.floatConst('scale', dims, scale)]);
  const add = ctx.node('Add', [mul, ctx.floatConst('shift', dims, shift)], {
    output: 'BatchNormalization',
  });
  return { ...x, name: add };
};
