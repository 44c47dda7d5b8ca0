/**
 * Triton's model configuration (`config.pbtxt`) of an ONNX graph, for model repositories
 * that NVIDIA Triton and KServe load: the graph's inputs and outputs, read from the graph
 * itself, with their Triton data types and dims without the batch axis.
 *
 * The file is protobuf text format of Triton's `inference.ModelConfig`. It is written here
 * by hand: the protobuf libraries for JavaScript write binary and JSON but not text format
 * (protobufjs has no text-format writer; @bufbuild/protobuf reads and writes binary and
 * JSON only), and the few fields written (strings, integers, enums, nested messages) need
 * only quoting of strings. The tests parse every file written with Python's protobuf
 * `text_format` against Triton's own `model_config.proto`.
 */
import { aekitError } from '@aekit/core';
import onnxProto, { type onnx as proto } from 'onnx-proto';
import { decodeOnnxModel } from './onnx-model.js';

const { onnx } = onnxProto;

/** The platform of an ONNX model in Triton (its ONNX Runtime backend). */
export const TRITON_ONNX_PLATFORM = 'onnxruntime_onnx';

/**
 * The largest batch Triton forms by default: far above one request's samples, small enough
 * that a batch of 256 MNIST-sized samples (about 800 KB in, less out) is cheap to gather.
 */
export const TRITON_MAX_BATCH_SIZE = 256;

/** How long Triton's dynamic batcher waits for more requests to join a batch, by default. */
export const TRITON_MAX_QUEUE_DELAY_MICROSECONDS = 100;

/** Triton's data type of each ONNX tensor element type (`TensorProto.DataType`). */
const TRITON_TYPES: Readonly<Record<number, string>> = Object.freeze({
  [onnx.TensorProto.DataType.FLOAT]: 'TYPE_FP32',
  [onnx.TensorProto.DataType.UINT8]: 'TYPE_UINT8',
  [onnx.TensorProto.DataType.INT8]: 'TYPE_INT8',
  [onnx.TensorProto.DataType.UINT16]: 'TYPE_UINT16',
  [onnx.TensorProto.DataType.INT16]: 'TYPE_INT16',
  [onnx.TensorProto.DataType.INT32]: 'TYPE_INT32',
  [onnx.TensorProto.DataType.INT64]: 'TYPE_INT64',
  [onnx.TensorProto.DataType.STRING]: 'TYPE_STRING',
  [onnx.TensorProto.DataType.BOOL]: 'TYPE_BOOL',
  [onnx.TensorProto.DataType.FLOAT16]: 'TYPE_FP16',
  [onnx.TensorProto.DataType.DOUBLE]: 'TYPE_FP64',
  [onnx.TensorProto.DataType.UINT32]: 'TYPE_UINT32',
  [onnx.TensorProto.DataType.UINT64]: 'TYPE_UINT64',
  [onnx.TensorProto.DataType.BFLOAT16]: 'TYPE_BF16',
});

/** One input or output of a Triton model. */
export interface TritonTensor {
  readonly name: string;
  /** Triton's data type, e.g. `TYPE_FP32`. */
  readonly dataType: string;
  /** Dimensions without the batch axis; `-1` for a dimension of any size. */
  readonly dims: readonly number[];
}

/** Options of {@link tritonModelConfig}. */
export interface TritonConfigOptions {
  /** The model's name in the repository (its folder's name). */
  readonly name: string;
  /** Largest batch Triton forms (default {@link TRITON_MAX_BATCH_SIZE}), at least 1. */
  readonly maxBatchSize?: number;
  /** Dynamic batching delay (default {@link TRITON_MAX_QUEUE_DELAY_MICROSECONDS}). */
  readonly maxQueueDelayMicroseconds?: number;
}

/**
 * A name Triton accepts as a model (folder) name: letters, digits, `_`, `-` and `.`, every
 * other run of characters made `-`, not starting with `.` or `-`; `model` if nothing is left.
 */
export function tritonModelName(text: string): string {
  const name = text.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[.-]+/, '');
  return name || 'model';
}

