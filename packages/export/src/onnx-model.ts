/**
 * A small typed builder over `onnx-proto`'s protobufjs classes: the exporter never writes
 * protobuf bytes by hand.
 *
 * `onnx-proto` 8 carries the ONNX 1.10 schema (IR version 8); {@link OnnxModelBuilder}
 * writes IR 8 and the default ONNX domain at opset 13 to 17.
 */
import onnxProto, { type onnx as proto } from 'onnx-proto';

const { onnx } = onnxProto;

/** The IR version written: the newest `onnx-proto` knows (ONNX 1.10). */
export const ONNX_IR_VERSION = 8;

/** The opset written unless asked otherwise. */
export const DEFAULT_OPSET = 13;

/** The lowest opset of the default domain the exporter writes. */
export const MIN_OPSET = 13;

/** The highest opset of the default domain the exporter writes (IR 8 allows up to 17). */
export const MAX_OPSET = 17;

/** `producer_name` of every model. */
export const PRODUCER_NAME = 'aekit';

/** The symbolic name of the batch dimension of graph inputs and outputs. */
export const BATCH_DIM = 'N';

/** One dimension of a graph input or output: a size, or a symbolic name such as `'N'`. */
export type OnnxDim = number | string;

/** A node attribute value, tagged with its ONNX type. */
export type OnnxAttribute =
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'string'; readonly value: string };

/** Attribute helpers: `{ alpha: attr.float(0.2), pads: attr.ints([0, 0, 1, 1]) }`. */
export const attr = Object.freeze({
  /** A 32-bit float attribute. */
  float: (value: number): OnnxAttribute => ({ type: 'float', value }),
  /** A 64-bit integer attribute (must be a safe integer). */
  int: (value: number): OnnxAttribute => ({ type: 'int', value }),
  /** A list of 32-bit floats. */
  floats: (value: readonly number[]): OnnxAttribute => ({ type: 'floats', value }),
  /** A list of 64-bit integers (each a safe integer). */
  ints: (value: readonly number[]): OnnxAttribute => ({ type: 'ints', value }),
  /** A UTF-8 string attribute. */
  string: (value: string): OnnxAttribute => ({ type: 'string', value }),
});

/** A node to add to the graph. */
export interface OnnxNodeSpec {
  /** Operator type in the default domain, e.g. `Gemm`. */
  readonly op: string;
  /** Input value names; `''` marks an omitted optional input. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Node name (unique in the graph; defaults to the first output's name). */
  readonly name?: string;
  readonly attributes?: Readonly<Record<string, OnnxAttribute>>;
  readonly docString?: string;
}

/** Options of {@link OnnxModelBuilder.encode}. */
export interface OnnxModelOptions {
  /** Opset of the default domain (13 to 17, default 13). */
  readonly opset?: number;
  readonly docString?: string;
  /** String key/value pairs stored as `metadata_props`. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** `producer_version` (default: empty). */
  readonly producerVersion?: string;
}

const utf8 = new TextEncoder();

function assertSafeInts(values: readonly number[], what: string): void {
  for (const v of values) {
    if (!Number.isSafeInteger(v)) throw new RangeError(`${what}: ${v} is not a safe integer.`);
  }
}

function toAttributeProto(name: string, a: OnnxAttribute): proto.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'int':
      assertSafeInts([a.value], `attribute ${name}`);
      return { name, type: T.INT, i: a.value };
    case 'floats':
      return { name, type: T.FLOATS, floats: [...a.value] };
    case 'ints':
      assertSafeInts(a.value, `attribute ${name}`);
      return { name, type: T.INTS, ints: [...a.value] };
    case 'string':
      // `bytes` fields must be given bytes: protobufjs would base64-decode a JS string.
      return { name, type: T.STRING, s: utf8.encode(a.value) };
  }
}

/** Little-endian bytes of float32 values, whatever the host's byte order. */
function float32Bytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return out;
}

function valueInfo(name: string, dims: readonly OnnxDim[]): proto.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: {
          dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  };
}

/**
 * Builds one ONNX graph of float32 tensors: inputs, outputs, initializers and nodes, then
 * encodes the model. Names must be unique; the builder checks this.
 */
export class OnnxModelBuilder {
  /** Graph name. */
  readonly name: string;
  private readonly inputs: proto.IValueInfoProto[] = [];
  private readonly outputs: proto.IValueInfoProto[] = [];
  private readonly initializers: proto.ITensorProto[] = [];
  private readonly nodes: proto.INodeProto[] = [];
  private readonly values = new Set<string>();
  private readonly nodeNames = new Set<string>();

  /** A builder for the graph `name`. */
  constructor(name: string) {
    this.name = name;
  }

  /** True when a value (input, initializer or node output) is already named `name`. */
  has(name: string): boolean {
    return this.values.has(name);
  }

