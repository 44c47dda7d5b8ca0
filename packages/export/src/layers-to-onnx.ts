/**
 * tfjs-layers models to one ONNX graph: the networks are applied in sequence, each a
 * `Sequential` or a functional model whose layers take one input tensor each (a chain, or a
 * tree such as an encoder with a mean and a log-variance head), and every layer goes
 * through its converter.
 */
import { aekitError, type OnnxGraphDescription } from '@aekit/core';
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

/**
 * What {@link layersToOnnx} converts, and how the graph is named and described. The tensor
 * names are those of a variant's {@link OnnxGraphDescription}; `extraOutputNames` is required,
 * one name per further output, when the last network has several outputs.
 */
export interface OnnxGraphSpec
  extends Pick<OnnxGraphDescription, 'inputName' | 'outputName' | 'extraOutputNames'> {
  /** Graph name, e.g. `'encoder'`. */
  readonly name: string;
  /**
   * Networks applied in sequence (an autoencoder graph is `[encoder, decoder]`). A network
   * before the last that has several outputs passes its first output on (so the
   * autoencoder graph of a variational autoencoder decodes the mean).
   */
  readonly networks: readonly LayersModel[];
  /** Opset of the default ONNX domain, 13 to 17 (default 13). */
  readonly opset?: number;
  /** String key/value pairs stored as the model's `metadata_props`. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** The model's `doc_string`. */
  readonly docString?: string;
  /**
   * An affine map folded in before the first network: the graph's input `x` becomes
   * `x * scale + offset` (a training normalisation, so the graph takes raw values).
   */
  readonly inputAffine?: Affine;
  /**
   * An affine map folded in after the last network, on the first output only: `y * scale +
   * offset` (the inverse of a training normalisation, so the graph gives raw values).
   */
  readonly outputAffine?: Affine;
}

/**
 * `x * scale + offset`, with `scale` and `offset` each one number or one per value of a
 * sample (C order, broadcast over the batch), as a `Normalization` records them.
 */
export interface Affine {
  readonly scale: number | readonly number[];
  readonly offset: number | readonly number[];
}

/**
 * The spec of the graph a variant describes, over its networks (in the description's
 * order): name, input and output names; add `opset`, `metadata` or `docString` to taste.
 */
export function describedGraphSpec(
  graph: OnnxGraphDescription,
  networks: readonly LayersModel[],
): OnnxGraphSpec {
  return {
    name: graph.role,
    networks,
    inputName: graph.inputName,
    outputName: graph.outputName,
    ...(graph.extraOutputNames ? { extraOutputNames: graph.extraOutputNames } : {}),
  };
}

/** A model used as a layer (nested `Sequential` or functional model). */
function isModel(layer: Layer | LayersModel): layer is LayersModel {
  const m = layer as Partial<LayersModel>;
  return Array.isArray(m.layers) && Array.isArray(m.inputs) && Array.isArray(m.outputs);
}

function unsupportedNetwork(model: LayersModel, why: string, what: string): never {
  throw aekitError(
    'UnsupportedLayer',
    model.name,
    `${model.getClassName()} ${why}; the ONNX exporter converts ${what}`,
    SUPPORTED_LAYERS,
  );
}

function notAChain(model: LayersModel, why: string): never {
  unsupportedNetwork(model, why, 'single chains of layers here');
}

/**
 * The layers of `model` in the order they run, for a single chain: `model.layers` of a
 * `Sequential`; for a functional model, the path from its output back to its input, where
 * every layer must have exactly one input. ({@link layersToOnnx} also converts functional
 * models with several outputs; see {@link OnnxGraphSpec.extraOutputNames}.)
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
    oneInput(t);
    chain.unshift(t.sourceLayer);
    t = t.inputs[0]!;
  }
  const onPath = new Set(chain.map((l) => l.name));
  const off = model.layers.filter((l) => !onPath.has(l.name) && l.getClassName() !== 'InputLayer');
  if (off.length > 0) {
    notAChain(model, `has layers off the input-output path (${off.map((l) => l.name).join(', ')})`);
  }
  return chain;
}

/** Fails unless the layer call that made `t` took exactly one input tensor. */
function oneInput(t: SymbolicTensor): void {
  if (t.inputs.length !== 1) {
    const layer = t.sourceLayer;
    throw aekitError(
      'UnsupportedLayer',
      layer.name,
      `${layer.getClassName()} with ${t.inputs.length} inputs (the ONNX exporter converts layers that take one input tensor)`,
      SUPPORTED_LAYERS,
    );
  }
}

