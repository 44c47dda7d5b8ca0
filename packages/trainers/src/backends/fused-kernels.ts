import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import {
  getKernel,
  type KernelFunc,
  registerKernel,
  type TensorInfo,
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

/** The exports of kernels.wasm (see kernels.c). */
interface SimdKernels {
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

const simdModules = new Map<boolean, WebAssembly.Module | null>();
const simdInstances = new WeakMap<WebAssembly.Memory, SimdKernels>();

/**
 * kernels.wasm instantiated on `memory` (tfjs's heap; kernels-shared.wasm for the shared
 * memory of the multi-threaded build), or undefined without WebAssembly SIMD.
 */
function simdFor(memory: WebAssembly.Memory | undefined): SimdKernels | undefined {
  if (!memory) return undefined;
  let kernels = simdInstances.get(memory);
  if (kernels) return kernels;
  const shared =
    typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  if (!simdModules.has(shared)) {
    const file = shared ? './simd/kernels-shared.wasm' : './simd/kernels.wasm';
    try {
      simdModules.set(shared, new WebAssembly.Module(readFileSync(new URL(file, import.meta.url))));
    } catch {
      simdModules.set(shared, null);
    }
  }
  const module = simdModules.get(shared);
  if (!module) return undefined;
  kernels = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as SimdKernels;
  simdInstances.set(memory, kernels);
  return kernels;
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
    // Allocate first: a wasm allocation may grow the heap and detach earlier views.
    const outs = [io.output(shape), io.output(shape), io.output(shape)] as const;
    const step = a.learningRate / (1 - a.beta1Power);
    const correction2 = 1 / (1 - a.beta2Power);
    const n = util.sizeFromShape(shape);
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

/** Registers the fused kernels for the wasm and cpu backends (once). */
export function registerFusedKernels(): void {
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