  private claim(name: string): void {
    if (!name) throw new RangeError('ONNX value names cannot be empty.');
    if (this.values.has(name)) throw new RangeError(`ONNX value "${name}" is defined twice.`);
    this.values.add(name);
  }

  /** Adds a float32 graph input; string dims are symbolic (e.g. `'N'`). */
  addInput(name: string, dims: readonly OnnxDim[]): this {
    this.claim(name);
    this.inputs.push(valueInfo(name, dims));
    return this;
  }

  /** Declares a float32 graph output (a value some node produces). */
  addOutput(name: string, dims: readonly OnnxDim[]): this {
    this.outputs.push(valueInfo(name, dims));
    return this;
  }

  /** Checks an initializer's shape against its value count and claims its name. */
  private checkInitializer(name: string, dims: readonly number[], count: number): void {
    assertSafeInts(dims, `initializer ${name} dims`);
    const size = dims.reduce((a, b) => a * b, 1);
    if (size !== count) {
      throw new RangeError(
        `Initializer "${name}": shape [${dims}] needs ${size} values, got ${count}.`,
      );
    }
    this.claim(name);
  }

  /** Adds a float32 initializer of shape `dims` (C order). */
  addFloatInitializer(name: string, dims: readonly number[], values: Float32Array): this {
    this.checkInitializer(name, dims, values.length);
    this.initializers.push({
      name,
      dims: [...dims],
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: float32Bytes(values),
    });
    return this;
  }

  /** Adds an int64 initializer (shapes, pads, axes) of shape `dims`. */
  addInt64Initializer(name: string, dims: readonly number[], values: readonly number[]): this {
    assertSafeInts(values, `initializer ${name}`);
    this.checkInitializer(name, dims, values.length);
    this.initializers.push({
      name,
      dims: [...dims],
      dataType: onnx.TensorProto.DataType.INT64,
      int64Data: [...values],
    });
    return this;
  }

  /** Adds a node; its outputs become values of the graph. */
  addNode(spec: OnnxNodeSpec): this {
    const name = spec.name ?? spec.outputs[0] ?? spec.op;
    if (this.nodeNames.has(name)) throw new RangeError(`ONNX node "${name}" is defined twice.`);
    for (const input of spec.inputs) {
      if (input !== '' && !this.values.has(input)) {
        throw new RangeError(`ONNX node "${name}" reads "${input}", which is not defined yet.`);
      }
    }
    for (const output of spec.outputs) this.claim(output);
    this.nodeNames.add(name);
    this.nodes.push({
      name,
      opType: spec.op,
      domain: '',
      input: [...spec.inputs],
      output: [...spec.outputs],
      attribute: Object.entries(spec.attributes ?? {}).map(([k, v]) => toAttributeProto(k, v)),
      ...(spec.docString ? { docString: spec.docString } : {}),
    });
    return this;
  }

  /** Renames the output `from` of the last node that produced it (used to name graph outputs). */
  renameNodeOutput(from: string, to: string): boolean {
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i]!;
      const at = node.output?.indexOf(from) ?? -1;
      if (at < 0) continue;
      const readers = this.nodes.some((n) => n.input?.includes(from));
      if (readers) return false;
      this.claim(to);
      this.values.delete(from);
      node.output![at] = to;
      return true;
    }
    return false;
  }

  /** The model as an `onnx-proto` message (for inspection). */
  toProto(options: OnnxModelOptions = {}): proto.ModelProto {
    const opset = options.opset ?? DEFAULT_OPSET;
    if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
      throw new RangeError(`ONNX opset must be an integer from ${MIN_OPSET} to ${MAX_OPSET}.`);
    }
    for (const out of this.outputs) {
      if (!this.values.has(out.name!)) {
        throw new RangeError(`Graph output "${out.name}" is produced by no node.`);
      }
    }
    return onnx.ModelProto.create({
      irVersion: ONNX_IR_VERSION,
      producerName: PRODUCER_NAME,
      producerVersion: options.producerVersion ?? '',
      docString: options.docString ?? '',
      opsetImport: [{ domain: '', version: opset }],
      metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({
        key,
        value,
      })),
      graph: {
        name: this.name,
        input: this.inputs,
        output: this.outputs,
        initializer: this.initializers,
        node: this.nodes,
      },
    });
  }

  /** The encoded model (`.onnx` file bytes). */
  encode(options: OnnxModelOptions = {}): Uint8Array {
    const bytes = onnx.ModelProto.encode(this.toProto(options)).finish();
    // protobufjs may hand back a slice of a shared Node buffer pool: copy it out.
    return new Uint8Array(bytes);
  }
}

/** Decodes `.onnx` bytes into an `onnx-proto` message (tests and inspection). */
export function decodeOnnxModel(bytes: Uint8Array): proto.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
