import * as tf from '@tensorflow/tfjs-core';
import {
  getKernel,
  type KernelFunc,
  registerKernel,
  type TensorInfo,
  unregisterKernel,
  util,
} from '@tensorflow/tfjs-core';

/** The kernel name of one fused Adam step for one variable: outputs [w', m', v']. */
export const ADAM_KERNEL = 'AekitAdamStep';

/**
 * The kernel name of the fused binary cross-entropy from logits: inputs `logits`, `target`
 * (same size), attribute `scale`; outputs [scale * sum of the losses (a scalar),
 * scale * (sigmoid(logits) - target) (the gradient of that scalar)].
 */
export const SIGMOID_BCE_KERNEL = 'AekitSigmoidBce';

/** The attributes of {@link ADAM_KERNEL}. */
export interface AdamStepAttrs {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** beta1^t and beta2^t for the step t (counted from 1) being taken. */
  readonly beta1Power: number;
  readonly beta2Power: number;
}

/** Float32 buffers of one backend, by tensor; `pointer` only where they live in a wasm heap. */
interface Buffers {
  read(t: TensorInfo): Float32Array;
  output(shape: number[]): TensorInfo;
  /** The SIMD kernels, when the backend's memory can be shared with them. */
  readonly simd?: SimdKernels;
  pointer(t: TensorInfo): number;
}

/** The image and output sizes the window kernels of kernels.c take first, in their order. */
type WindowSizes = [
  batch: number,
  inH: number,
  inW: number,
  channels: number,
  outH: number,
  outW: number,
];

/** The window geometry of patches() and max_pool_grad(): the sizes, the window, the strides. */
export type ConvWindow = [
  ...sizes: WindowSizes,
  filterH: number,
  filterW: number,
  strideH: number,
  strideW: number,
];

/**
 * A max pooling kernel over side-by-side windows: two input pointers (x, or dy and the
 * offsets), one output, then the sizes and the window.
 */
type PoolKernel = (
  ...args: [a: number, b: number, out: number, ...sizes: WindowSizes, poolH: number, poolW: number]
) => void;

/** The exports of kernels.wasm (see kernels.c); arguments are heap offsets and sizes. */
export interface SimdKernels {
  /** C = A B, B [k, n] and C [m, n] row-major, A read as a(i, p) = a[i aRow + p aCol]. */
  gemm(
    a: number,
    b: number,
    c: number,
    m: number,
    n: number,
    k: number,
    aRow: number,
    aCol: number,
  ): void;
  selu(x: number, y: number, n: number): void;
  selu_grad(dy: number, y: number, dx: number, n: number): void;
  elu(x: number, y: number, n: number): void;
  elu_grad(dy: number, y: number, dx: number, n: number): void;
  column_sums(x: number, out: number, rows: number, cols: number): void;
  bias_activation(z: number, b: number, y: number, rows: number, cols: number, act: number): void;
  bias_activation_grad(
    dy: number,
    y: number,
    dz: number,
    db: number,
    rows: number,
    cols: number,
    act: number,
  ): void;
  sigmoid_bce(x: number, z: number, grad: number, n: number, scale: number): number;
  adam(
    w: number,
    m: number,
    v: number,
    g: number,
    wOut: number,
    mOut: number,
    vOut: number,
    n: number,
    beta1: number,
    beta2: number,
    step: number,
    correction2: number,
    epsilon: number,
  ): void;
  patches(
    ...args: [
      image: number,
      cols: number,
      ...window: ConvWindow,
      dilationH: number,
      dilationW: number,
      top: number,
      left: number,
      gather: number,
    ]
  ): void;
  conv_one_channel(
    x: number,
    w: number,
    bias: number,
    y: number,
    batch: number,
    inH: number,
    inW: number,
    outH: number,
    outW: number,
    outC: number,
    filterH: number,
    filterW: number,
    strideH: number,
    strideW: number,
    dilationH: number,
    dilationW: number,
    top: number,
    left: number,
  ): void;
  max_pool_argmax: PoolKernel;
  max_pool_argmax_grad: PoolKernel;
  max_pool_grad(
    ...args: [x: number, dy: number, dx: number, ...window: ConvWindow, top: number, left: number]
  ): void;
}

