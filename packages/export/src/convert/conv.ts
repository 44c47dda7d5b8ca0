/**
 * 2-D convolutions and pooling. ONNX computes them channels-first, so the tensor is put in
 * NCHW order on the way in and stays there on the way out (the next layer that needs
 * tfjs's own layout transposes it back). Padding is always explicit, computed as
 * TensorFlow does.
 */
import { attr } from '../onnx-model.js';
import { applyActivation } from './activations.js';
import {
  type ConversionContext,
  channelsFirstPerm,
  configOf,
  identityPerm,
  type Layer,
  type LayerConverter,
  outputShapeOf,
  pair,
  requireWeight,
  type TensorValue,
  transposeArray,
  weight,
} from './context.js';

/**
 * TensorFlow's `'same'` padding of one spatial dimension: the output has `ceil(in / stride)`
 * positions and the padding is split with the odd one at the end.
 */
export function samePadding(
  inSize: number,
  kernel: number,
  stride: number,
  dilation = 1,
): [before: number, after: number] {
  const effective = (kernel - 1) * dilation + 1;
  const out = Math.ceil(inSize / stride);
  const total = Math.max(0, (out - 1) * stride + effective - inSize);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/**
 * tfjs's `Conv2DTranspose` output size of one spatial dimension (`deconvLength`):
 * `in * stride` for `'same'`, plus `max(kernel - stride, 0)` for `'valid'`.
 */
export function deconvLength(
  inSize: number,
  kernel: number,
  stride: number,
  padding: string,
): number {
  return padding === 'same' ? inSize * stride : inSize * stride + Math.max(kernel - stride, 0);
}

/** Where a 2-D layer finds its spatial axes and which ONNX layout it needs. */
interface Spatial {
  /** ONNX axis order the layer computes in (NCHW of the tfjs tensor). */
  readonly perm: number[];
  readonly height: number;
  readonly width: number;
}

function spatialOf(layer: Layer, x: TensorValue, ctx: ConversionContext): Spatial {
  if (x.shape.length !== 4) ctx.unsupported(`input of rank ${x.shape.length}`, ['rank 4']);
  const channelsFirst = configOf(layer).dataFormat === 'channelsFirst';
  const [h, w] = channelsFirst ? [x.shape[2], x.shape[3]] : [x.shape[1], x.shape[2]];
  if (h == null || w == null) ctx.unsupported('unknown height or width', ['known sizes']);
  return { perm: channelsFirst ? identityPerm(4) : channelsFirstPerm(4), height: h, width: w };
}

function paddingMode(layer: Layer, ctx: ConversionContext): 'same' | 'valid' {
  const padding = (configOf(layer).padding as string | undefined) ?? 'valid';
  if (padding !== 'same' && padding !== 'valid') {
    ctx.unsupported(`padding "${padding}"`, ['same', 'valid']);
  }
  return padding;
}

/** What every convolution converter reads first: config, layout, padding and window. */
function windowOf(layer: Layer, x: TensorValue, ctx: ConversionContext) {
  const config = configOf(layer);
  return {
    config,
    s: spatialOf(layer, x, ctx),
    padding: paddingMode(layer, ctx),
    kernelSize: pair(config.kernelSize, 1),
    strides: pair(config.strides, 1),
    dilations: pair(config.dilationRate, 1),
  };
}

/** ONNX `pads` ([top, left, bottom, right]) for a window op on the layer's input. */
function windowPads(
  padding: 'same' | 'valid',
  s: Spatial,
  kernel: [number, number],
  strides: [number, number],
  dilations: [number, number],
): number[] {
  if (padding === 'valid') return [0, 0, 0, 0];
  const [top, bottom] = samePadding(s.height, kernel[0], strides[0], dilations[0]);
  const [left, right] = samePadding(s.width, kernel[1], strides[1], dilations[1]);
  return [top, left, bottom, right];
}

/** Adds the bias (when the layer has one) as the `B` input, then returns the node inputs. */
function withBias(ctx: ConversionContext, layer: Layer, inputs: string[]): string[] {
  const bias = configOf(layer).useBias === false ? undefined : weight(layer, 'bias');
  if (bias) inputs.push(ctx.floatConst('bias', bias.shape, bias.values));
  return inputs;
}

/**
 * The inputs of a `Conv` or `ConvTranspose` node: the input in channels-first layout, the
 * kernel moved from tfjs's `[kh, kw, a, b]` to ONNX's `[b, a, kh, kw]`, and the bias.
 */
function convInputs(ctx: ConversionContext, layer: Layer, x: TensorValue, s: Spatial): string[] {
  const kernel = requireWeight(layer, 'kernel');
  const w = transposeArray(kernel.values, kernel.shape, [3, 2, 0, 1]);
  return withBias(ctx, layer, [ctx.layout(x, s.perm), ctx.floatConst('kernel', w.dims, w.values)]);
}

/** `Conv2D`: ONNX `Conv`, kernel `[kh, kw, in, out]` stored as `[out, in, kh, kw]`. */
export const convertConv2D: LayerConverter = (layer, x, ctx) => {
  const { config, s, padding, kernelSize, strides, dilations } = windowOf(layer, x, ctx);
  const inputs = convInputs(ctx, layer, x, s);
  const y = ctx.node('Conv', inputs, {
    attributes: {
      kernel_shape: attr.ints(kernelSize),
      strides: attr.ints(strides),
      dilations: attr.ints(dilations),
      pads: attr.ints(windowPads(padding, s, kernelSize, strides, dilations)),
      group: attr.int(1),
    },
  });
  const out = { name: y, shape: outputShapeOf(layer, x.shape), perm: s.perm };
  return applyActivation(ctx, out, config.activation);
};

/**
 * `Conv2DTranspose`: ONNX `ConvTranspose`, kernel `[kh, kw, out, in]` stored as
 * `[in, out, kh, kw]`. tfjs computes the gradient of a convolution whose input has
 * tfjs's output size (`deconvLength`); the crop is that convolution's padding and any
 * positions left at the end (kernel smaller than stride) become `output_padding`.
 */
export const convertConv2DTranspose: LayerConverter = (layer, x, ctx) => {
  const { config, s, padding, kernelSize, strides } = windowOf(layer, x, ctx);
  // tfjs's Conv2DTranspose ignores dilationRate (it drops it from its config).
  const dims = [s.height, s.width].map((inSize, i) => {
    const k = kernelSize[i]!;
    const stride = strides[i]!;
    const out = deconvLength(inSize, k, stride, padding);
    const [before, after] = padding === 'same' ? samePadding(out, k, stride) : [0, 0];
    const extra = out - (stride * (inSize - 1) + k - before - after);
    if (extra < 0 || extra >= stride) {
      ctx.unsupported(`output size ${out} from ${inSize} with kernel ${k}, stride ${stride}`, []);
    }
    return { before, after, extra };
  });
  const inputs = convInputs(ctx, layer, x, s);
  const y = ctx.node('ConvTranspose', inputs, {
    attributes: {
      kernel_shape: attr.ints(kernelSize),
      strides: attr.ints(strides),
      pads: attr.ints([dims[0]!.before, dims[1]!.before, dims[0]!.after, dims[1]!.after]),
      ...(dims.some((d) => d.extra > 0)
        ? { output_padding: attr.ints(dims.map((d) => d.extra)) }
        : {}),
      group: attr.int(1),
    },
  });
  const out = { name: y, shape: outputShapeOf(layer, x.shape), perm: s.perm };
  return applyActivation(ctx, out, config.activation);
};

/** A depthwise kernel `[kh, kw, in, mult]` as a grouped ONNX `Conv` weight `[in*mult, 1, kh, kw]`. */
function depthwiseWeight(layer: Layer): { dims: number[]; values: Float32Array; groups: number } {
  const kernel = requireWeight(layer, 'depthwise_kernel');
  const [kh, kw, channels, mult] = kernel.shape as [number, number, number, number];
  const t = transposeArray(kernel.values, kernel.shape, [2, 3, 0, 1]);
  return { dims: [channels * mult, 1, kh, kw], values: t.values, groups: channels };
}

/** `DepthwiseConv2D`: ONNX `Conv` with one group per input channel (tfjs ignores dilation). */
export const convertDepthwiseConv2D: LayerConverter = (layer, x, ctx) => {
  const { config, s, padding, kernelSize, strides } = windowOf(layer, x, ctx);
  const w = depthwiseWeight(layer);
  const inputs = withBias(ctx, layer, [
    ctx.layout(x, s.perm),
    ctx.floatConst('kernel', w.dims, w.values),
  ]);
  const y = ctx.node('Conv', inputs, {
    attributes: {
      kernel_shape: attr.ints(kernelSize),
      strides: attr.ints(strides),
      pads: attr.ints(windowPads(padding, s, kernelSize, strides, [1, 1])),
      group: attr.int(w.groups),
    },
  });
  const out = { name: y, shape: outputShapeOf(layer, x.shape), perm: s.perm };
  return applyActivation(ctx, out, config.activation);
};

/** `SeparableConv2D`: a grouped (depthwise, dilated) `Conv`, then a 1x1 `Conv` with the bias. */
export const convertSeparableConv2D: LayerConverter = (layer, x, ctx) => {
  const { config, s, padding, kernelSize, strides, dilations } = windowOf(layer, x, ctx);
  const dw = depthwiseWeight(layer);
  const depthwise = ctx.node(
    'Conv',
    [ctx.layout(x, s.perm), ctx.floatConst('depthwise_kernel', dw.dims, dw.values)],
    {
      output: 'DepthwiseConv',
      attributes: {
        kernel_shape: attr.ints(kernelSize),
        strides: attr.ints(strides),
        dilations: attr.ints(dilations),
        pads: attr.ints(windowPads(padding, s, kernelSize, strides, dilations)),
        group: attr.int(dw.groups),
      },
    },
  );
  const pointwise = requireWeight(layer, 'pointwise_kernel');
  const pw = transposeArray(pointwise.values, pointwise.shape, [3, 2, 0, 1]);
  const inputs = withBias(ctx, layer, [
    depthwise,
    ctx.floatConst('pointwise_kernel', pw.dims, pw.values),
  ]);
  const y = ctx.node('Conv', inputs, {
    output: 'PointwiseConv',
    attributes: { kernel_shape: attr.ints([1, 1]), group: attr.int(1) },
  });
  const out = { name: y, shape: outputShapeOf(layer, x.shape), perm: s.perm };
  return applyActivation(ctx, out, config.activation);
};

function pooling(op: 'MaxPool' | 'AveragePool'): LayerConverter {
  return (layer, x, ctx) => {
    const config = configOf(layer);
    const s = spatialOf(layer, x, ctx);
    const padding = paddingMode(layer, ctx);
    const poolSize = pair(config.poolSize, 2);
    const strides = config.strides == null ? poolSize : pair(config.strides, 1);
    const y = ctx.node(op, [ctx.layout(x, s.perm)], {
      attributes: {
        kernel_shape: attr.ints(poolSize),
        strides: attr.ints(strides),
        pads: attr.ints(windowPads(padding, s, poolSize, strides, [1, 1])),
        // Like tfjs, an average over a window that overlaps the padding counts only real values.
        ...(op === 'AveragePool' ? { count_include_pad: attr.int(0) } : {}),
      },
    });
    return { name: y, shape: outputShapeOf(layer, x.shape), perm: s.perm };
  };
}

/** `MaxPooling2D`: ONNX `MaxPool` (padding never wins a maximum, as in tfjs). */
export const convertMaxPooling2D: LayerConverter = pooling('MaxPool');

/** `AveragePooling2D`: ONNX `AveragePool` without counting padding, as in tfjs. */
export const convertAveragePooling2D: LayerConverter = pooling('AveragePool');

function globalPooling(op: 'ReduceMean' | 'ReduceMax'): LayerConverter {
  return (layer, x, ctx) => {
    const channelsFirst = configOf(layer).dataFormat === 'channelsFirst';
    const reduced = channelsFirst ? [2, 3] : [1, 2];
    const y = ctx.node(op, [x.name], {
      attributes: {
        axes: attr.ints(reduced.map((a) => ctx.onnxAxis(x, a))),
        keepdims: attr.int(0),
      },
    });
    // The remaining ONNX axes hold batch and channels, in whatever order they were.
    const kept = x.perm.filter((a) => !reduced.includes(a));
    const channel = channelsFirst ? 1 : 3;
    return {
      name: y,
      shape: outputShapeOf(layer, x.shape),
      perm: kept.map((a) => (a === channel ? 1 : 0)),
    };
  };
}

/** `GlobalAveragePooling2D`: `ReduceMean` over height and width. */
export const convertGlobalAveragePooling2D: LayerConverter = globalPooling('ReduceMean');

/** `GlobalMaxPooling2D`: `ReduceMax` over height and width. */
export const convertGlobalMaxPooling2D: LayerConverter = globalPooling('ReduceMax');
