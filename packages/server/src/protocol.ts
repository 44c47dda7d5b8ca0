/**
 * The JSON objects of the Open Inference Protocol (KServe "v2", as NVIDIA Triton speaks it)
 * that the server reads and writes, and the checks that turn a request's tensors into
 * float32 batches, over REST: JSON, and the binary tensor data extension (a JSON header of
 * `Inference-Header-Content-Length` bytes, then raw little-endian tensor bytes).
 */

/** The datatype of every tensor aekit's graphs take and give. */
export const FP32 = 'FP32';

/** The header of the binary tensor data extension: the JSON header's length in bytes. */
export const BINARY_HEADER = 'inference-header-content-length';

/** Whether this machine stores floats little-endian, as the binary extension sends them. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const UTF8 = new TextDecoder();

/** An error the protocol answers with `{ "error": message }` and an HTTP status. */
export class ProtocolError extends Error {
  /** The HTTP status: 400 (bad request), 404 (no such model), 503 (busy), 504 (timed out). */
  readonly status: number;
  /** Seconds a client should wait before retrying (503), sent as `Retry-After`. */
  readonly retryAfter?: number;

  constructor(status: number, message: string, retryAfter?: number) {
    super(message);
    this.name = 'ProtocolError';
    this.status = status;
    if (retryAfter !== undefined) this.retryAfter = retryAfter;
  }
}

/** `$metadata_tensor`: a tensor of a model's metadata. */
export interface MetadataTensor {
  readonly name: string;
  readonly datatype: string;
  /** `-1` for a variable size (the batch axis). */
  readonly shape: readonly number[];
}

/** `$request_input`. */
export interface RequestInput {
  readonly name: string;
  readonly shape: readonly number[];
  readonly datatype: string;
  readonly data: unknown;
  readonly parameters?: Record<string, unknown>;
}

/** `$inference_request`. */
export interface InferenceRequest {
  readonly id?: string;
  readonly parameters?: Record<string, unknown>;
  readonly inputs: readonly RequestInput[];
  readonly outputs?: readonly { readonly name: string }[];
}

/** `$response_output`: `data`, or with the binary extension `parameters.binary_data_size`. */
export interface ResponseOutput {
  readonly name: string;
  readonly shape: readonly number[];
  readonly datatype: string;
  readonly data?: readonly number[];
  readonly parameters?: { readonly binary_data_size: number };
}

/** `$inference_response`. */
export interface InferenceResponse {
  readonly model_name: string;
  readonly model_version?: string;
  readonly id?: string;
  readonly outputs: readonly ResponseOutput[];
}

/** A float32 tensor with its shape, batch axis first. */
export interface Float32Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const bad = (message: string) => new ProtocolError(400, message);

/**
 * Writes `data` (flat or nested arrays, row-major) into `out` from `at`; returns the index
 * after the last value written, which may pass `out.length` (values past it are counted,
 * not written), so that a wrong count can be reported.
 */
function fill(data: unknown, out: Float32Array, at: number, name: string): number {
  if (!Array.isArray(data)) {
    throw bad(`input "${name}": "data" must be an array of numbers (flat or nested).`);
  }
  const length = data.length;
  const room = out.length;
  let i = at;
  for (let k = 0; k < length; k++) {
    const v: unknown = data[k];
    if (typeof v === 'number') {
      // v - v is 0 for finite numbers, NaN for NaN and the infinities.
      if (v - v !== 0) throw bad(`input "${name}" holds ${v}: values must be finite.`);
      if (i < room) out[i] = v;
      i++;
    } else if (Array.isArray(v)) {
      i = fill(v, out, i, name);
    } else {
      throw bad(`input "${name}" holds ${JSON.stringify(v)}: values must be finite numbers.`);
    }
  }
  return i;
}

/** The inputs and requested outputs of a request, checked against what the model declares. */
export interface CheckedRequest {
  readonly id?: string;
  /** Samples in this request (the batch axis of its inputs). */
  readonly rows: number;
  /** Input tensors by name, float32. */
  readonly inputs: Readonly<Record<string, Float32Tensor>>;
  /** The outputs to answer with, in the model's order. */
  readonly outputs: readonly string[];
  /** Those of `outputs` to answer as raw bytes (the binary extension); empty for none. */
  readonly binaryOutputs: readonly string[];
}