function sameDims(a: LogicalShape, b: LogicalShape): boolean {
  return (
    a.length === b.length && a.every((d, i) => i === 0 || d == null || b[i] == null || d === b[i])
  );
}

/**
 * Converts one network applied to `x` and returns its outputs, in the order of
 * `model.outputs` (one for a `Sequential`): all of them, or only the first `count` (the
 * layers feeding only the others are then left out of the graph).
 */
function convertModel(
  model: LayersModel,
  x: TensorValue,
  ctx: ConversionContext,
  count = model.outputs.length,
): TensorValue[] {
  if (model.inputs.length !== 1) {
    unsupportedNetwork(model, `has ${model.inputs.length} inputs`, 'networks with one input');
  }
  const expected = model.inputs[0]!.shape;
  if (!sameDims(expected, x.shape)) {
    throw aekitError(
      'InvalidArgument',
      `Network "${model.name}" takes inputs of shape [${expected.map((d) => d ?? 'N')}], but the previous network gives [${x.shape.map((d) => d ?? 'N')}].`,
    );
  }
  if (model.getClassName() === 'Sequential') {
    let value = x;
    for (const layer of model.layers) value = firstOutput(layer, convertCall(layer, value, ctx));
    return [value];
  }
  return convertFunctional(model, x, ctx, count);
}

/**
 * Converts a functional model whose layers each take one input tensor: from each of its
 * first `count` outputs back to the input, depth first, so each layer call is converted
 * once and after the call feeding it (a topological order). One tensor may feed several
 * layers (a trunk with several heads).
 */
function convertFunctional(
  model: LayersModel,
  x: TensorValue,
  ctx: ConversionContext,
  count: number,
): TensorValue[] {
  const input = model.inputs[0]!;
  const reached = layersReached(model);
  const unused = model.layers.filter(
    (l) => !reached.has(l.name) && l.getClassName() !== 'InputLayer',
  );
  if (unused.length > 0) {
    unsupportedNetwork(
      model,
      `has layers whose results reach no output (${unused.map((l) => l.name).join(', ')})`,
      'layers that compute an output',
    );
  }
  // Converted tensors by symbolic tensor id.
  const values = new Map<number, TensorValue>([[input.id, x]]);
  const convertTensor = (t: SymbolicTensor): TensorValue => {
    const known = values.get(t.id);
    if (known) return known;
    oneInput(t);
    const layer = t.sourceLayer;
    const from = convertTensor(t.inputs[0]!);
    // The call that made `t` may have made other tensors too (a nested model's outputs).
    const call = layer.inboundNodes[t.nodeIndex];
    const made = call?.outputTensors ?? [t];
    const outputs = convertCall(layer, from, ctx);
    if (outputs.length !== made.length) {
      throw aekitError(
        'UnsupportedLayer',
        layer.name,
        `${layer.getClassName()} with ${made.length} outputs (the ONNX exporter converts layers with one output)`,
        SUPPORTED_LAYERS,
      );
    }
    for (const [i, out] of made.entries()) values.set(out.id, outputs[i]!);
    return values.get(t.id) ?? outputs[0]!;
  };
  return model.outputs.slice(0, count).map(convertTensor);
}

/** Names of the layers of `model` that some output is computed from. */
function layersReached(model: LayersModel): Set<string> {
  const reached = new Set<string>();
  const seen = new Set<number>();
  const stack = [...model.outputs];
  for (let t = stack.pop(); t; t = stack.pop()) {
    if (seen.has(t.id)) continue;
    seen.add(t.id);
    reached.add(t.sourceLayer.name);
    stack.push(...t.inputs);
  }
  return reached;
}

/** The only output of a layer call; fails for a layer with several (in a chain). */
function firstOutput(layer: Layer, outputs: readonly TensorValue[]): TensorValue {
  if (outputs.length !== 1) {
    throw aekitError(
      'UnsupportedLayer',
      layer.name,
      `${layer.getClassName()} with ${outputs.length} outputs inside a Sequential (the ONNX exporter passes one tensor from layer to layer there)`,
      SUPPORTED_LAYERS,
    );
  }
  return outputs[0]!;
}