interface WasmBackend {
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  wasm: {
    HEAPU8: Uint8Array;
    wasmMemory?: WebAssembly.Memory;
    asm?: { memory?: WebAssembly.Memory };
  };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
}

interface CpuBackend {
  data: { get(dataId: object): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

/** The compiled kernels.wasm, by whether it is the build for shared memory (null: none). */
const simdModules = new Map<boolean, WebAssembly.Module | null>();
const simdInstances = new WeakMap<WebAssembly.Memory, SimdKernels>();

/**
 * Hands the SIMD kernels' compiled module to the fused kernels where they cannot read it
 * from this package's files, that is in a browser (see `installFastKernels` of the browser
 * entry); `shared`: the build for the shared memory of tfjs's multi-threaded build.
 */
export function provideSimdModule(module: WebAssembly.Module, shared = false): void {
  simdModules.set(shared, module);
}

/**
 * kernels.wasm instantiated on `memory` (tfjs's heap; kernels-shared.wasm for the shared
 * memory of the multi-threaded build), or undefined without WebAssembly SIMD or without the
 * module (a browser where {@link provideSimdModule} was not called).
 */
function simdFor(memory: WebAssembly.Memory | undefined): SimdKernels | undefined {
  if (!memory) return undefined;
  let kernels = simdInstances.get(memory);
  if (kernels) return kernels;
  const shared =
    typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  if (!simdModules.has(shared)) simdModules.set(shared, readSimdModule(shared));
  const module = simdModules.get(shared);
  if (!module) return undefined;
  kernels = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as SimdKernels;
  simdInstances.set(memory, kernels);
  return kernels;
}

/**
 * kernels.wasm (or kernels-shared.wasm) compiled from this package's files, in Node; null
 * in a browser or without WebAssembly SIMD. Node's fs is reached through
 * process.getBuiltinModule, so that this module bundles for browsers, where the page
 * provides the module instead ({@link provideSimdModule}).
 */
function readSimdModule(shared: boolean): WebAssembly.Module | null {
  const file = shared ? './simd/kernels-shared.wasm' : './simd/kernels.wasm';
  try {
    const fs = (
      globalThis as { process?: { getBuiltinModule?(id: string): unknown } }
    ).process?.getBuiltinModule?.('node:fs') as typeof import('node:fs') | undefined;
    if (!fs) return null;
    return new WebAssembly.Module(fs.readFileSync(new URL(file, import.meta.url)));
  } catch {
    return null;
  }
}

/**
 * Whether the fused cross-entropy is worth using on the current backend: always on cpu
 * (one JavaScript pass instead of ten), on wasm only with the SIMD module (JavaScript's
 * Math.exp is slower than tfjs's separate wasm kernels).
 */
export function canFuseSigmoidBce(): boolean {
  const name = tf.getBackend();
  if (!getKernel(SIGMOID_BCE_KERNEL, name)) return false;
  if (name !== 'wasm') return true;
  return simdFor(wasmMemory(tf.backend() as unknown as WasmBackend)) !== undefined;
}

/** The SIMD kernels sharing the memory of tfjs's wasm `backend`, when they can run. */
export function wasmSimdKernels(backend: unknown): SimdKernels | undefined {
  return simdFor(wasmMemory(backend as WasmBackend));
}

/** tfjs's wasm memory: created by the module (single-threaded) or given to it (threaded). */
function wasmMemory(backend: WasmBackend): WebAssembly.Memory | undefined {
  return backend.wasm.wasmMemory ?? backend.wasm.asm?.memory;
}

const BUFFERS: Readonly<Record<string, (backend: unknown) => Buffers>> = {
  wasm: (backend) => {
    const b = backend as WasmBackend;
    const pointer = (t: TensorInfo) => b.dataIdMap.get(t.dataId).memoryOffset;
    return {
      read: (t) => new Float32Array(b.wasm.HEAPU8.buffer, pointer(t), util.sizeFromShape(t.shape)),
      output: (shape) => b.makeOutput(shape, 'float32'),
      simd: simdFor(wasmMemory(b)),
      pointer,
    };
  },
  cpu: (backend) => {
    const b = backend as CpuBackend;
    return {
      read: (t) => b.data.get(t.dataId).values,
      output: (shape) =>
        b.makeTensorInfo(shape, 'float32', new Float32Array(util.sizeFromShape(shape))),
      pointer: () => {
        throw new Error('the cpu backend has no heap');
      },
    };
  },
};

/**
 * One Adam step for one variable in a single pass over its elements, where tfjs's
 * `AdamOptimizer` runs twelve element-wise kernels (each a pass over memory and a trip
 * through the engine): for the small dense models aekit trains, those kernels and their
 * bookkeeping cost more than the matrix products. Same formula as tfjs:
 *   m' = b1 m + (1 - b1) g;  v' = b2 v + (1 - b2) g²;
 *   w' = w - lr (m' / (1 - b1^t)) / (sqrt(v' / (1 - b2^t)) + eps)
 * in WebAssembly SIMD on the wasm backend, in a JavaScript loop elsewhere.
 */
function adamStep(buffers: (backend: unknown) => Buffers): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { value, m, v, gradient } = inputs as Record<string, TensorInfo>;
    const a = attrs as unknown as AdamStepAttrs;
    const io = buffers(backend);
    const shape = [...value!.shape];
    const step = a.learningRate / (1 - a.beta1Power);
    const correction2 = 1 / (1 - a.beta2Power);
    const n = util.sizeFromShape(shape);
    // Always new buffers, never the variables' own: tfjs treats a tensor's buffer as fixed
    // once written, and kernels cache by tensor (tfjs-backend-wasm's untransposed product
    // keeps XNNPACK's packing of its weights operand per tensor), so a step written into
    // the old buffers would leave later products on the old weights.
    // Allocate first: a wasm allocation may grow the heap and detach earlier views.
    const outs = [io.output(shape), io.output(shape), io.output(shape)] as const;
    if (io.simd) {
      const p = io.pointer;
      io.simd.adam(
        ...([value!, m!, v!, gradient!, ...outs].map(p) as [
          number,
          number,
          number,
          number,
          number,
          number,
          number,
        ]),
        n,
        a.beta1,
        a.beta2,
        step,
        correction2,
        a.epsilon,
      );
      return [...outs];
    }
    const [w1, m1, v1] = outs.map((t) => io.read(t)) as [Float32Array, Float32Array, Float32Array];
    const [w, m0, v0, g] = [value!, m!, v!, gradient!].map((t) => io.read(t)) as Float32Array[];
    const { beta1, beta2, epsilon } = a;
    for (let i = 0; i < n; i++) {
      const gi = g![i]!;
      const mi = beta1 * m0![i]! + (1 - beta1) * gi;
      const vi = beta2 * v0![i]! + (1 - beta2) * gi * gi;
      m1[i] = mi;
      v1[i] = vi;
      w1[i] = w![i]! - (step * mi) / (Math.sqrt(vi * correction2) + epsilon);
    }
    return [...outs];
  };
}

