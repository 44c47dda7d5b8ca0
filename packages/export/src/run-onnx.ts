/** Runs exported graphs in ONNX Runtime for Node (CPU), to check them against tfjs. */

/** Options of {@link runOnnx}. */
export interface RunOnnxOptions {
  /** Graph input to feed (default: the first). */
  readonly inputName?: string;
  /** Graph output to read (default: the first). */
  readonly outputName?: string;
}

/** Options of {@link runOnnxOutputs}. */
export interface RunOnnxOutputsOptions {
  /** Graph input to feed (default: the first). */
  readonly inputName?: string;
  /** Graph outputs to read, in the order returned (default: every output, in graph order). */
  readonly outputNames?: readonly string[];
}

/** One output tensor of {@link runOnnx}. */
export interface OnnxOutput {
  /** Values in C order. */
  readonly data: Float32Array;
  /** Shape, batch first. */
  readonly dims: readonly number[];
}

/** One output tensor of {@link runOnnxOutputs}, with its graph output name. */
export interface NamedOnnxOutput extends OnnxOutput {
  /** Name of the graph output. */
  readonly name: string;
}

/**
 * Runs `bytes` (an `.onnx` model with one float32 input) on `input` of shape `shape` with
 * ONNX Runtime's CPU execution provider and returns the outputs asked for (default: all of
 * them, in the graph's order). `onnxruntime-node` is loaded on first use, so converting
 * never loads the native runtime.
 *
 * @throws RangeError when the model has no output of a name asked for.
 */
export async function runOnnxOutputs(
  bytes: Uint8Array,
  input: Float32Array,
  shape: readonly number[],
  options: RunOnnxOutputsOptions = {},
): Promise<NamedOnnxOutput[]> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
  try {
    const inputName = options.inputName ?? session.inputNames[0]!;
    const names = options.outputNames ?? session.outputNames;
    for (const name of names) {
      if (!session.outputNames.includes(name)) {
        throw new RangeError(
          `The model has no output "${name}" (its outputs: ${session.outputNames.join(', ')}).`,
        );
      }
    }
    const result = await session.run(
      { [inputName]: new ort.Tensor('float32', input, [...shape]) },
      [...names],
    );
    return names.map((name) => {
      const out = result[name]!;
      return { name, data: out.data as Float32Array, dims: [...out.dims] };
    });
  } finally {
    await session.release();
  }
}

/**
 * Runs `bytes` (an `.onnx` model with one float32 input) on `input` of shape `shape` with
 * ONNX Runtime's CPU execution provider and returns one output (default: the first); see
 * {@link runOnnxOutputs} for several.
 *
 * @throws RangeError when the model has no output `options.outputName`.
 */
export async function runOnnx(
  bytes: Uint8Array,
  input: Float32Array,
  shape: readonly number[],
  options: RunOnnxOptions = {},
): Promise<OnnxOutput> {
  const [out] = await runOnnxOutputs(bytes, input, shape, {
    ...(options.inputName !== undefined ? { inputName: options.inputName } : {}),
    ...(options.outputName !== undefined ? { outputNames: [options.outputName] } : {}),
  });
  return { data: out!.data, dims: out!.dims };
}
