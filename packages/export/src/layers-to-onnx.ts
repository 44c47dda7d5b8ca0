/**
 * tfjs-layers models to one ONNX graph: the networks are applied in sequence, each a
 * single chain of layers, and every layer goes through its converter.
 */
import { aekitError } from '@aekit/core';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import {
  ConversionContext,
  identityPerm,
  type Layer,
  type LogicalShape,
  type TensorValue,
} from './convert/context.js';
import { converterFor, SUPPORTED_LAYERS } from './convert/registry.js';
import {
  BATCH_DIM,
  DEFAULT_OPSET,
  MAX_OPSET,
  MIN_OPSET,
  type OnnxDim,
  OnnxModelBuilder,
} from './onnx-model.js';

/** What {@link layersToOnnx} converts, and how the graph is named and described. */
export interface OnnxGraphSpec {
  /** Graph name, e.g. `'encoder'`. */
  readonly name: string;
  /** Networks applied in sequence (an autoencoder graph is `[encoder, decoder]`). */
  readonly networks: readonly LayersModel[];
  /** Name of the graph input, e.g. `'input'`. */
  readonly inputName: string;
  /** Name of the graph output, e.g. `'codings'`. */
  readonly outputName: string;
  /** Opset of the default ONNX domain, 13 to 17 (default 13). */
  readonly opset?: number;
  /** String key/value pairs stored as the model's `metadata_props`. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** The model's `doc_string`. */
  readonly docString?: string;
}

/** A model used as a layer (nested `Sequential` or functional model). */
function isModel(layer: Layer | LayersModel): layer is LayersModel {
  const m = layer as Partial<LayersModel>;
  return Array.isArray(m.layers) && Array.isArray(m.inputs) && Array.isArray(m.outputs);
}

function notAChain(model: LayersModel, why: string): never {
  throw aekitError(
    'UnsupportedLayer',
    model.name,
    `${model.getClassName()} ${why}; the ONNX exporter converts single chains of layers`,
    SUPPORTED_LAYERS,
  );
}

/**
 * The layers of `model` in the order they run, for a single chain: `model.layers` of a
 * `Sequential`; for a functional model, the path from its output back to its input, where
 * every layer must have exactly one input.
 */
export function layerChain(model: LayersModel): Layer[] {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    notAChain(model, `has ${model.inputs.length} inputs and ${model.outputs.length} outputs`);
  }
  if (model.getClassName() === 'Sequential') return [...model.layers];
  const input = model.inputs[0]!;
  const chain: Layer[] = [];
  let t: SymbolicTensor = model.outputs[0]!;
  while (t.id !== input.id) {
    const layer = t.sourceLayer;
    if (t.inputs.length !== 1) {
      throw aekitError(
        'UnsupportedLayer',
        layer.name,
        `${layer.getClassName()} with ${t.inputs.length} inputs (the ONNX exporter converts single chains of layers)`,
        SUPPORTED_LAYERS,
      );
    }
    chain.unshift(layer);
    t = t.inputs[0]!;
  }
  const onPath = new Set(chain.map((l) => l.name));
  const off = model.layers.filter((l) => !onPath.has(l.name) && l.getClassName() !== 'InputLayer');
  if (off.length > 0) {
    notAChain(model, `has layers off the input-output path (${off.map((l) => l.name).join(', ')})`);
  }
  return chain;
}

function sameDims(a: LogicalShape, b: LogicalShape): boolean {
  return (
    a.length === b.length && a.every((d, i) => i === 0 || d == null || b[i] == null || d === b[i])
  );
}

function convertModel(model: LayersModel, x: TensorValue, ctx: ConversionContext): TensorValue {
  const expected = model.inputs[0]?.shape;
  if (expected && !sameDims(expected, x.shape)) {
    throw aekitError(
      'InvalidArgument',
      `Network "${model.name}" takes inputs of shape [${expected.map((d) => d ?? 'N')}], but the previous network gives [${x.shape.map((d) => d ?? 'N')}].`,
    );
  }
  let value = x;
  for (const layer of layerChain(model)) {
    if (isModel(layer)) {
      value = convertModel(layer, value, ctx);
      continue;
    }
    // A custom layer may lower itself to standard layers (e.g. a dense layer whose kernel is
    // another layer's, transposed): those are converted instead, then disposed.
    const lowered = (layer as Partial<LowerableLayer>).exportLayers?.();
    if (lowered) {
      try {
        for (const standard of lowered) value = convertLayer(standard, value, ctx);
      } finally {
        for (const standard of lowered) standard.dispose();
      }
      continue;
    }
    value = convertLayer(layer, value, ctx);
  }
  return value;
}