/**
 * The binary cross-entropy of `target` against sigmoid(`logits`) and its gradient in one
 * pass, where composing tfjs ops takes ten kernels and two passes of exp/log1p (the
 * largest cost of a training step of a small dense autoencoder on the wasm backend).
 * Per value: loss = max(x, 0) - x z + log(1 + exp(-|x|)), gradient = sigmoid(x) - z.
 */
function sigmoidBce(buffers: (backend: unknown) => Buffers): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { logits, target } = inputs as Record<string, TensorInfo>;
    const scale = (attrs as { scale: number }).scale;
    const io = buffers(backend);
    const n = util.sizeFromShape(logits!.shape);
    const grad = io.output([...logits!.shape]);
    const loss = io.output([]);
    let sum = 0;
    if (io.simd) {
      sum = io.simd.sigmoid_bce(
        io.pointer(logits!),
        io.pointer(target!),
        io.pointer(grad),
        n,
        scale,
      );
    } else {
      const [x, z, g] = [logits!, target!, grad].map((t) => io.read(t)) as Float32Array[];
      for (let i = 0; i < n; i++) {
        const xi = x![i]!;
        const zi = z![i]!;
        const e = Math.exp(-Math.abs(xi));
        sum += Math.max(xi, 0) - xi * zi + Math.log1p(e);
        g![i] = ((xi >= 0 ? 1 : e) / (1 + e) - zi) * scale;
      }
    }
    io.read(loss)[0] = sum * scale;
    return [loss, grad];
  };
}

