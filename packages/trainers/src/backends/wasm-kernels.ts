import {
  broadcast_util,
  getKernel,
  type KernelConfig,
  type KernelFunc,
  type NamedTensorInfoMap,
  registerKernel,
  type TensorInfo,
  unregisterKernel,
  util,
} from '@tensorflow/tfjs-core';
import { type Blas, loadBlas } from './blas.js';
import { type SimdKernels, wasmSimdKernels } from './fused-kernels.js';
import { installWasmConvKernels } from './wasm-conv.js';

type DisposableBackend = { disposeData(dataId: object): boolean };
type SharingBackend = { incRef(dataId: object): void };

let installed = false;

/**
 * Replaces two wasm kernels of tfjs 4.22 that make training slow (results are unchanged):
 * - `BatchMatMul` / `_FusedMatMul`: see {@link installFastWasmMatMul};
 * - `Identity`: the engine clones every tensor it saves for the backward pass, and the wasm
 *   kernel copies the buffer each time (about 60 copies per step of a small dense
 *   autoencoder). Tensors are immutable, so the clone shares the buffer and counts a
 *   reference, as the cpu backend and the wasm `Reshape` kernel already do.
 * and adds the one convolution kernel it lacks, `Conv2DBackpropFilter` (see wasm-conv.ts).
 */
