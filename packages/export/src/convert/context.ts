/**
 * What every layer converter works with: the graph being built, the tensor flowing through
 * the chain, and its layout.
 *
 * tfjs tensors are channels-last (NHWC); ONNX convolutions and pooling are channels-first
 * (NCHW). A {@link TensorValue} keeps its tfjs ("logical") shape and says how the ONNX
 * tensor's axes are ordered relative to it (`perm`), so a run of convolutional layers
 * stays in NCHW and `Transpose` nodes appear only where the layout has to change.
 */
import { aekitError } from '@aekit/core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { attr, type OnnxAttribute, type OnnxModelBuilder } from '../onnx-model.js';

/** A tfjs layer, as found in `LayersModel.layers`. */
export type Layer = LayersModel['layers'][number];

/** The tfjs shape of a tensor, batch first (`null` where tfjs does not know a size). */
export type LogicalShape = readonly (number | null)[];

/** The tensor flowing through the chain. */
export interface TensorValue {
  /** ONNX value name. */
  readonly name: string;
  /** Shape of the tensor in tfjs, batch first. */
  readonly shape: LogicalShape;
  /**
   * Axis order of the ONNX tensor: ONNX axis `i` is tfjs axis `perm[i]`. The identity is
   * tfjs's own layout; `[0, 3, 1, 2]` on an NHWC tensor is NCHW.
   */
  readonly perm: readonly number[];
}

/** The perm that puts a channels-last tensor of `rank` in channels-first order. */
export function channelsFirstPerm(rank: number): number[] {
  return [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)];
}

/** The identity perm of `rank`. */
export function identityPerm(rank: number): number[] {
  return Array.from({ length: rank }, (_, i) => i);
}