/** Kernel names whose wasm kernel was replaced. */
const overridden = new Set<string>();

/**
 * Replaces the wasm kernel `kernelName` by `simdKernel` where that returns a result (it
 * gets the SIMD kernels and the heap); otherwise, or without SIMD, the original runs.
 */
function overrideWasmKernel(
  kernelName: string,
  simdKernel: (
    args: Parameters<KernelFunc>[0],
    simd: SimdKernels,
    io: Buffers,
  ) => TensorInfo | undefined,
): void {
  const original = getKernel(kernelName, 'wasm');
  if (overridden.has(kernelName) || !original) return;
  const kernelFunc: KernelFunc = (args) => {
    const io = BUFFERS.wasm!(args.backend);
    return (io.simd && simdKernel(args, io.simd, io)) || original.kernelFunc(args);
  };
  unregisterKernel(kernelName, 'wasm');
  registerKernel({ ...original, kernelFunc });
  overridden.add(kernelName);
}

/**
 * `Sum` over leading axes (a bias gradient summed over the batch), which tfjs-backend-wasm
 * runs as a transpose and then a sum (0.55 ms for 256 x 784), in one streaming SIMD pass.
 */
function columnSums(
  args: Parameters<KernelFunc>[0],
  simd: SimdKernels,
  io: Buffers,
): TensorInfo | undefined {
  const x = (args.inputs as Record<string, TensorInfo>).x!;
  const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
  if (x.dtype !== 'float32') return undefined;
  const axes = util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const k = axes.length;
  if (k === 0 || k >= x.shape.length || axes.some((a, i) => a !== i)) return undefined;
  const outShape = keepDims
    ? [...x.shape.slice(0, k).map(() => 1), ...x.shape.slice(k)]
    : x.shape.slice(k);
  const out = io.output(outShape);
  const rows = util.sizeFromShape(x.shape.slice(0, k));
  simd.column_sums(io.pointer(x), io.pointer(out), rows, util.sizeFromShape(x.shape.slice(k)));
  return out;
}

/**
 * An element-wise wasm kernel in one SIMD pass, for float32 inputs of one size (the first
 * input's shape is the output's): `inputs` names the kernel's inputs in the order
 * `simdKernel` takes them.
 */
function elementwise(
  inputs: readonly string[],
  simdKernel: (simd: SimdKernels) => (...pointers: number[]) => void,
) {
  return (
    args: Parameters<KernelFunc>[0],
    simd: SimdKernels,
    io: Buffers,
  ): TensorInfo | undefined => {
    const given = inputs.map((name) => (args.inputs as Record<string, TensorInfo>)[name]!);
    const shape = given[0]!.shape;
    const n = util.sizeFromShape(shape);
    if (given.some((t) => t.dtype !== 'float32' || util.sizeFromShape(t.shape) !== n)) {
      return undefined;
    }
    const out = io.output([...shape]);
    simdKernel(simd)(...given.map((t) => io.pointer(t)), io.pointer(out), n);
    return out;
  };
}

