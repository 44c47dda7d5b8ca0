/**
 * `@aekit/export`: ONNX graphs from trained TensorFlow.js (tfjs-layers) networks.
 *
 * {@link layersToOnnx} converts one or more networks applied in sequence (an encoder, a
 * decoder, or both as an autoencoder) into one float32 ONNX graph with a dynamic batch
 * dimension, keeping tfjs's tensor layout at the graph's input and outputs. A network may
 * be a functional model with several outputs (a variational encoder's mean and log
 * variance), named by `outputName` and `extraOutputNames`. Every layer
 * class in {@link SUPPORTED_LAYERS} has a converter, tested against tfjs; anything else
 * fails with the `UnsupportedLayer` error. {@link runOnnx} and {@link runOnnxOutputs} run the
 * result in ONNX Runtime: onnxruntime-node when the app installed it (an optional peer),
 * else onnxruntime-web's WebAssembly build ({@link onnxRuntime} says which).
 *
 * {@link exportModel} exports a trained model into its run directory: every graph its variant
 * declares, checked in ONNX Runtime against TensorFlow.js before anything is written, and
 * the `aekit.json` runtimes read. {@link buildCheckedGraphs} builds and checks the same graphs
 * without writing them (optionally with the run's normalisation folded in), and
 * {@link tritonModelConfig} describes one for a Triton model repository. {@link quantizeGraph}
 * stores a graph's weights as float16 or int8, and {@link qualityFigures} with
 * {@link compareQuality} measure what that costs on held-out samples: `exportModel`'s
 * `precision` and `maxQualityLoss`. (`exportRun` in `@aekit/trainers`, behind `aekit export`,
 * loads a run's networks and calls it; this package depends on neither trainers nor the CLI.)
 *
 * @packageDocumentation
 */
export { SELU_ALPHA, SELU_GAMMA, SUPPORTED_ACTIVATIONS } from './convert/activations.js';
export type {
  ConversionContext,
  Layer,
  LayerConverter,
  LogicalShape,
  TensorValue,
} from './convert/context.js';
export { deconvLength, samePadding } from './convert/conv.js';
export { CONVERTERS, SUPPORTED_LAYERS } from './convert/registry.js';
export {
  type BuildGraphsOptions,
  buildCheckedGraphs,
  type CheckedGraph,
  type CheckedGraphs,
  EXPORT_TOLERANCE,
  type ExportedGraph,
  type ExportModelInput,
  type ExportOptions,
  type ExportReport,
  exportModel,
  inverseNormalization,
  runTfjsChain,
} from './export-model.js';
export {
  type Affine,
  describedGraphSpec,
  type LowerableLayer,
  layerChain,
  layersToOnnx,
  type OnnxGraphSpec,
} from './layers-to-onnx.js';
export {
  attr,
  BATCH_DIM,
  DEFAULT_OPSET,
  decodeOnnxModel,
  MAX_OPSET,
  MIN_OPSET,
  ONNX_IR_VERSION,
  type OnnxAttribute,
  type OnnxDim,
  OnnxModelBuilder,
  type OnnxModelOptions,
  type OnnxNodeSpec,
  PRODUCER_NAME,
} from './onnx-model.js';
export {
  AUTO_PRECISIONS,
  bitAgreement,
  compareQuality,
  DEFAULT_MAX_QUALITY_LOSS,
  describeQuality,
  QUALITY_PRECISION_K,
  type QualityFigures,
  type QualityGraph,
  type QualityModel,
  type QualitySamples,
  qualityFigures,
} from './quality.js';
export {
  fromFloat16Bits,
  MIN_QUANTIZED_VALUES,
  type QuantizedGraph,
  quantizeGraph,
  toFloat16Bits,
} from './quantize.js';
export {
  type NamedOnnxOutput,
  ONNX_RUNTIMES,
  type OnnxOutput,
  type OnnxRuntimeChoice,
  type OnnxRuntimeInfo,
  type OnnxRuntimeName,
  onnxRuntime,
  type RunOnnxOptions,
  type RunOnnxOutputsOptions,
  runOnnx,
  runOnnxOutputs,
} from './run-onnx.js';
export {
  TRITON_MAX_BATCH_SIZE,
  TRITON_MAX_QUEUE_DELAY_MICROSECONDS,
  TRITON_ONNX_PLATFORM,
  type TritonConfigOptions,
  type TritonTensor,
  tritonModelConfig,
  tritonModelName,
  tritonTensors,
} from './triton-config.js';
