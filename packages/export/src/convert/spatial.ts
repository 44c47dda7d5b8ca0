/**
 * Layers that resize, crop or pad images. Cropping and padding work in whatever layout the
 * tensor is in; upsampling runs channels-first like the convolutions around it.
 */
import { attr } from '../onnx-model.js';
import {
  channelsFirstPerm,
  configOf,
  identityPerm,
  type LayerConverter,
  outputShapeOf,
  pair,
  type TensorValue,
} from './context.js';

/** `[[top, bottom], [left, right]]` from a tfjs cropping or padding config. */
function pairs(value: unknown, fallback: number): [[number, number], [number, number]] {
  if (value == null)
    return [
      [fallback, fallback],
      [fallback, fallback],
    ];
  if (typeof value === 'number')
    return [
      [value, value],
      [value, value],
    ];
  const v = value as (number | number[])[];
  const one = (p: number | number[] | undefined): [number, number] =>
    typeof p === 'number' ? [p, p] : [p?.[0] ?? fallback, p?.[1] ?? p?.[0] ?? fallback];
  return [one(v[0]), one(v[1])];
}

/** The tfjs axes of height and width. */
function spatialAxes(channelsFirst: boolean): [number, number] {
  return channelsFirst ? [2, 3] : [1, 2];
}

/**
 * `UpSampling2D`: ONNX `Resize` by integer factors. tfjs resizes with `alignCorners` and
 * `halfPixelCenters` off, which is ONNX's `asymmetric` transform; nearest rounds down.
 */
export const convertUpSampling2D: LayerConverter = (layer, x, ctx) => {
  const config = configOf(layer);
  const channelsFirst = config.dataFormat === 'channelsFirst';
  const [sh, sw] = pair(config.size, 2);
  const interpolation = (config.interpolation as string | undefined) ?? 'nearest';
  if (interpolation !== 'nearest' && interpolation !== 'bilinear') {
    ctx.unsupported(`interpolation "${interpolation}"`, ['nearest', 'bilinear']);
  }
  const perm = channelsFirst ? identityPerm(4) : channelsFirstPerm(4);
  const scales = ctx.floatConst('scales', [4], [1, 1, sh, sw]);
  const y = ctx.node('Resize', [ctx.layout(x, perm), '', scales], {
    attributes: {
      mode: attr.string(interpolation === 'nearest' ? 'nearest' : 'linear'),
      coordinate_transformation_mode: attr.string('asymmetric'),
      ...(interpolation === 'nearest' ? { nearest_mode: attr.string('floor') } : {}),
    },
  });
  return { name: y, shape: outputShapeOf(layer, x.shape), perm };
};

/** `Cropping2D`: ONNX `Slice` on the height and width axes, wherever they are. */
export const convertCropping2D: LayerConverter = (layer, x, ctx) => {
  const config = configOf(layer);
  const axes = spatialAxes(config.dataFormat === 'channelsFirst');
  const crops = pairs(config.cropping, 0);
  const sizes = axes.map((a) => x.shape[a]);
  if (sizes.some((d) => d == null)) ctx.unsupported('unknown height or width', ['known sizes']);
  const starts = crops.map((c) => c[0]);
  const ends = crops.map((c, i) => sizes[i]! - c[1]);
  const y = ctx.node('Slice', [
    x.name,
    ctx.int64Const('starts', [2], starts),
    ctx.int64Const('ends', [2], ends),
    ctx.int64Const(
      'axes',
      [2],
      axes.map((a) => ctx.onnxAxis(x, a)),
    ),
  ]);
  return { ...x, name: y, shape: outputShapeOf(layer, x.shape) };
};

/** `ZeroPadding2D`: ONNX `Pad` (constant 0) on the height and width axes, wherever they are. */
export const convertZeroPadding2D: LayerConverter = (layer, x, ctx) => {
  const config = configOf(layer);
  const axes = spatialAxes(config.dataFormat === 'channelsFirst');
  const padding = pairs(config.padding, 1);
  const rank = x.shape.length;
  const pads = new Array<number>(rank * 2).fill(0);
  axes.forEach((a, i) => {
    const at = ctx.onnxAxis(x, a);
    pads[at] = padding[i]![0];
    pads[at + rank] = padding[i]![1];
  });
  const y = ctx.node('Pad', [x.name, ctx.int64Const('pads', [rank * 2], pads)], {
    attributes: { mode: attr.string('constant') },
  });
  return { ...x, name: y, shape: outputShapeOf(layer, x.shape) } satisfies TensorValue;
};