/** tfjs's SELU constants (ops/selu_util): the scale, and the scale times alpha. */
export const SELU_SCALE = 1.0507009873554805;
export const SELU_SCALE_ALPHA = 1.758099340847377;

/** The kernel name of dy times selu'(x) from the output y = selu(x) (inputs `dy`, `y`). */
const SELU_GRAD_KERNEL = 'AekitSeluGrad';

const seluGradSimd = elementwise(['dy', 'y'], (simd) => simd.selu_grad);
const seluGrad: KernelFunc = (args) => {
  const io = BUFFERS.wasm!(args.backend);
  return seluGradSimd(args, io.simd!, io)!;
};

let seluGradInstalled = false;

/**
 * The gradient of `Selu`, from its output y rather than its input x: selu'(x) is the scale
 * where y > 0 and scale alpha exp(x) = y + scale alpha elsewhere, as tfjs's `EluGrad` does
 * for elu. tfjs's own gradient recomputes exp(x) in seven kernels (greater, exp, cast,
 * three multiplications and a select); this one needs no exp, and on wasm with SIMD it is
 * one kernel, a single pass. Registered for every backend (the others get the same formula
 * in four tfjs ops). The output is saved instead of the input: it is kept for the next
 * layer's weight gradient anyway.
 */
function installSeluGradient(): void {
  const original = tf.getGradient('Selu');
  if (seluGradInstalled || !original) return;
  registerKernel({ kernelName: SELU_GRAD_KERNEL, backendName: 'wasm', kernelFunc: seluGrad });
  tf.registerGradient({
    kernelName: original.kernelName,
    outputsToSave: [true],
    gradFunc: (dy, saved) => {
      const y = saved[0]!;
      const fused =
        tf.getBackend() === 'wasm' &&
        y.dtype === 'float32' &&
        wasmSimdKernels(tf.backend()) !== undefined;
      if (fused) {
        return {
          x: () => tf.engine().runKernel(SELU_GRAD_KERNEL, { dy: dy as tf.Tensor, y }) as tf.Tensor,
        };
      }
      return {
        x: () =>
          tf.mul(
            dy as tf.Tensor,
            tf.where(tf.greater(y, 0), tf.scalar(SELU_SCALE), tf.add(y, SELU_SCALE_ALPHA)),
          ),
      };
    },
  });
  seluGradInstalled = true;
}

/**
 * The activations {@link biasActivation} fuses with the bias, in the numbering of kernels.c:
 * each one's gradient follows from its output alone.
 */
const BIAS_ACTIVATIONS = ['linear', 'relu', 'elu', 'selu'] as const;

const BIAS_ACTIVATION_KERNEL = 'AekitBiasActivation';
const BIAS_ACTIVATION_GRAD_KERNEL = 'AekitBiasActivationGrad';

/** Rows and columns of `z` as a matrix with its last axis as the columns. */
function asMatrix(z: TensorInfo): [number, number] {
  const cols = z.shape.at(-1) ?? 1;
  return [cols === 0 ? 0 : util.sizeFromShape(z.shape) / cols, cols];
}

const biasActivationKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { z, bias } = inputs as Record<string, TensorInfo>;
  const io = BUFFERS.wasm!(backend);
  const y = io.output([...z!.shape]);
  const [rows, cols] = asMatrix(z!);
  const act = (attrs as { activation: number }).activation;
  io.simd!.bias_activation(io.pointer(z!), io.pointer(bias!), io.pointer(y), rows, cols, act);
  return y;
};

const biasActivationGradKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, y } = inputs as Record<string, TensorInfo>;
  const io = BUFFERS.wasm!(backend);
  const [rows, cols] = asMatrix(y!);
  // Allocate both first: a wasm allocation may grow the heap and detach earlier views.
  const dz = io.output([...y!.shape]);
  const db = io.output([cols]);
  const act = (attrs as { activation: number }).activation;
  const p = io.pointer;
  io.simd!.bias_activation_grad(p(dy!), p(y!), p(dz), p(db), rows, cols, act);
  return [dz, db];
};

/**
 * `activation(z + bias)` for a layer's pre-activation `z` (channels last) and its bias (one
 * value per channel), in one SIMD pass on wasm, and its backward pass in one more: the
 * gradient of z from the output (as {@link installSeluGradient}) and the bias gradient (the
 * sums of that over the rows) together. tfjs takes four passes over the layer's output: the
 * addition, the activation, the activation's gradient and the sum; on a convolution layer's
 * output at batch 128 each pass is several megabytes of memory traffic. Undefined where it
 * does not apply (another backend, no SIMD, an activation outside {@link BIAS_ACTIVATIONS},
 * a bias that is not one value per channel): the caller then composes tfjs's ops.
 */
export function biasActivation(
  z: tf.Tensor,
  bias: tf.Tensor,
  activation: string,
): tf.Tensor | undefined {
  const code = (BIAS_ACTIVATIONS as readonly string[]).indexOf(activation);
  if (
    code < 0 ||
    tf.getBackend() !== 'wasm' ||
    !getKernel(BIAS_ACTIVATION_KERNEL, 'wasm') ||
    wasmSimdKernels(tf.backend()) === undefined ||
    z.dtype !== 'float32' ||
    bias.dtype !== 'float32' ||
    bias.rank !== 1 ||
    z.rank < 2 ||
    z.shape.at(-1) !== bias.shape[0]
  ) {
    return undefined;
  }
  const attrs = { activation: code } as unknown as tf.NamedAttrMap;
  const fused = tf.customGrad((x, b, save) => {
    const y = tf
      .engine()
      .runKernel(
        BIAS_ACTIVATION_KERNEL,
        { z: x as tf.Tensor, bias: b as tf.Tensor },
        attrs,
      ) as tf.Tensor;
    (save as tf.GradSaveFunc)([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf
          .engine()
          .runKernel(BIAS_ACTIVATION_GRAD_KERNEL, { dy, y: saved[0]! }, attrs) as tf.Tensor[],
    };
  });
  return fused(z, bias);
}

/** Registers the fused kernels for the wasm and cpu backends (once). */
export function registerFusedKernels(): void {
  overrideWasmKernel('Sum', columnSums);
  // tfjs-backend-wasm's Selu costs 0.13 ms for 256 x 100; its Elu computes exp in a scalar loop.
  overrideWasmKernel(
    'Selu',
    elementwise(['x'], (simd) => simd.selu),
  );
  overrideWasmKernel(
    'Elu',
    elementwise(['x'], (simd) => simd.elu),
  );
  overrideWasmKernel(
    'EluGrad',
    elementwise(['dy', 'y'], (simd) => simd.elu_grad),
  );
  installSeluGradient();
  for (const [kernelName, kernelFunc] of [
    [BIAS_ACTIVATION_KERNEL, biasActivationKernel],
    [BIAS_ACTIVATION_GRAD_KERNEL, biasActivationGradKernel],
  ] as const) {
    if (!getKernel(kernelName, 'wasm'))
      registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
  for (const [backendName, buffers] of Object.entries(BUFFERS)) {
    for (const [kernelName, make] of [
      [ADAM_KERNEL, adamStep],
      [SIGMOID_BCE_KERNEL, sigmoidBce],
    ] as const) {
      if (getKernel(kernelName, backendName)) continue;
      registerKernel({ kernelName, backendName, kernelFunc: make(buffers) });
    }
  }
}
