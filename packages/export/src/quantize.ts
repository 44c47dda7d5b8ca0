/**
 * Smaller weights for exported graphs: a pass over the `.onnx` bytes that stores the
 * weight tensors as float16 or as int8, each followed by the node that turns it back into
 * float32. The graph's inputs, outputs and every other node stay float32, so any ONNX
 * Runtime build (Node, WebAssembly, WebGPU) runs the result without options.
 *
 * - `fp16`: each weight becomes a FLOAT16 initializer read by `Cast(to = FLOAT)`.
 * - `int8`: weight-only, symmetric int8 (zero point 0, values in [-127, 127]) with one scale
 *   per output channel (`Gemm`/`MatMul` weights `[in, out]`: axis 1; `Conv` `[out, in, kh,
 *   kw]`: axis 0; `ConvTranspose` `[in, out, kh, kw]`: axis 1), read by `Cast(to = FLOAT)`
 *   then `Mul` by the scales shaped to broadcast along that axis.
 *
 * Both forms are made of constants only, so ONNX Runtime folds them into float32 weights
 * when it creates the session (its default optimisation level), and the graph then runs
 * exactly as the float32 one does, as fast: the files are smaller, not the work. int8 is not
 * written as `DequantizeLinear(axis)` on purpose: ONNX Runtime keeps that node unfolded (it
 * waits for a QDQ fusion that weight-only graphs never get) and dequantises every weight on
 * every call unless the session sets `session.disable_quant_qdq`. Measured on a 784-1000-500-
 * 250-30 encoder at batch 1 (one thread, a 2-core x86 machine), that took 2.0 ms a call in
 * onnxruntime-node and 3.4 ms in onnxruntime-web's WebAssembly build against 0.13 and 0.12 ms
 * for float32, where `Cast` + `Mul` took 0.13 ms in both. The numbers `Cast` and `Mul` give
 * are those `DequantizeLinear` would.
 *
 * Biases, scalars and other small tensors (under {@link MIN_QUANTIZED_VALUES} values) stay
 * float32: they weigh little and carry much.
 */
import type { Precision } from '@aekit/core';
import { getFloat16, setFloat16 } from '@petamoriken/float16';
import onnxProto, { type onnx as proto } from 'onnx-proto';

const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;

/** Weight tensors with fewer values than this stay float32 (biases, scales, constants). */
export const MIN_QUANTIZED_VALUES = 256;

/** The largest finite float16. */
const FLOAT16_MAX = 65504;

/** What {@link quantizeGraph} did to one graph. */
export interface QuantizedGraph {
  /** The new `.onnx` bytes (the input bytes themselves for `fp32`). */
  readonly bytes: Uint8Array;
  /** Names of the initializers stored at the new precision. */
  readonly tensors: readonly string[];
  /** float32 bytes of those tensors before, and their bytes after (scales included). */
  readonly weightBytes: { readonly before: number; readonly after: number };
}

/** Float32 values of a FLOAT initializer (raw little-endian bytes or `floatData`). */
function floatValues(t: proto.ITensorProto): Float32Array | undefined {
  if (t.rawData && t.rawData.length > 0) {
    const raw = t.rawData;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out = new Float32Array(raw.byteLength / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }
  if (t.floatData && t.floatData.length > 0) return Float32Array.from(t.floatData);
  return undefined;
}

/** An int64 field as decoded (a number, or a Long where the `long` package is installed). */
const int64 = (v: unknown): number => (typeof v === 'number' ? v : Number(String(v)));

const scratch = new DataView(new ArrayBuffer(2));

/** The float16 bits of `value`, rounded to nearest even (overflow to infinity). */
export function toFloat16Bits(value: number): number {
  setFloat16(scratch, 0, value);
  return scratch.getUint16(0);
}

/** The float32 value of float16 `bits`. */
export function fromFloat16Bits(bits: number): number {
  scratch.setUint16(0, bits);
  return getFloat16(scratch, 0);
}

/**
 * The axis of the output channels of weight `name` for the nodes that read it: `Gemm` B
 * (`[in, out]`, or `[out, in]` with `transB`), `MatMul` B (its last axis), `Conv` W (`[out,
 * in/g, kh, kw]`: 0), `ConvTranspose` W (`[in, out/g, kh, kw]`: 1). `undefined` when a reader
 * is anything else or two readers disagree: one scale for the whole tensor then.
 */
function channelAxis(
  name: string,
  rank: number,
  nodes: readonly proto.INodeProto[],
): number | undefined {
  let axis: number | undefined;
  let readers = 0;
  for (const node of nodes) {
    const inputs = node.input ?? [];
    for (let i = 0; i < inputs.length; i++) {
      if (inputs[i] !== name) continue;
      readers++;
      let a: number | undefined;
      const transB = node.attribute?.find((at) => at.name === 'transB');
      if (node.opType === 'Gemm' && i === 1) a = int64(transB?.i ?? 0) === 1 ? 0 : 1;
      else if (node.opType === 'MatMul' && i === 1) a = rank - 1;
      else if (node.opType === 'Conv' && i === 1) a = 0;
      else if (node.opType === 'ConvTranspose' && i === 1) a = 1;
      else return undefined;
      if (axis !== undefined && axis !== a) return undefined;
      axis = a;
    }
  }
  return readers > 0 ? axis : undefined;
}

/** Symmetric int8 with one scale per index of `axis` (or one in all), zero point 0. */
function symmetricInt8(
  values: Float32Array,
  dims: readonly number[],
  axis: number | undefined,
): { q: Int8Array; scales: Float32Array } {
  const channels = axis === undefined ? 1 : dims[axis]!;
  const inner = axis === undefined ? 1 : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channelOf = (i: number) => (axis === undefined ? 0 : Math.floor(i / inner) % channels);
  const max = new Float32Array(channels);
  for (let i = 0; i < values.length; i++) {
    const c = channelOf(i);
    max[c] = Math.max(max[c]!, Math.abs(values[i]!));
  }
  // A channel of zeros keeps scale 1 (DequantizeLinear gives 0 either way).
  const scales = max.map((m) => (m > 0 ? m / 127 : 1));
  const q = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Math.round(values[i]! / scales[channelOf(i)]!);
    q[i] = Math.max(-127, Math.min(127, v));
  }
  return { q, scales };
}