/**
 * The inputs and outputs of an ONNX graph as Triton sees them: element types as Triton's,
 * the first (batch) axis left out.
 *
 * @throws AekitError `InvalidArgument` for a tensor whose type Triton has no data type for,
 *   or without a batch axis.
 */
export function tritonTensors(bytes: Uint8Array): {
  readonly inputs: readonly TritonTensor[];
  readonly outputs: readonly TritonTensor[];
} {
  const model = decodeOnnxModel(bytes);
  const graph = model.graph;
  const initializers = new Set((graph?.initializer ?? []).map((t) => t.name));
  const describe = (v: proto.IValueInfoProto): TritonTensor => {
    const tensor = v.type?.tensorType;
    const dataType = TRITON_TYPES[tensor?.elemType ?? -1];
    const dims = tensor?.shape?.dim ?? [];
    if (!dataType || dims.length === 0) {
      throw aekitError(
        'InvalidArgument',
        `ONNX tensor "${v.name}" cannot be served by Triton with batching: it needs a tensor type Triton knows and a batch axis.`,
      );
    }
    const size = (d: proto.TensorShapeProto.IDimension): number => {
      const value = Number(d.dimValue ?? 0);
      return d.dimParam || !(value > 0) ? -1 : value;
    };
    return { name: v.name ?? '', dataType, dims: dims.slice(1).map(size) };
  };
  return {
    // ONNX IR 3 listed initializers among the inputs: they are not the model's inputs.
    inputs: (graph?.input ?? []).filter((v) => !initializers.has(v.name)).map(describe),
    outputs: (graph?.output ?? []).map(describe),
  };
}

const quoted = (s: string): string => JSON.stringify(s);

function tensorEntries(field: 'input' | 'output', tensors: readonly TritonTensor[]): string[] {
  return [
    `${field} [`,
    tensors
      .map((t) =>
        [
          '  {',
          `    name: ${quoted(t.name)}`,
          `    data_type: ${t.dataType}`,
          `    dims: [ ${t.dims.join(', ')} ]`,
          '  }',
        ].join('\n'),
      )
      .join(',\n'),
    ']',
  ];
}

/**
 * The `config.pbtxt` of an ONNX graph in a Triton model repository: its name, the
 * `onnxruntime_onnx` platform, `max_batch_size`, its inputs and outputs (from the graph,
 * without the batch axis), dynamic batching, and a version policy serving the newest
 * version.
 *
 * @throws AekitError `InvalidArgument` for a batch size or delay out of range, or a tensor
 *   Triton cannot batch.
 */
export function tritonModelConfig(bytes: Uint8Array, options: TritonConfigOptions): string {
  const maxBatchSize = options.maxBatchSize ?? TRITON_MAX_BATCH_SIZE;
  const delay = options.maxQueueDelayMicroseconds ?? TRITON_MAX_QUEUE_DELAY_MICROSECONDS;
  if (!Number.isSafeInteger(maxBatchSize) || maxBatchSize < 1 || maxBatchSize > 2 ** 31 - 1) {
    throw aekitError(
      'InvalidArgument',
      `--max-batch-size must be a positive integer, got ${maxBatchSize}.`,
    );
  }
  if (!Number.isSafeInteger(delay) || delay < 0) {
    throw aekitError(
      'InvalidArgument',
      `The dynamic batching delay must be a whole number of microseconds, at least 0, got ${delay}.`,
    );
  }
  if (tritonModelName(options.name) !== options.name) {
    throw aekitError(
      'InvalidArgument',
      `"${options.name}" is not a Triton model name (letters, digits, "_", "-", "."; try "${tritonModelName(options.name)}").`,
    );
  }
  const { inputs, outputs } = tritonTensors(bytes);
  return `${[
    '# Triton model configuration written by aekit export --repository.',
    `name: ${quoted(options.name)}`,
    `platform: ${quoted(TRITON_ONNX_PLATFORM)}`,
    `max_batch_size: ${maxBatchSize}`,
    ...tensorEntries('input', inputs),
    ...tensorEntries('output', outputs),
    'dynamic_batching {',
    `  max_queue_delay_microseconds: ${delay}`,
    '}',
    'version_policy: { latest: { num_versions: 1 } }',
  ].join('\n')}\n`;
}