/**
 * Checks an inference request against a model's inputs and outputs: every input given
 * once, by name, with datatype FP32, a shape `[n, ...sample]` where the model's has `-1`
 * for the batch axis, `1 <= n <= maxBatchSize`, as many finite numbers as the shape holds;
 * and requested outputs the model has. With the binary extension, `binary` holds the bytes
 * after the JSON header: an input with `parameters.binary_data_size` takes that many of
 * them, in the order the inputs are listed, instead of `data`; outputs with
 * `parameters.binary_data` (or all, with the request's `parameters.binary_data_output`)
 * are answered as bytes.
 *
 * @throws ProtocolError 400 saying what is wrong.
 */
export function checkInferenceRequest(
  body: unknown,
  inputs: readonly MetadataTensor[],
  outputs: readonly MetadataTensor[],
  maxBatchSize: number,
  binary?: Uint8Array,
): CheckedRequest {
  if (!isObject(body)) throw bad('the request body must be a JSON object.');
  const id = body.id;
  if (id !== undefined && typeof id !== 'string') throw bad('"id" must be a string.');
  if (!Array.isArray(body.inputs)) throw bad('"inputs" must be an array of tensors.');
  const known = inputs.map((i) => `"${i.name}"`).join(', ');
  const given = new Map<string, unknown>();
  for (const input of body.inputs as unknown[]) {
    if (!isObject(input) || typeof input.name !== 'string') {
      throw bad('each input must be an object with a "name".');
    }
    if (!inputs.some((i) => i.name === input.name)) {
      throw bad(`unexpected input "${input.name}": the model's inputs are ${known}.`);
    }
    if (given.has(input.name)) throw bad(`input "${input.name}" is given twice.`);
    given.set(input.name, input);
  }
  // Where each input's bytes start in the binary section: inputs in the order listed.
  const offsets = new Map<string, number>();
  let used = 0;
  for (const [name, input] of given) {
    const size = binarySize(input as Record<string, unknown>, name);
    if (size === undefined) continue;
    if (binary === undefined) {
      throw bad(
        `input "${name}" has binary_data_size but the request has no binary data (send its JSON header's length in Inference-Header-Content-Length).`,
      );
    }
    offsets.set(name, used);
    used += size;
  }
  if (binary !== undefined && used !== binary.length) {
    throw bad(
      `the request's binary data holds ${binary.length} bytes but its inputs' binary_data_size add up to ${used}.`,
    );
  }
  let rows: number | undefined;
  const tensors: Record<string, Float32Tensor> = {};
  for (const declared of inputs) {
    const input = given.get(declared.name) as Record<string, unknown> | undefined;
    if (!input) throw bad(`missing input "${declared.name}": the model's inputs are ${known}.`);
    const at = offsets.get(declared.name);
    const tensor = checkTensor(
      input,
      declared,
      maxBatchSize,
      at === undefined ? undefined : binary!.subarray(at),
    );
    if (rows !== undefined && tensor.shape[0] !== rows) {
      throw bad(`the inputs have different batch sizes (${rows} and ${tensor.shape[0]}).`);
    }
    rows = tensor.shape[0]!;
    tensors[declared.name] = tensor;
  }
  const all = isObject(body.parameters) && body.parameters.binary_data_output === true;
  const [names, binaryOutputs] = requestedOutputs(body.outputs, outputs, all);
  return {
    ...(id !== undefined ? { id } : {}),
    rows: rows ?? 0,
    inputs: tensors,
    outputs: names,
    binaryOutputs,
  };
}

/** An input's `parameters.binary_data_size`, checked; undefined when it has none. */
function binarySize(input: Record<string, unknown>, name: string): number | undefined {
  const size = isObject(input.parameters) ? input.parameters.binary_data_size : undefined;
  if (size === undefined) return undefined;
  if (!Number.isInteger(size) || (size as number) < 0) {
    throw bad(`input "${name}": "binary_data_size" must be an integer >= 0.`);
  }
  return size as number;
}