/**
 * Converts one call of `layer` on `value` and returns the tensors it makes: a nested
 * model's outputs, a lowered custom layer's result, or the layer's converter's result.
 */
function convertCall(layer: Layer, value: TensorValue, ctx: ConversionContext): TensorValue[] {
  if (isModel(layer)) return convertModel(layer, value, ctx);
  // A custom layer may lower itself to standard layers (e.g. a dense layer whose kernel is
  // another layer's, transposed): those are converted instead, then disposed.
  const lowered = (layer as Partial<LowerableLayer>).exportLayers?.();
  if (lowered) {
    let out = value;
    try {
      for (const standard of lowered) out = convertLayer(standard, out, ctx);
    } finally {
      for (const standard of lowered) standard.dispose();
    }
    return [out];
  }
  return [convertLayer(layer, value, ctx)];
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

/** One value (dims `[]`), or one per value of a sample of `size` values (`[size]`). */
function affineDims(v: number | readonly number[], size: number, what: string): number[] {
  if (typeof v === 'number') return [];
  if (v.length !== size) {
    throw aekitError(
      'InvalidArgument',
      `The ${what} has ${v.length} values; it needs one, or one per value of a sample (${size}).`,
    );
  }
  return [size];
}

const values32 = (v: number | readonly number[]): Float32Array =>
  Float32Array.from(typeof v === 'number' ? [v] : v);

const isAll = (v: number | readonly number[], x: number): boolean =>
  typeof v === 'number' ? v === x : v.every((e) => e === x);

/**

/**
 * Adds `value * scale + offset` (Mul, then Add, each left out where it is the identity) and
 * returns the name of the result. `shape` is one sample's, which per-value arrays take.
 *
 * Samples of more than one axis are mapped as rows `[N, size]` (Reshape views, no copies):
 * ONNX Runtime's broadcasting Mul over `[N, 28, 28, 1]` walks the last axis of one value at
 * a time, 5x slower at batch 256 than the whole encoder without it.
 */
function addAffine(
  ctx: ConversionContext,
  value: string,
  shape: readonly number[],
  affine: Affine,
  where: 'input' | 'output',
): string {
  const scales = !isAll(affine.scale, 1);
  const shifts = !isAll(affine.offset, 0);
  if (!scales && !shifts) return value;
  const size = shape.reduce((a, b) => a * b, 1);
  const reshaped = shape.length > 1;
  let out = reshaped
    ? ctx.node('Reshape', [value, ctx.int64Const(`${where}_map/rows`, [2], [0, size])], {
        output: `${where}_map/rows`,
      })
    : value;
  if (scales) {
    const dims = affineDims(affine.scale, size, `${where} scale`);
    const scale = ctx.floatConst(`${where}_map/scale`, dims, values32(affine.scale));
    out = ctx.node('Mul', [out, scale], { output: `${where}_map/scaled` });
  }
  if (shifts) {
    const dims = affineDims(affine.offset, size, `${where} offset`);
    const offset = ctx.floatConst(`${where}_map/offset`, dims, values32(affine.offset));
    out = ctx.node('Add', [out, offset], { output: `${where}_map/shifted` });
  }
  if (!reshaped) return out;
  const back = ctx.int64Const(`${where}_map/shape`, [shape.length + 1], [0, ...shape]);
  return ctx.node('Reshape', [out, back], { output: `${where}_map/sample` });
}

function checkOpset(opset: number): void {
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw aekitError(
      'InvalidArgument',
      `The ONNX opset must be an integer from ${MIN_OPSET} to ${MAX_OPSET}, got ${opset}.`,
    );
  }
}

/** The graph's output names, in the order of the last network's outputs; checked. */
function outputNames(spec: OnnxGraphSpec): string[] {
  const extra = spec.extraOutputNames ?? [];
  const names = [spec.outputName, ...extra];
  if (
    !spec.inputName ||
    names.some((n) => !n) ||
    new Set([spec.inputName, ...names]).size !== names.length + 1
  ) {
    throw aekitError(
      'InvalidArgument',
      `ONNX graph "${spec.name}" needs distinct, non-empty input and output names (got input "${spec.inputName}", outputs ${names.map((n) => `"${n}"`).join(', ')}).`,
    );
  }
  const last = spec.networks.at(-1)!;
  if (last.outputs.length !== names.length) {
    throw aekitError(
      'InvalidArgument',
      `ONNX graph "${spec.name}": network "${last.name}" has ${last.outputs.length} outputs, but the graph names ${names.length} (outputName "${spec.outputName}"${extra.length ? ` and extraOutputNames [${extra.map((n) => `"${n}"`).join(', ')}]` : ''}); give extraOutputNames one name for each output after the first.`,
    );
  }
  return names;
}