export function installFastWasmKernels(): void {
  installFastWasmMatMul();
  installWasmConvKernels(() => wasmBlas() !== null);
  if (identityInstalled) return;
  const original = getKernel('Identity', 'wasm');
  if (!original) return;
  const kernelFunc: KernelFunc = (args) => {
    const x = (args.inputs as Record<string, TensorInfo>).x!;
    if (x.dtype === 'string') return original.kernelFunc(args);
    (args.backend as unknown as SharingBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  unregisterKernel('Identity', 'wasm');
  registerKernel({ ...original, kernelFunc } as KernelConfig);
  identityInstalled = true;
}

let identityInstalled = false;

/** The BLAS the wasm products use, when one was found (see {@link loadBlas}). */
export function wasmBlas(): Blas | null {
  return installed ? activeBlas : null;
}

let activeBlas: Blas | null = null;
/** Whether the products should use BLAS where one is found (see {@link useWasmBlas}). */
let blasWanted = true;

/**
 * Switches the wasm products between BLAS (when one was found) and tfjs's own kernels, to
 * compare them, also before the wasm backend is loaded; returns whether BLAS is now in use.
 */
export function useWasmBlas(on: boolean): boolean {
  blasWanted = on;
  installFastWasmMatMul();
  activeBlas = on ? loadBlas() : null;
  return activeBlas !== null;
}

/**
 * Makes dense-layer training on the wasm backend fast, in one of three ways:
 * - with a CBLAS library on the machine (OpenBLAS, MKL, Accelerate; see {@link loadBlas}),
 *   `BatchMatMul` and `_FusedMatMul` call its `sgemm` on the tensors in the wasm heap,
 *   transposes included, then apply bias and activation with the wasm kernels;
 * - otherwise, on tfjs's single-threaded build with the SIMD kernels (kernels.c; in a
 *   browser once `installFastKernels` provided them), their `gemm` (see {@link simdMatMul}):
 *   3 to 7 times XNNPACK's speed on one thread on the 32-row products of a dense
 *   autoencoder's training step, 2 to 8 times on a convolution's (the multi-threaded build
 *   keeps XNNPACK, which spreads a product over its threads);
 * - otherwise: tfjs-backend-wasm hands a product to XNNPACK only when neither operand is
 *   transposed and runs a scalar loop about ten times slower for the rest. Backpropagation
 *   through a dense layer is made of transposed products (dW = xᵀ·dy, dx = dy·Wᵀ), so the
 *   operand is transposed explicitly (a cheap copy) and the original kernel is called
 *   untransposed.
 * Results agree with the cpu backend to float32 rounding (tested on random shapes).
 * `AEKIT_BLAS=off` leaves the products to the other two.
 */
export function installFastWasmMatMul(): void {
  if (installed) return;
  const transpose = getKernel('Transpose', 'wasm');
  if (!transpose) return;
  activeBlas = blasWanted ? loadBlas() : null;
  for (const kernelName of ['BatchMatMul', '_FusedMatMul']) {
    const original = getKernel(kernelName, 'wasm');
    if (!original) continue;
    const untransposed: KernelFunc = (args) => {
      const attrs = args.attrs as { transposeA?: boolean; transposeB?: boolean };
      const inputs = args.inputs as Record<string, TensorInfo>;
      if (!attrs.transposeA && !attrs.transposeB) return original.kernelFunc(args);
      const backend = args.backend as unknown as DisposableBackend;
      const made: TensorInfo[] = [];
      const flip = (t: TensorInfo): TensorInfo => {
        const out = transpose.kernelFunc({
          inputs: { x: t },
          backend,
          attrs: { perm: swapLastTwo(t.shape.length) },
        }) as TensorInfo;
        made.push(out);
        return out;
      };
      const a = attrs.transposeA ? flip(inputs.a!) : inputs.a!;
      const b = attrs.transposeB ? flip(inputs.b!) : inputs.b!;
      const result = original.kernelFunc({
        ...args,
        inputs: { ...inputs, a, b },
        attrs: { ...args.attrs, transposeA: false, transposeB: false },
      });
      for (const t of made) backend.disposeData(t.dataId);
      return result;
    };
    const kernelFunc: KernelFunc = (args) => {
      if (activeBlas) {
        const out = blasMatMul(args, activeBlas);
        if (out) return out;
      } else if (!threaded(args.backend)) {
        const simd = wasmSimdKernels(args.backend);
        const out = simd && simdMatMul(args, simd, transpose.kernelFunc);
        if (out) return out;
      }
      const { bias, ...rest } = args.inputs as Record<string, TensorInfo | undefined>;
      if (!bias || util.sizeFromShape(bias.shape) !== 1) return untransposed(args);
      // tfjs-backend-wasm's fused product reads a bias of one element as if it had one per
      // column: such a bias is added, and the activation applied, after a plain product.
      const product = untransposed({
        ...args,
        inputs: rest as NamedTensorInfoMap,
        attrs: { ...args.attrs, activation: 'linear' },
      }) as TensorInfo;
      const sum = runWasmKernel('Add', args, { a: product, b: bias }, {});
      (args.backend as unknown as DisposableBackend).disposeData(product.dataId);
      return activate(sum, args, (args.attrs as { activation?: string }).activation ?? 'linear');
    };
    unregisterKernel(kernelName, 'wasm');
    registerKernel({ ...original, kernelFunc } as KernelConfig);
  }
  installed = true;
}

/** The parts of tfjs-backend-wasm's backend that a kernel uses. */
interface WasmBackend extends DisposableBackend {
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  wasm: { HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
}

/** The wasm kernel applying each fusable activation, with its extra inputs and attributes. */
const ACTIVATION_KERNELS: Readonly<
  Record<string, (x: TensorInfo, prelu?: TensorInfo, alpha?: number) => [string, object, object]>
> = {
  relu: (x) => ['Relu', { x }, {}],
  relu6: (x) => ['Relu6', { x }, {}],
  elu: (x) => ['Elu', { x }, {}],
  sigmoid: (x) => ['Sigmoid', { x }, {}],
  leakyrelu: (x, _p, alpha) => ['LeakyRelu', { x }, { alpha }],
  prelu: (x, prelu) => ['Prelu', { x, alpha: prelu }, {}],
};

/** The sizes of a product `BatchMatMul` / `_FusedMatMul` asks for (see {@link productOf}). */
interface Product {
  readonly a: TensorInfo;
  readonly b: TensorInfo;
  readonly bias: TensorInfo | undefined;
  readonly ta: boolean;
  readonly tb: boolean;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  /** The matrices in each operand (1: broadcast over the other's). */
  readonly batchA: number;
  readonly batchB: number;
  /** The output's leading dimensions. */
  readonly outer: number[];
  readonly activation: string;
}

/**
 * The product of `args`, or `undefined` for the cases left to tfjs's kernel (non-float32,
 * empty, unusual broadcasts, activations or biases, bad shapes so that tfjs reports them).
 */
function productOf(args: Parameters<KernelFunc>[0]): Product | undefined {
  const { a, b, bias } = args.inputs as Record<string, TensorInfo | undefined>;
  const attrs = args.attrs as {
    transposeA?: boolean;
    transposeB?: boolean;
    activation?: string;
  };
  if (!a || !b || a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const ta = !!attrs.transposeA;
  const tb = !!attrs.transposeB;
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  if (aRank < 2 || bRank < 2) return undefined;
  const m = a.shape[ta ? aRank - 1 : aRank - 2]!;
  const k = a.shape[ta ? aRank - 2 : aRank - 1]!;
  const n = b.shape[tb ? bRank - 2 : bRank - 1]!;
  if (k !== b.shape[tb ? bRank - 1 : bRank - 2] || m * n * k === 0) return undefined;
  const batchA = util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = util.sizeFromShape(b.shape.slice(0, -2));
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  const activation = attrs.activation ?? 'linear';
  if (activation !== 'linear' && !ACTIVATION_KERNELS[activation]) return undefined;
  if (bias && (bias.shape.length !== 1 || (bias.shape[0] !== n && bias.shape[0] !== 1))) {
    return undefined;
  }
  let outer: number[];
  try {
    outer = broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    return undefined;
  }
  return { a, b, bias, ta, tb, m, n, k, batchA, batchB, outer, activation };
}

/**
 * `BatchMatMul` / `_FusedMatMul` with the `gemm` of kernels.c (where no BLAS is loaded: in
 * browsers, and in Node without one). A transposed first operand is read in place; a
 * transposed second one is copied untransposed first (the product's loop runs along B's
 * rows). Then the bias is added and the activation applied with the wasm kernels.
 * `undefined` where {@link productOf} leaves the product to tfjs.
 */
function simdMatMul(
  args: Parameters<KernelFunc>[0],
  simd: SimdKernels,
  transpose: KernelFunc,
): TensorInfo | undefined {
  const p = productOf(args);
  if (!p) return undefined;
  const { m, n, k, ta, batchA, batchB } = p;
  const backend = args.backend as unknown as WasmBackend;
  const b = p.tb
    ? (transpose({
        inputs: { x: p.b },
        backend: args.backend,
        attrs: { perm: swapLastTwo(p.b.shape.length) },
      }) as TensorInfo)
    : p.b;
  const out = backend.makeOutput([...p.outer, m, n], 'float32');
  const pointer = (t: TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
  const [pa, pb, pc] = [p.a, b, out].map(pointer) as [number, number, number];
  const batch = Math.max(batchA, batchB);
  for (let i = 0; i < batch; i++) {
    simd.gemm(
      batchA === 1 ? pa : pa + 4 * i * m * k,
      batchB === 1 ? pb : pb + 4 * i * k * n,
      pc + 4 * i * m * n,
      m,
      n,
      k,
      ta ? 1 : k,
      ta ? m : 1,
    );
  }
  if (p.tb) backend.disposeData(b.dataId);
  if (!p.bias) return activate(out, args, p.activation);
  const sum = runWasmKernel('Add', args, { a: out, b: p.bias }, {});
  backend.disposeData(out.dataId);
  return activate(sum, args, p.activation);
}

/** Whether `backend` is tfjs's multi-threaded wasm build (its memory is shared). */
function threaded(backend: unknown): boolean {
  const heap = (backend as WasmBackend).wasm.HEAPU8.buffer;
  return typeof SharedArrayBuffer !== 'undefined' && heap instanceof SharedArrayBuffer;
}

/** The permutation that swaps the last two of `rank` axes. */
function swapLastTwo(rank: number): number[] {
  const perm = [...Array(rank).keys()];
  perm[rank - 1] = rank - 2;
  perm[rank - 2] = rank - 1;
  return perm;
}

/**
 * `BatchMatMul` / `_FusedMatMul` through BLAS on the wasm heap; `undefined` where
 * {@link productOf} leaves the product to tfjs.
 */
function blasMatMul(args: Parameters<KernelFunc>[0], blas: Blas): TensorInfo | undefined {
  const p = productOf(args);
  if (!p) return undefined;
  const { a, b, bias, ta, tb, m, n, k, batchA, batchB, outer, activation } = p;
  const backend = args.backend as unknown as WasmBackend;
  const batch = Math.max(batchA, batchB);
  const out = backend.makeOutput([...outer, m, n], 'float32');
  // Read after makeOutput: an allocation may grow the wasm memory and replace its buffer.
  const heap = backend.wasm.HEAPU8.buffer;
  const view = (t: TensorInfo, length: number) =>
    new Float32Array(heap, backend.dataIdMap.get(t.dataId).memoryOffset, length);
  const av = view(a, batchA * m * k);
  const bv = view(b, batchB * k * n);
  const cv = view(out, batch * m * n);
  if (bias) {
    const biasView = view(bias, bias.shape[0]!);
    if (biasView.length === 1) cv.fill(biasView[0]!);
    else {
      // One row, then doubling copies: a few memcpys rather than a call per row (a
      // convolution's product has a row per output position: 100,352 for 128 28x28 maps).
      cv.set(biasView, 0);
      for (let filled = n; filled < cv.length; filled *= 2) {
        cv.copyWithin(filled, 0, Math.min(filled, cv.length - filled));
      }
    }
  }
  for (let i = 0; i < batch; i++) {
    blas.sgemm(
      ta,
      tb,
      m,
      n,
      k,
      batchA === 1 ? av : av.subarray(i * m * k),
      ta ? m : k,
      batchB === 1 ? bv : bv.subarray(i * k * n),
      tb ? k : n,
      bias ? 1 : 0,
      batch === 1 ? cv : cv.subarray(i * m * n, (i + 1) * m * n),
      n,
    );
  }
  return activate(out, args, activation);
}

/** Applies `_FusedMatMul`'s activation to `out` with the wasm kernels (disposing `out`). */
function activate(
  out: TensorInfo,
  args: Parameters<KernelFunc>[0],
  activation: string,
): TensorInfo {
  const epilogue = ACTIVATION_KERNELS[activation];
  if (!epilogue) return out;
  const { preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
  const [kernelName, inputs, extra] = epilogue(
    out,
    preluActivationWeights,
    (args.attrs as { leakyreluAlpha?: number }).leakyreluAlpha,
  );
  const result = runWasmKernel(kernelName, args, inputs, extra);
  (args.backend as unknown as DisposableBackend).disposeData(out.dataId);
  return result;
}

function runWasmKernel(
  kernelName: string,
  args: Parameters<KernelFunc>[0],
  inputs: object,
  attrs: object,
): TensorInfo {
  const kernel = getKernel(kernelName, 'wasm');
  if (!kernel) throw new Error(`tfjs-backend-wasm has no ${kernelName} kernel`);
  return kernel.kernelFunc({
    inputs: inputs as Record<string, TensorInfo>,
    backend: args.backend,
    attrs: attrs as Record<string, number>,
  }) as TensorInfo;
}
