/** The converter of every tfjs layer class the exporter handles, by `getClassName()`. */
import {
  convertActivation,
  convertELU,
  convertLeakyReLU,
  convertPReLU,
  convertReLU,
  convertSoftmax,
  convertThreshold,
  convertThresholdedReLU,
} from './activations.js';
import type { LayerConverter } from './context.js';
import {
  convertAveragePooling2D,
  convertConv2D,
  convertConv2DTranspose,
  convertDepthwiseConv2D,
  convertGlobalAveragePooling2D,
  convertGlobalMaxPooling2D,
  convertMaxPooling2D,
  convertSeparableConv2D,
} from './conv.js';
import {
  convertBatchNormalization,
  convertDense,
  convertFlatten,
  convertIdentity,
  convertPermute,
  convertReshape,
} from './core-layers.js';
import { convertCropping2D, convertUpSampling2D, convertZeroPadding2D } from './spatial.js';

/** Layer converters by tfjs class name (frozen). */
export const CONVERTERS: Readonly<Record<string, LayerConverter>> = Object.freeze({
  InputLayer: convertIdentity,
  Dense: convertDense,
  Flatten: convertFlatten,
  Reshape: convertReshape,
  Permute: convertPermute,
  Activation: convertActivation,
  Dropout: convertIdentity,
  SpatialDropout1D: convertIdentity,
  GaussianNoise: convertIdentity,
  GaussianDropout: convertIdentity,
  AlphaDropout: convertIdentity,
  ReLU: convertReLU,
  LeakyReLU: convertLeakyReLU,
  PReLU: convertPReLU,
  ELU: convertELU,
  ThresholdedReLU: convertThresholdedReLU,
  Threshold: convertThreshold,
  Softmax: convertSoftmax,
  BatchNormalization: convertBatchNormalization,
  Conv2D: convertConv2D,
  Conv2DTranspose: convertConv2DTranspose,
  DepthwiseConv2D: convertDepthwiseConv2D,
  SeparableConv2D: convertSeparableConv2D,
  MaxPooling2D: convertMaxPooling2D,
  AveragePooling2D: convertAveragePooling2D,
  GlobalAveragePooling2D: convertGlobalAveragePooling2D,
  GlobalMaxPooling2D: convertGlobalMaxPooling2D,
  UpSampling2D: convertUpSampling2D,
  Cropping2D: convertCropping2D,
  ZeroPadding2D: convertZeroPadding2D,
});

/** The tfjs layer class names the exporter converts. */
export const SUPPORTED_LAYERS: readonly string[] = Object.freeze(Object.keys(CONVERTERS));

/** The converter of a tfjs layer class, or undefined. */
export function converterFor(className: string): LayerConverter | undefined {
  return Object.hasOwn(CONVERTERS, className) ? CONVERTERS[className] : undefined;
}
