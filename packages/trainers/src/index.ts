/**
 * `@aekit/trainers`: the TensorFlow.js training engine and the built-in variant plugins.
 *
 * Importing this module registers the built-in variants in `@aekit/core`'s registry.
 *
 * @packageDocumentation
 */
import { registerBuiltinVariants } from './register-all.js';

registerBuiltinVariants();

export { type Blas, loadBlas } from './backends/blas.js';
export {
  BACKEND_NAMES,
  type BackendInfo,
  type BackendName,
  releaseBackend,
  selectBackend,
} from './backends/index.js';
export {
  installFastWasmKernels,
  installFastWasmMatMul,
  useWasmBlas,
  wasmBlas,
} from './backends/wasm-kernels.js';
// Everything a page can use (the plugin contract, layers, `fit`, the built-in variants).
export * from './browser.js';
export { classifierAccuracy } from './downstream/classifier-accuracy.js';
export {
  type ClassifierEpoch,
  type ClassifyOptions,
  type ClassifyResult,
  trainClassifier,
} from './downstream/classify.js';
export { fitLinearProbe, type ProbeOptions, type ProbeReport } from './downstream/probe.js';
export {
  type CheckpointState,
  parseCheckpoint,
  readCheckpoint,
  writeCheckpoint,
} from './engine/checkpoint.js';
export {
  type ResolvedTrainOptions,
  type TrainOptions,
  trainOptionsSchema,
} from './engine/config.js';
export type { TrainEvent, TrainListener } from './engine/events.js';
export { type TrainResult, train } from './engine/train.js';
export type {
  ConstraintConfig,
  DenseArchitecture,
  DenseConstraint,
  DenseParts,
  ForwardPass,
} from './families/constraint.js';
export { defineConstraint } from './families/constraint.js';
export {
  buildDenseAutoencoder,
  type DenseAutoencoderConfig,
  defineDenseVariant,
  denseAutoencoderOptions,
} from './families/dense-autoencoder.js';
export {
  drawInsideFigures,
  drawLossFigure,
  drawRunFigures,
  type InsideOptions,
  lineChartPng,
  lossTerms,
} from './figures/index.js';
export {
  codingMap,
  dreams,
  type FeatureData,
  firstLayerFeatures,
  liveliestUnits,
  topActivations,
} from './figures/inside.js';
export { evaluateLoss, mapBatches, toBatchTensor } from './model/batches.js';
export {
  CLASSIFIER_GRAPH,
  CLASSIFIER_NETWORK,
  withClassifier,
} from './model/classifier.js';
export { loadNetworkWeights, loadRunModel, saveNetwork } from './model/io.js';
export {
  type EvaluateOptions,
  type EvaluationData,
  type EvaluationFile,
  type EvaluationReport,
  type EvaluationSplit,
  evaluateRun,
  loadEvaluationData,
  RETRIEVAL_K,
} from './runs/evaluate.js';
export {
  exportToRepository,
  type RepositoryExportOptions,
  type RepositoryExportReport,
  type RepositoryModel,
} from './runs/export-repository.js';
export {
  type ExportReport,
  type ExportRunOptions,
  exportRun,
  QUALITY_SAMPLES,
} from './runs/export-run.js';
export { drawFigures, type FiguresOptions } from './runs/figures.js';
export {
  buildReport,
  type ReportFigure,
  type ReportOptions,
  type ReportRun,
  readReportRuns,
  renderReport,
  type SettingRow,
  type WriteReportOptions,
  type WriteReportResult,
  writeReport,
} from './runs/report.js';
export { adversarialVariant } from './variants/adversarial/index.js';
export { contractiveVariant, jacobianNormSquared } from './variants/contractive/index.js';
export { corrupt, denoisingVariant, NOISES } from './variants/denoising/index.js';
export { greedyVariant } from './variants/greedy/index.js';
export {
  BITS_OUTPUT,
  hashingVariant,
  SATURATION_MARGIN,
} from './variants/hashing/index.js';
export { linearVariant } from './variants/linear/index.js';
export { klSparsity, sparseVariant } from './variants/sparse/index.js';
export { stackedVariant } from './variants/stacked/index.js';
export { TiedDense, tiedVariant } from './variants/tied/index.js';