function checkTensor(
  input: Record<string, unknown>,
  declared: MetadataTensor,
  maxBatchSize: number,
  bytes?: Uint8Array,
): Float32Tensor {
  const { name } = declared;
  if (input.datatype !== declared.datatype) {
    throw bad(
      `input "${name}" has datatype ${JSON.stringify(input.datatype)}; the model takes ${declared.datatype}.`,
    );
  }
  const shape = input.shape;
  const expected = `[${declared.shape.map((d) => (d < 0 ? 'n' : d)).join(', ')}]`;
  if (
    !Array.isArray(shape) ||
    shape.length !== declared.shape.length ||
    !shape.every((d, i) =>
      declared.shape[i]! < 0 ? Number.isInteger(d) && d >= 1 : d === declared.shape[i],
    )
  ) {
    throw bad(
      `input "${name}" has shape ${JSON.stringify(shape)}; the model takes ${expected} with n >= 1.`,
    );
  }
  const rows = shape[0] as number;
  if (rows > maxBatchSize) {
    throw bad(
      `input "${name}" holds ${rows} samples; this model takes at most ${maxBatchSize} (max_batch_size) a request.`,
    );
  }
  const size = (shape as number[]).reduce((a, b) => a * b, 1);
  if (bytes !== undefined) {
    const byteSize = binarySize(input, name)!;
    if (input.data !== undefined) throw bad(`input "${name}" has both "data" and binary data.`);
    if (byteSize !== size * 4) {
      throw bad(
        `input "${name}" has shape ${JSON.stringify(shape)} (${size} FP32 values, ${size * 4} bytes) but binary_data_size ${byteSize}.`,
      );
    }
    return { data: readFloats(bytes, size), shape: shape as number[] };
  }
  const data = new Float32Array(size);
  const count = fill(input.data, data, 0, name);
  if (count !== size) {
    throw bad(
      `input "${name}" has shape ${JSON.stringify(shape)} (${size} values) but its data holds ${count}.`,
    );
  }
  return { data, shape: shape as number[] };
}

/**
 * `size` little-endian float32 values from the start of `bytes`: a view of them where they
 * are aligned (nothing writes to a request's body), else a copy.
 */
function readFloats(bytes: Uint8Array, size: number): Float32Array {
  if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) {
    return new Float32Array(bytes.buffer, bytes.byteOffset, size);
  }
  const data = new Float32Array(size);
  if (LITTLE_ENDIAN) new Uint8Array(data.buffer).set(bytes.subarray(0, size * 4));
  else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, size * 4);
    for (let i = 0; i < size; i++) data[i] = view.getFloat32(i * 4, true);
  }
  return data;
}

/** The outputs to answer, in the model's order, and those of them to answer as bytes. */
function requestedOutputs(
  requested: unknown,
  outputs: readonly MetadataTensor[],
  allBinary: boolean,
): [string[], string[]] {
  const all = outputs.map((o) => o.name);
  if (requested === undefined) return [all, allBinary ? all : []];
  if (!Array.isArray(requested)) throw bad('"outputs" must be an array of { "name" }.');
  const names = new Set<string>();
  const binary = new Set<string>();
  for (const r of requested as unknown[]) {
    if (!isObject(r) || typeof r.name !== 'string') {
      throw bad('each requested output must be an object with a "name".');
    }
    if (!all.includes(r.name)) {
      throw bad(
        `unexpected output "${r.name}": the model's outputs are ${all.map((n) => `"${n}"`).join(', ')}.`,
      );
    }
    names.add(r.name);
    const asked = isObject(r.parameters) ? r.parameters.binary_data : undefined;
    if (asked === true || (asked === undefined && allBinary)) binary.add(r.name);
  }
  const answered = all.filter((n) => names.has(n));
  return [answered, answered.filter((n) => binary.has(n))];
}

/** A float32 tensor as a `$response_output` (flat data, row-major). */
export function responseOutput(name: string, tensor: Float32Tensor): ResponseOutput {
  return { name, shape: [...tensor.shape], datatype: FP32, data: Array.from(tensor.data) };
}

/** A float32 tensor as a `$response_output` whose data follows the JSON header as bytes. */
export function binaryResponseOutput(name: string, tensor: Float32Tensor): ResponseOutput {
  return {
    name,
    shape: [...tensor.shape],
    datatype: FP32,
    parameters: { binary_data_size: tensor.data.byteLength },
  };
}

/** A tensor's values as little-endian bytes (a view where this machine is little-endian). */
export function tensorBytes(tensor: Float32Tensor): Uint8Array {
  const { data } = tensor;
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const bytes = new Uint8Array(data.byteLength);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  return bytes;
}

/**
 * Splits a request of the binary extension: the JSON header (its first `headerLength`
 * bytes, parsed) and the bytes after it.
 *
 * @throws ProtocolError 400 when the length is not an integer within the body, or the
 *   header is not JSON.
 */
export function splitBinaryRequest(
  body: Uint8Array,
  headerLength: string,
): { header: unknown; binary: Uint8Array } {
  const length = Number(headerLength);
  if (!/^\d+$/.test(headerLength) || length > body.length) {
    throw bad(
      `Inference-Header-Content-Length is ${JSON.stringify(headerLength)}: it must be the JSON header's length in bytes, at most the body's ${body.length}.`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(UTF8.decode(body.subarray(0, length)));
  } catch (err) {
    throw bad(`the request's JSON header is not JSON: ${(err as Error).message}`);
  }
  return { header, binary: body.subarray(length) };
}