/**
 * Converts tfjs-layers networks, applied in sequence, to one ONNX graph (float32, opset
 * 13 to 17, IR 8) and returns the `.onnx` bytes.
 *
 * The input takes the first network's input shape with a dynamic batch dimension `N`.
 * The outputs are the last network's outputs, with their shapes: the first is named
 * `outputName`, the others `extraOutputNames`; a network before the last passes its first
 * output to the next. Inputs and outputs keep tfjs's layout (NHWC images): convolutions run
 * channels-first inside the graph, between `Transpose` nodes.
 *
 * @throws AekitError `UnsupportedLayer` for a layer without a converter (or with options
 *   it cannot convert), a layer with several input tensors (`Add`, `Concatenate`…), a
 *   network with several inputs, and layers whose results reach no output;
 *   `InvalidArgument` for an opset out of range, names that clash, a number of output names
 *   that is not the last network's number of outputs, or networks whose shapes do not
 *   follow each other.
 */
export function layersToOnnx(spec: OnnxGraphSpec): Uint8Array {
  const opset = spec.opset ?? DEFAULT_OPSET;
  checkOpset(opset);
  if (spec.networks.length === 0) {
    throw aekitError('InvalidArgument', `ONNX graph "${spec.name}" has no networks.`);
  }
  const names = outputNames(spec);
  const first = spec.networks[0]!;
  if (first.inputs.length !== 1) {
    unsupportedNetwork(first, `has ${first.inputs.length} inputs`, 'networks with one input');
  }
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
  for (const name of names) ctx.reserve(name);
  builder.addInput(spec.inputName, [BATCH_DIM, ...(sample as number[])]);
  const input = spec.inputAffine
    ? addAffine(ctx, spec.inputName, sample as number[], spec.inputAffine, 'input')
    : spec.inputName;
  let values: TensorValue[] = [
    { name: input, shape: [null, ...sample], perm: identityPerm(inputShape.length) },
  ];
  // A network before the last passes on its first output only.
  for (const [i, network] of spec.networks.entries()) {
    const last = i === spec.networks.length - 1;
    values = convertModel(network, values[0]!, ctx, last ? undefined : 1);
  }

  // Back to tfjs's layout (every Transpose added before any output is renamed), then the
  // last node computing each output writes it, or an Identity copies it.
  const sources = values.map((value) => ctx.layout(value, identityPerm(value.shape.length)));
  if (spec.outputAffine) {
    const shape = values[0]!.shape.slice(1);
    if (shape.some((d) => d == null)) {
      throw aekitError(
        'InvalidArgument',
        `ONNX graph "${spec.name}": an output map needs an output of known shape, not [${shape.map((d) => d ?? 'null')}].`,
      );
    }
    sources[0] = addAffine(ctx, sources[0]!, shape as number[], spec.outputAffine, 'output');
  }
  const written = new Map<string, string>();
  for (const [i, source] of sources.entries()) {
    const name = names[i]!;
    const copied = written.get(source);
    if (copied !== undefined) {
      builder.addNode({ op: 'Identity', inputs: [copied], outputs: [name] });
    } else if (source === spec.inputName || !builder.renameNodeOutput(source, name)) {
      builder.addNode({ op: 'Identity', inputs: [source], outputs: [name] });
    } else {
      written.set(source, name);
    }
    const shape = values[i]!.shape;
    const dims: OnnxDim[] = shape.map((d, axis) => (axis === 0 ? BATCH_DIM : (d ?? `d${axis}`)));
    builder.addOutput(name, dims);
  }
  return builder.encode({
    opset,
    ...(spec.docString !== undefined ? { docString: spec.docString } : {}),
    ...(spec.metadata ? { metadata: spec.metadata } : {}),
  });
}
