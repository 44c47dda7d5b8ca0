/**
 * `@aekit/core`: the autoencoder variant contract and registry, data sets, normalisation,
 * metrics, the run manifest and the error catalogue. It imports neither TensorFlow.js nor
 * ONNX Runtime, and runs in Node and in browsers; file access lives in `@aekit/core/node`.
 *
 * @packageDocumentation
 */
export * from './dataset.js';
export * from './errors.js';
export * from './exported-model.js';
export * from './format.js';
export * from './hash-metrics.js';
export * from './hashing.js';
export * from './manifest.js';
export * from './metrics.js';
export * from './normalization.js';
export * from './onnx-graphs.js';
export * from './options.js';
export * from './random.js';
export * from './registry.js';
export * from './variant.js';
