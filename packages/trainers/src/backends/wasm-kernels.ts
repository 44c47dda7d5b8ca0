import {
  getKernel,
  type KernelConfig,
  type KernelFunc,
  registerKernel,
  type TensorInfo,
  unregisterKernel,
} from '@tensorflow/tfjs-core';

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
 */
export function installFastWasmKernels(): void {
  installFastWasmMatMul();
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

/**
 * Makes dense-layer training on the wasm backend take XNNPACK's fast path.
 *
 * tfjs-backend-wasm hands a product to XNNPACK only when neither operand is transposed;
 * otherwise it runs a scalar loop about ten times slower. Backpropagation through a dense
 * layer is made of transposed products (dW = xᵀ·dy, dx = dy·Wᵀ), so this replaces the
 * wasm `BatchMatMul` and `_FusedMatMul` kernels with: transpose the operand explicitly
 * (a cheap copy), then call the original kernel untransposed. Results are unchanged.
 */
export function installFastWasmMatMul(): void {
  if (installed) return;
  const transpose = getKernel('Transpose', 'wasm');
  if (!transpose) return;
  for (const kernelName of ['BatchMatMul', '_FusedMatMul']) {
    const original = getKernel(kernelName, 'wasm');
    if (!original) continue;
    const kernelFunc: KernelFunc = (args) => {
      const attrs = args.attrs as { transposeA?: boolean; transposeB?: boolean };
      const inputs = args.inputs as Record<string, TensorInfo>;
      if (!attrs.transposeA && !attrs.transposeB) return original.kernelFunc(args);
      const backend = args.backend as unknown as DisposableBackend;
      const made: TensorInfo[] = [];
      const flip = (t: TensorInfo): TensorInfo => {
        const rank = t.shape.length;
        const perm = [...Array(rank).keys()];
        perm[rank - 1] = rank - 2;
        perm[rank - 2] = rank - 1;
        const out = transpose.kernelFunc({
          inputs: { x: t },
          backend,
          attrs: { perm },
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
    unregisterKernel(kernelName, 'wasm');
    registerKernel({ ...original, kernelFunc } as KernelConfig);
  }
  installed = true;
}