/**
 * A custom layer that stands for standard layers, for export: `exportLayers()` returns
 * fresh, built layers computing the same function now (the exporter disposes them).
 */
export interface LowerableLayer {
  exportLayers(): Layer[];
}

function convertLayer(layer: Layer, value: TensorValue, ctx: ConversionContext): TensorValue {
  const className = layer.getClassName();
  const converter = converterFor(className);
  if (!converter) throw aekitError('UnsupportedLayer', layer.name, className, SUPPORTED_LAYERS);
  ctx.layer = layer;
  try {
    return converter(layer, value, ctx);
  } finally {
    ctx.layer = undefined;
  }
}

function checkOpset(opset: number): void {
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw aekitError(
      'InvalidArgument',
      `The ONNX opset must be an integer from ${MIN_OPSET} to ${MAX_OPSET}, got ${opset}.`,
    );
  }
}

/**
 * Converts tfjs-layers networks, applied in sequence, to one ONNX graph (float32, opset
 * 13 to 17, IR 8) and returns the `.onnx` bytes.
 *
 * The input takes the first network's input shape with a dynamic batch dimension `N`;
 * the output has the last network's output shape. Both keep tfjs's layout (NHWC images):
 * convolutions run channels-first inside the graph, between `Transpose` nodes.
 *
 * @throws AekitError `UnsupportedLayer` for a layer without a converter (or with options
 *   it cannot convert) and for networks that are not a single chain of layers;
 *   `InvalidArgument` for an opset out of range, names that clash, or networks whose shapes
 *   do not follow each other.
 */
export function layersToOnnx(spec: OnnxGraphSpec): Uint8Array {
  const opset = spec.opset ?? DEFAULT_OPSET;
  checkOpset(opset);
  if (spec.networks.length === 0) {
    throw aekitError('InvalidArgument', `ONNX graph "${spec.name}" has no networks.`);
  }
  if (!spec.inputName || !spec.outputName || spec.inputName === spec.outputName) {
    throw aekitError(
      'InvalidArgument',
      `ONNX graph "${spec.name}" needs distinct, non-empty input and output names (got "${spec.inputName}" and "${spec.outputName}").`,
    );
  }
  const first = spec.networks[0]!;
  if (first.inputs.length !== 1) notAChain(first, `has ${first.inputs.length} inputs`);
  const inputShape = first.inputs[0]!.shape;
  const sample = inputShape.slice(1);
  if (sample.some((d) => d == null)) {
    throw aekitError(
      'InvalidArgument',
      `Network "${first.name}" has input shape [${inputShape.map((d) => d ?? 'null')}]; every dimension but the batch must be known to export it.`,
    );
  }

  const builder = new OnnxModelBuilder(spec.name);
  const ctx = new ConversionContext(builder, SUPPORTED_LAYERS);
  ctx.reserve(spec.inputName);
  ctx.reserve(spec.outputName);
  builder.addInput(spec.inputName, [BATCH_DIM, ...(sample as number[])]);
  let value: TensorValue = {
    name: spec.inputName,
    shape: [null, ...sample],
    perm: identityPerm(inputShape.length),
  };
  for (const network of spec.networks) value = convertModel(network, value, ctx);

  // Back to tfjs's layout, and the last node writes the graph output.
  const last = ctx.layout(value, identityPerm(value.shape.length));
  if (last === spec.inputName || !builder.renameNodeOutput(last, spec.outputName)) {
    builder.addNode({ op: 'Identity', inputs: [last], outputs: [spec.outputName] });
  }
  const outDims: OnnxDim[] = value.shape.map((d, i) => (i === 0 ? BATCH_DIM : (d ?? `d${i}`)));
  builder.addOutput(spec.outputName, outDims);
  return builder.encode({
    opset,
    ...(spec.docString !== undefined ? { docString: spec.docString } : {}),
    ...(spec.metadata ? { metadata: spec.metadata } : {}),
  });
}