function float32Bytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return out;
}

/** A name not among `taken`, from `base`; the new name is added to `taken`. */
function freshName(base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

/**
 * Stores the weight tensors of an `.onnx` model at `precision` (see the module's summary),
 * each followed by the node that turns it back into float32 under its old name, so every
 * node reads what it read before; the model's metadata gains `aekit.precision`. `fp32`
 * returns the bytes unchanged.
 */
export function quantizeGraph(bytes: Uint8Array, precision: Precision): QuantizedGraph {
  if (precision === 'fp32') return { bytes, tensors: [], weightBytes: { before: 0, after: 0 } };
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  const graphInputs = new Set((graph.input ?? []).map((i) => i.name ?? ''));
  const taken = new Set<string>([
    ...(graph.initializer ?? []).map((t) => t.name ?? ''),
    ...nodes.flatMap((n) => n.output ?? []),
    ...graphInputs,
  ]);
  const nodeNames = new Set(nodes.map((n) => n.name ?? ''));
  const initializers: proto.ITensorProto[] = [];
  const before: proto.INodeProto[] = [];
  const tensors: string[] = [];
  let weightBefore = 0;
  let weightAfter = 0;
  for (const t of graph.initializer ?? []) {
    const name = t.name ?? '';
    const dims = (t.dims ?? []).map(int64);
    const values = t.dataType === DataType.FLOAT ? floatValues(t) : undefined;
    const fits =
      values !== undefined &&
      dims.length >= 2 &&
      values.length >= MIN_QUANTIZED_VALUES &&
      !graphInputs.has(name) &&
      (precision === 'int8' || values.every((v) => Math.abs(v) <= FLOAT16_MAX));
    if (!fits) {
      initializers.push(t);
      continue;
    }
    tensors.push(name);
    weightBefore += values.length * 4;
    const nodeName = freshName(`${name}/${precision === 'fp16' ? 'Cast' : 'Mul'}`, nodeNames);
    if (precision === 'fp16') {
      const stored = freshName(`${name}/fp16`, taken);
      const raw = new Uint8Array(values.length * 2);
      const view = new DataView(raw.buffer);
      for (let i = 0; i < values.length; i++) setFloat16(view, i * 2, values[i]!, true);
      initializers.push({
        name: stored,
        dims: t.dims ?? [],
        dataType: DataType.FLOAT16,
        rawData: raw,
      });
      weightAfter += raw.length;
      before.push({
        name: nodeName,
        opType: 'Cast',
        domain: '',
        input: [stored],
        output: [name],
        attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: DataType.FLOAT }],
      });
      continue;
    }
    const axis = channelAxis(name, dims.length, nodes);
    const { q, scales } = symmetricInt8(values, dims, axis);
    const stored = freshName(`${name}/int8`, taken);
    const scale = freshName(`${name}/scale`, taken);
    const cast = freshName(`${name}/float`, taken);
    // The scales shaped to broadcast along `axis`: [C, 1, ..., 1] (a scalar for one scale).
    const scaleDims =
      axis === undefined ? [] : [scales.length, ...dims.slice(axis + 1).map(() => 1)];
    initializers.push(
      {
        name: stored,
        dims: t.dims ?? [],
        dataType: DataType.INT8,
        rawData: new Uint8Array(q.buffer, q.byteOffset, q.byteLength),
      },
      { name: scale, dims: scaleDims, dataType: DataType.FLOAT, rawData: float32Bytes(scales) },
    );
    weightAfter += q.length + scales.length * 4;
    before.push(
      {
        name: freshName(`${name}/Cast`, nodeNames),
        opType: 'Cast',
        domain: '',
        input: [stored],
        output: [cast],
        attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: DataType.FLOAT }],
      },
      { name: nodeName, opType: 'Mul', domain: '', input: [cast, scale], output: [name] },
    );
  }
  graph.initializer = initializers;
  graph.node = [...before, ...nodes];
  model.metadataProps = [
    ...(model.metadataProps ?? []).filter((p) => p.key !== 'aekit.precision'),
    { key: 'aekit.precision', value: precision },
  ];
  const out = new Uint8Array(onnx.ModelProto.encode(model).finish());
  return { bytes: out, tensors, weightBytes: { before: weightBefore, after: weightAfter } };
}