function samePerm(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Options of {@link ConversionContext.node}. */
export interface NodeOptions {
  readonly attributes?: Readonly<Record<string, OnnxAttribute>>;
  /** Base for the output value name (default: the op type). */
  readonly output?: string;
}

/**
 * Owns the builder while one graph is converted: unique names under the current layer,
 * constants, and layout changes.
 */
export class ConversionContext {
  /** The graph under construction. */
  readonly builder: OnnxModelBuilder;
  /** The layer being converted (names are prefixed with it). */
  layer: Layer | undefined;
  private readonly used = new Set<string>();
  private readonly transposes = new Map<string, string>();
  private readonly scalars = new Map<string, string>();

  /** The layer classes that have a converter (listed in errors). */
  readonly supportedLayers: readonly string[];

  /** A context writing into `builder`; `supportedLayers` is listed in errors. */
  constructor(builder: OnnxModelBuilder, supportedLayers: readonly string[] = []) {
    this.builder = builder;
    this.supportedLayers = supportedLayers;
  }

  /** Keeps `name` out of generated names (graph input and output names). */
  reserve(name: string): void {
    this.used.add(name);
  }

  /** A float32 scalar constant, shared by every node that needs the same value. */
  scalar(value: number): string {
    const key = Object.is(value, -0) ? '-0' : String(value);
    const cached = this.scalars.get(key);
    if (cached) return cached;
    const layer = this.layer;
    this.layer = undefined;
    const name = this.fresh(`const/${key}`);
    this.layer = layer;
    this.builder.addFloatInitializer(name, [], Float32Array.of(value));
    this.scalars.set(key, name);
    return name;
  }

  /** A value name not used yet, under the current layer's name. */
  fresh(base: string): string {
    const stem = this.layer ? `${this.layer.name}/${base}` : base;
    let name = stem;
    for (let i = 1; this.used.has(name) || this.builder.has(name); i++) name = `${stem}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Adds a node with one output and returns the output's name. */
  node(op: string, inputs: readonly string[], options: NodeOptions = {}): string {
    const output = this.fresh(options.output ?? op);
    this.builder.addNode({
      op,
      inputs,
      outputs: [output],
      name: output,
      ...(options.attributes ? { attributes: options.attributes } : {}),
    });
    return output;
  }

  /** A float32 initializer; returns its name. */
  floatConst(
    base: string,
    dims: readonly number[],
    values: Float32Array | readonly number[],
  ): string {
    const name = this.fresh(base);
    this.builder.addFloatInitializer(name, dims, Float32Array.from(values));
    return name;
  }

  /** An int64 initializer; returns its name. */
  int64Const(base: string, dims: readonly number[], values: readonly number[]): string {
    const name = this.fresh(base);
    this.builder.addInt64Initializer(name, dims, values);
    return name;
  }

  /** The value's name with its ONNX axes in the order `perm` (adds a `Transpose` if needed). */
  layout(value: TensorValue, perm: readonly number[]): string {
    if (perm.length !== value.perm.length) {
      throw new RangeError(
        `Layout of rank ${perm.length} asked of a rank-${value.perm.length} tensor.`,
      );
    }
    if (samePerm(perm, value.perm)) return value.name;
    const key = `${value.name}|${perm.join(',')}`;
    const cached = this.transposes.get(key);
    if (cached) return cached;
    // New ONNX axis i is tfjs axis perm[i], found at ONNX axis value.perm.indexOf(perm[i]).
    const q = perm.map((axis) => value.perm.indexOf(axis));
    const out = this.node('Transpose', [value.name], { attributes: { perm: attr.ints(q) } });
    this.transposes.set(key, out);
    return out;
  }

  /** The same tensor in a given layout, as a {@link TensorValue}. */
  withLayout(value: TensorValue, perm: readonly number[]): TensorValue {
    return { name: this.layout(value, perm), shape: value.shape, perm: [...perm] };
  }

  /** The ONNX axis holding tfjs axis `axis` (negative counts from the end). */
  onnxAxis(value: TensorValue, axis: number): number {
    const rank = value.shape.length;
    const logical = axis < 0 ? axis + rank : axis;
    if (logical < 0 || logical >= rank) throw new RangeError(`Axis ${axis} out of rank ${rank}.`);
    return value.perm.indexOf(logical);
  }

  /**
   * Fails the conversion of the current layer, which uses an option the exporter cannot
   * convert: `UnsupportedLayer` naming the option and the values that are supported.
   */
  unsupported(detail: string, supported: readonly string[]): never {
    const layer = this.layer;
    const alternatives = supported.length ? ` (supported: ${supported.join(', ')})` : '';
    throw aekitError(
      'UnsupportedLayer',
      layer?.name ?? '(unknown)',
      `${layer?.getClassName() ?? 'layer'} with ${detail}${alternatives}`,
      this.supportedLayers,
    );
  }
}

/** The static (non-batch) dims of a tfjs shape; throws if one is unknown. */
export function staticDims(shape: LogicalShape, what: string): number[] {
  return shape.slice(1).map((d) => {
    if (d == null) throw new RangeError(`${what}: every dimension but the batch must be known.`);
    return d;
  });
}

/** The first output shape of `layer` for the input shape `shape`. */
export function outputShapeOf(layer: Layer, shape: LogicalShape): LogicalShape {
  const out = layer.computeOutputShape([...shape]) as (number | null)[] | (number | null)[][];
  return (Array.isArray(out[0]) ? out[0] : out) as LogicalShape;
}

/** The float32 values of a layer's weight named `name` (e.g. `kernel`), or undefined. */
export function weight(
  layer: Layer,
  name: string,
): { shape: number[]; values: Float32Array } | undefined {
  const v = layer.weights.find(
    (w) => w.originalName.endsWith(`/${name}`) || w.originalName === name,
  );
  if (!v) return undefined;
  const t = v.read();
  return { shape: [...t.shape], values: Float32Array.from(t.dataSync() as Float32Array) };
}

/** Like {@link weight}, but the weight must exist. */
export function requireWeight(
  layer: Layer,
  name: string,
): { shape: number[]; values: Float32Array } {
  const w = weight(layer, name);
  if (!w) throw new RangeError(`Layer "${layer.name}" has no weight "${name}".`);
  return w;
}

/** Transposes a dense C-order array of shape `dims` by `perm` (like `np.transpose`). */
export function transposeArray(
  values: Float32Array,
  dims: readonly number[],
  perm: readonly number[],
): { dims: number[]; values: Float32Array } {
  const rank = dims.length;
  const outDims = perm.map((p) => dims[p]!);
  const inStrides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = inStrides[i + 1]! * dims[i + 1]!;
  const out = new Float32Array(values.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let i = 0; i < rank; i++) src += idx[i]! * inStrides[perm[i]!]!;
    out[o] = values[src]!;
    for (let i = rank - 1; i >= 0; i--) {
      idx[i] = idx[i]! + 1;
      if (idx[i]! < outDims[i]!) break;
      idx[i] = 0;
    }
  }
  return { dims: outDims, values: out };
}

/** Reads a layer's config as a plain record. */
export function configOf(layer: Layer): Record<string, unknown> {
  return layer.getConfig() as Record<string, unknown>;
}

/** A pair of numbers from a config entry that is a number or `[a, b]`. */
export function pair(value: unknown, fallback: number): [number, number] {
  if (value == null) return [fallback, fallback];
  if (typeof value === 'number') return [value, value];
  const a = value as number[];
  return [a[0] ?? fallback, a[1] ?? a[0] ?? fallback];
}

/**
 * Converts one tfjs layer: given the tensor entering it, adds the ONNX nodes computing the
 * layer at inference and returns the tensor leaving it.
 */
export type LayerConverter = (
  layer: Layer,
  input: TensorValue,
  ctx: ConversionContext,
) => TensorValue;
