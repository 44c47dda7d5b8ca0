/**
 * The JSON objects of the Open Inference Protocol (KServe "v2", as NVIDIA Triton speaks it)
 * that the server reads and writes, and the checks that turn a request's tensors into
 * float32 batches. Only the REST/JSON side: no binary tensor extension.
 */

/** The datatype of every tensor aekit's graphs take and give. */
export const FP32 = 'FP32';

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

/** `$response_output`. */
export interface ResponseOutput {
  readonly name: string;
  readonly shape: readonly number[];
  readonly datatype: string;
  readonly data: readonly number[];
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

/** Flattens `data` (flat or nested arrays, row-major) into `out` from `at`; returns the next index. */
function flatten(data: unknown, out: number[], name: string): void {
  if (!Array.isArray(data)) {
    throw bad(`input "${name}": "data" must be an array of numbers (flat or nested).`);
  }
  for (const v of data) {
    if (Array.isArray(v)) flatten(v, out, name);
    else if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw bad(`input "${name}" holds ${v}: values must be finite.`);
      out.push(v);
    } else {
      throw bad(`input "${name}" holds ${JSON.stringify(v)}: values must be finite numbers.`);
    }
  }
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
}

/**
 * Checks an inference request against a model's inputs and outputs: every input given
 * once, by name, with datatype FP32, a shape `[n, ...sample]` where the model's has `-1`
 * for the batch axis, `1 <= n <= maxBatchSize`, as many finite numbers as the shape holds;
 * and requested outputs the model has.
 *
 * @throws ProtocolError 400 saying what is wrong.
 */
export function checkInferenceRequest(
  body: unknown,
  inputs: readonly MetadataTensor[],
  outputs: readonly MetadataTensor[],
  maxBatchSize: number,
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
  let rows: number | undefined;
  const tensors: Record<string, Float32Tensor> = {};
  for (const declared of inputs) {
    const input = given.get(declared.name) as Record<string, unknown> | undefined;
    if (!input) throw bad(`missing input "${declared.name}": the model's inputs are ${known}.`);
    const tensor = checkTensor(input, declared, maxBatchSize);
    if (rows !== undefined && tensor.shape[0] !== rows) {
      throw bad(`the inputs have different batch sizes (${rows} and ${tensor.shape[0]}).`);
    }
    rows = tensor.shape[0]!;
    tensors[declared.name] = tensor;
  }
  return {
    ...(id !== undefined ? { id } : {}),
    rows: rows ?? 0,
    inputs: tensors,
    outputs: requestedOutputs(body.outputs, outputs),
  };
}

function checkTensor(
  input: Record<string, unknown>,
  declared: MetadataTensor,
  maxBatchSize: number,
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
  const values: number[] = [];
  flatten(input.data, values, name);
  const size = (shape as number[]).reduce((a, b) => a * b, 1);
  if (values.length !== size) {
    throw bad(
      `input "${name}" has shape ${JSON.stringify(shape)} (${size} values) but its data holds ${values.length}.`,
    );
  }
  return { data: Float32Array.from(values), shape: shape as number[] };
}

function requestedOutputs(requested: unknown, outputs: readonly MetadataTensor[]): string[] {
  const all = outputs.map((o) => o.name);
  if (requested === undefined) return all;
  if (!Array.isArray(requested)) throw bad('"outputs" must be an array of { "name" }.');
  const names = new Set<string>();
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
  }
  return all.filter((n) => names.has(n));
}

/** A float32 tensor as a `$response_output` (flat data, row-major). */
export function responseOutput(name: string, tensor: Float32Tensor): ResponseOutput {
  return { name, shape: [...tensor.shape], datatype: FP32, data: Array.from(tensor.data) };
}
