/**
 * Runs exported graphs in ONNX Runtime on the CPU, to check them against tfjs: with
 * onnxruntime-node where the app installed it (an optional peer: its install script
 * downloads CUDA providers on Linux), otherwise with onnxruntime-web's WebAssembly build,
 * which runs in Node and is a dependency of this package.
 */

/** The ONNX Runtime builds that can run the checks. */
export const ONNX_RUNTIMES = Object.freeze(['onnxruntime-node', 'onnxruntime-web'] as const);

/** One of {@link ONNX_RUNTIMES}. */
export type OnnxRuntimeName = (typeof ONNX_RUNTIMES)[number];

/**
 * Which ONNX Runtime to run on: `'auto'` (default) = onnxruntime-node when it loads, else
 * onnxruntime-web's WebAssembly build.
 */
export type OnnxRuntimeChoice = OnnxRuntimeName | 'auto';

/** What {@link onnxRuntime} loaded. */
export interface OnnxRuntimeInfo {
  /** The package. */
  readonly name: OnnxRuntimeName;
  /** Its version. */
  readonly version: string;
  /** The execution provider the checks use: `cpu` (native) or `wasm`. */
  readonly executionProvider: 'cpu' | 'wasm';
}

/** Options of {@link runOnnx}. */
export interface RunOnnxOptions {
  /** Graph input to feed (default: the first). */
  readonly inputName?: string;
  /** Graph output to read (default: the first). */
  readonly outputName?: string;
  /** The ONNX Runtime to run on (default `'auto'`). */
  readonly runtime?: OnnxRuntimeChoice;
}

/** Options of {@link runOnnxOutputs}. */
export interface RunOnnxOutputsOptions {
  /** Graph input to feed (default: the first). */
  readonly inputName?: string;
  /** Graph outputs to read, in the order returned (default: every output, in graph order). */
  readonly outputNames?: readonly string[];
  /** The ONNX Runtime to run on (default `'auto'`). */
  readonly runtime?: OnnxRuntimeChoice;
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

/** An ONNX Runtime package: both builds export onnxruntime-common's API. */
type OrtPackage = typeof import('onnxruntime-web');

interface LoadedRuntime {
  readonly info: OnnxRuntimeInfo;
  readonly ort: OrtPackage;
}

/** Each build, imported on first use; a failed import is forgotten so the next call retries. */
const loaded = new Map<OnnxRuntimeName, Promise<LoadedRuntime>>();

function load(name: OnnxRuntimeName): Promise<LoadedRuntime> {
  let pending = loaded.get(name);
  if (!pending) {
    pending = (
      name === 'onnxruntime-node' ? import('onnxruntime-node') : import('onnxruntime-web')
    ).then(
      (module) => {
        const ort = module as unknown as OrtPackage;
        // One thread: the checks run small batches, and worker threads only cost start-up.
        if (name === 'onnxruntime-web') ort.env.wasm.numThreads = 1;
        const versions = ort.env.versions as Readonly<Record<string, string | undefined>>;
        const version = versions.node ?? versions.web ?? versions.common;
        return {
          ort,
          info: Object.freeze({
            name,
            version: version ?? 'unknown',
            executionProvider: name === 'onnxruntime-node' ? 'cpu' : 'wasm',
          }),
        };
      },
      (err: unknown) => {
        loaded.delete(name);
        throw err;
      },
    );
    loaded.set(name, pending);
  }
  return pending;
}

/** Loads the runtime `choice` names; `'auto'` falls back to onnxruntime-web. */
async function loadRuntime(choice: OnnxRuntimeChoice = 'auto'): Promise<LoadedRuntime> {
  if (choice !== 'auto') return load(choice);
  try {
    return await load('onnxruntime-node');
  } catch {
    return load('onnxruntime-web');
  }
}

/**
 * Loads the ONNX Runtime the checks run on and says which it is: for `'auto'` (default),
 * onnxruntime-node when the app installed it, else onnxruntime-web's WebAssembly build.
 *
 * @throws Error when the runtime asked for cannot be imported.
 */
export async function onnxRuntime(choice: OnnxRuntimeChoice = 'auto'): Promise<OnnxRuntimeInfo> {
  return (await loadRuntime(choice)).info;
}

/**
 * Runs `bytes` (an `.onnx` model with one float32 input) on `input` of shape `shape` with
 * ONNX Runtime on the CPU and returns the outputs asked for (default: all of them, in the
 * graph's order). The runtime (see {@link onnxRuntime}) is loaded on first use, so
 * converting never loads it.
 *
 * @throws RangeError when the model has no output of a name asked for.
 */
export async function runOnnxOutputs(
  bytes: Uint8Array,
  input: Float32Array,
  shape: readonly number[],
  options: RunOnnxOutputsOptions = {},
): Promise<NamedOnnxOutput[]> {
  const { ort, info } = await loadRuntime(options.runtime);
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: [info.executionProvider],
  });
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
 * ONNX Runtime on the CPU and returns one output (default: the first); see
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
    ...(options.runtime !== undefined ? { runtime: options.runtime } : {}),
  });
  return { data: out!.data, dims: out!.dims };
}
