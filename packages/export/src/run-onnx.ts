/** Runs exported graphs in ONNX Runtime for Node (CPU), to check them against tfjs. */

/** Options of {@link runOnnx}. */
export interface RunOnnxOptions {
  /** Graph input to feed (default: the first). */
  readonly inputName?: string;
  /** Graph output to read (default: the first). */
  readonly outputName?: string;
}

/** One output tensor of {@link runOnnx}. */
export interface OnnxOutput {
  /** Values in C order. */
  readonly data: Float32Array;
  /** Shape, batch first. */
  readonly dims: readonly number[];
}

/**
 * Runs `bytes` (an `.onnx` model with one float32 input) on `input` of shape `shape` with
 * ONNX Runtime's CPU execution provider and returns one output. `onnxruntime-node` is
 * loaded on first use, so converting never loads the native runtime.
 */
export async function runOnnx(
  bytes: Uint8Array,
  input: Float32Array,
  shape: readonly number[],
  options: RunOnnxOptions = {},
): Promise<OnnxOutput> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
  try {
    const inputName = options.inputName ?? session.inputNames[0]!;
    const outputName = options.outputName ?? session.outputNames[0]!;
    const result = await session.run({ [inputName]: new ort.Tensor('float32', input, [...shape]) });
    const out = result[outputName];
    if (!out) throw new RangeError(`The model has no output "${outputName}".`);
    return { data: out.data as Float32Array, dims: [...out.dims] };
  } finally {
    await session.release();
  }
}
