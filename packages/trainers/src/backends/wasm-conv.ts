import * as tf from '@tensorflow/tfjs-core';
import {
  backend_util,
  getKernel,
  type KernelConfig,
  type KernelFunc,
  registerKernel,
  type TensorInfo,
  unregisterKernel,
  util,
} from '@tensorflow/tfjs-core';
import { type ConvWindow, wasmSimdKernels } from './fused-kernels.js';

/** The parts of tfjs-backend-wasm's backend this kernel uses. */
interface WasmBackend {
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  wasm: { HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: 'float32' | 'int32'): TensorInfo;
  disposeData(dataId: object): boolean;
}

/**
 * A float32 view of a tensor in the wasm heap. Take views after every allocation of the
 * kernel: an allocation may grow the wasm memory and replace its buffer.
 */
function heapView(wasm: WasmBackend, t: TensorInfo, length: number): Float32Array {
  return new Float32Array(wasm.wasm.HEAPU8.buffer, offsetOf(wasm, t), length);
}

/** Where a tensor's values start in the wasm heap (what the SIMD kernels take). */
function offsetOf(wasm: WasmBackend, t: TensorInfo): number {
  return wasm.dataIdMap.get(t.dataId).memoryOffset;
}

/**
 * The geometry of a convolution of NHWC images of `inputShape` by a filter of `filterShape`
 * (dilations 1 unless `a` has them: tfjs's gradient kernels take none).
 */
function convInfo(
  inputShape: readonly number[],
  filterShape: readonly number[],
  a: Pick<BackpropFilterAttrs, 'strides' | 'pad' | 'dimRoundingMode'> & {
    dilations?: [number, number] | number;
  },
): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    a.dilations ?? 1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/** The rows (output positions) and columns (kh·kw·ci) of a convolution's patch matrix. */
function patchMatrix(info: backend_util.Conv2DInfo): { rows: number; patch: number } {
  return {
    rows: info.batchSize * info.outHeight * info.outWidth,
    patch: info.filterHeight * info.filterWidth * info.inChannels,
  };
}

/** The {@link ConvWindow} of a convolution or pooling, as the SIMD kernels take it. */
function windowArgs(info: backend_util.Conv2DInfo): ConvWindow {
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
  ];
}

interface BackpropFilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

let simdAllowed = true;

/**
 * Switches the SIMD kernels of these convolution kernels on or off (they fall back to
 * JavaScript loops, as where kernels.wasm cannot load), to test and compare both; returns
 * whether SIMD is now in use.
 */
export function useWasmConvSimd(on: boolean, backend: unknown): boolean {
  simdAllowed = on;
  return simdOf(backend) !== undefined;
}

function simdOf(backend: unknown) {
  return simdAllowed ? wasmSimdKernels(backend) : undefined;
}

/**
 * {@link patches} by the SIMD kernel when it runs here (`image` and `cols` in tfjs's heap),
 * else in JavaScript.
 */
function patchesOnHeap(
  wasm: WasmBackend,
  info: backend_util.Conv2DInfo,
  image: TensorInfo,
  cols: TensorInfo,
  gather: boolean,
): void {
  const simd = simdOf(wasm);
  if (!simd) {
    const { rows, patch } = patchMatrix(info);
    patches(
      info,
      heapView(wasm, image, util.sizeFromShape(image.shape)),
      heapView(wasm, cols, rows * patch),
      gather,
    );
    return;
  }
  simd.patches(
    offsetOf(wasm, image),
    offsetOf(wasm, cols),
    ...windowArgs(info),
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
    gather ? 1 : 0,
  );
}

/**
 * Moves values between an NHWC image and its patch matrix: row (n, oh, ow) of `cols` holds
 * image[n, oh*sh + kh - top, ow*sw + kw - left, ci] for every (kh, kw, ci) in that order.
 * `gather` copies the image into `cols`, zero outside the image (im2col); otherwise every
 * patch value is added back into `image` (col2im, the adjoint: `image` must start at zero).
 * One loop for both, with element copies: channel runs are short (often 1).
 */
function patches(
  info: backend_util.Conv2DInfo,
  image: Float32Array,
  cols: Float32Array,
  gather: boolean,
): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const { dilationHeight, dilationWidth } = info;
  const { top, left } = info.padInfo;
  const rowLength = filterHeight * filterWidth * inChannels;
  let row = 0;
  for (let n = 0; n < batchSize; n++) {
    const start = n * inHeight * inWidth * inChannels;
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++, row++) {
        let o = row * rowLength;
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = oh * strideHeight + kh * dilationHeight - top;
          for (let kw = 0; kw < filterWidth; kw++, o += inChannels) {
            const iw = ow * strideWidth + kw * dilationWidth - left;
            if (ih < 0 || ih >= inHeight || iw < 0 || iw >= inWidth) {
              if (gather) for (let c = 0; c < inChannels; c++) cols[o + c] = 0;
              continue;
            }
            const i = start + (ih * inWidth + iw) * inChannels;
            if (gather) for (let c = 0; c < inChannels; c++) cols[o + c] = image[i + c]!;
            else for (let c = 0; c < inChannels; c++) image[i + c]! += cols[o + c]!;
          }
        }
      }
    }
  }
}

/**
 * The filter gradient of a 2-D convolution, which tfjs-backend-wasm 4.22 does not have (so
 * convolutional models could not train on wasm): dW = im2col(x)ᵀ · dy, the patches of the
 * input laid out as rows (one per output position) multiplied by the output gradient, one
 * `[kh·kw·ci, rows] x [rows, co]` product through the wasm `BatchMatMul` (BLAS when there
 * is one). Agrees with the cpu backend to float32 rounding (tested).
 */
const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as BackpropFilterAttrs;
  if (a.dataFormat === 'NCHW') {
    throw new Error('Conv2DBackpropFilter on wasm supports the NHWC layout only');
  }
  const wasm = backend as unknown as WasmBackend;
  const info = convInfo(x.shape, a.filterShape, a);
  const { rows, patch } = patchMatrix(info);
  const cols = wasm.makeOutput([1, rows, patch], 'float32');
  patchesOnHeap(wasm, info, x, cols, true);
  const matMul = getKernel('BatchMatMul', 'wasm')!;
  const product = matMul.kernelFunc({
    inputs: { a: cols, b: { ...dy, shape: [1, rows, info.outChannels] } },
    backend,
    attrs: { transposeA: true, transposeB: false },
  }) as TensorInfo;
  wasm.disposeData(cols.dataId);
  return { ...product, shape: [...a.filterShape] };
};

const PATCHES_KERNEL = 'AekitPatches';

/** The patch matrix (im2col) of NHWC images `x` for a convolution by a filter of `filterShape`. */
const patchesKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x } = inputs as { x: TensorInfo };
  const a = attrs as unknown as BackpropFilterAttrs;
  const wasm = backend as unknown as WasmBackend;
  const info = convInfo(x.shape, a.filterShape, a);
  const { rows, patch } = patchMatrix(info);
  const cols = wasm.makeOutput([rows, patch], 'float32');
  patchesOnHeap(wasm, info, x, cols, true);
  return cols;
};

const MAX_POOL_KERNEL = 'AekitMaxPool';
const MAX_POOL_GRAD_KERNEL = 'AekitMaxPoolGrad';

/** A max pooling over side-by-side windows of `pool` (stride = window, no padding). */
interface MaxPoolAttrs {
  pool: [number, number];
  inputShape: [number, number, number, number];
}

/** The image sizes, the output sizes and the window, in the SIMD kernels' order. */
function poolArgs({ pool, inputShape }: MaxPoolAttrs) {
  const [batch, inH, inW, channels] = inputShape;
  const outH = Math.floor(inH / pool[0]);
  const outW = Math.floor(inW / pool[1]);
  return [batch, inH, inW, channels, outH, outW, pool[0], pool[1]] as const;
}

/** The pooled images and the offset of each output's input in its window (int32). */
const maxPoolKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x } = inputs as { x: TensorInfo };
  const wasm = backend as unknown as WasmBackend;
  const args = poolArgs(attrs as unknown as MaxPoolAttrs);
  const [batch, , , channels, outH, outW] = args;
  const y = wasm.makeOutput([batch, outH, outW, channels], 'float32');
  const arg = wasm.makeOutput([batch, outH, outW, channels], 'int32');
  simdOf(wasm)!.max_pool_argmax(offsetOf(wasm, x), offsetOf(wasm, y), offsetOf(wasm, arg), ...args);
  return [y, arg];
};

/** dx from dy and the offsets of {@link maxPoolKernel}. */
const maxPoolGradKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, arg } = inputs as { dy: TensorInfo; arg: TensorInfo };
  const wasm = backend as unknown as WasmBackend;
  const a = attrs as unknown as MaxPoolAttrs;
  const dx = wasm.makeOutput([...a.inputShape], 'float32');
  simdOf(wasm)!.max_pool_argmax_grad(
    offsetOf(wasm, dy),
    offsetOf(wasm, arg),
    offsetOf(wasm, dx),
    ...poolArgs(a),
  );
  return dx;
};

interface BackpropInputAttrs extends Omit<BackpropFilterAttrs, 'filterShape'> {
  inputShape: [number, number, number, number];
}

/**
 * The input gradient of a 2-D convolution (also the forward pass of a transposed
 * convolution), replacing tfjs-backend-wasm's direct loop, which is about 20x slower on
 * autoencoder shapes: the patch gradients dy · Wᵀ (`[rows, co] x [co, kh·kw·ci]`, one product
 * through the wasm `BatchMatMul`) added back into the image (col2im).
 */
const conv2DBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as BackpropInputAttrs;
  const wasm = backend as unknown as WasmBackend;
  const info = convInfo(a.inputShape, filter.shape, a);
  const { rows, patch } = patchMatrix(info);
  const matMul = getKernel('BatchMatMul', 'wasm')!;
  const cols = matMul.kernelFunc({
    inputs: {
      a: { ...dy, shape: [1, rows, info.outChannels] },
      b: { ...filter, shape: [1, patch, info.outChannels] },
    },
    backend,
    attrs: { transposeA: false, transposeB: true },
  }) as TensorInfo;
  const dx = wasm.makeOutput([...a.inputShape], 'float32');
  heapView(wasm, dx, util.sizeFromShape(a.inputShape)).fill(0);
  patchesOnHeap(wasm, info, dx, cols, false);
  wasm.disposeData(cols.dataId);
  return dx;
};

interface ConvAttrs extends Omit<BackpropFilterAttrs, 'filterShape'> {
  dilations: [number, number] | number;
  activation?: string;
  leakyreluAlpha?: number;
}

/**
 * The forward pass of `Conv2D` and `FusedConv2D` (NHWC), where it beats tfjs-backend-wasm's
 * (XNNPACK, about 24 GFLOP/s on one thread on autoencoder shapes, and 4 on one-channel
 * images):
 * - one input channel (a grayscale first layer), with SIMD and at most a bias (no fused
 *   activation): the SIMD kernel's direct loop, sixteen output channels and two positions
 *   per step, 2.1 ms a call where XNNPACK took 3.6 (128 28x28x1 images, 16 3x3 filters);
 * - four input channels or more, when BLAS does the wasm products: the patch matrix of the
 *   input (im2col, `[rows, kh·kw·ci]`) times the filter (`[kh·kw·ci, co]`, its own layout),
 *   through the wasm `_FusedMatMul`, which adds the bias and applies the activation, at the
 *   BLAS's 90+ GFLOP/s.
 * Otherwise (NCHW, PReLU weights, which may broadcast over positions, two or three
 * channels, no BLAS) the original runs.
 */
function convForward(original: KernelFunc, blasActive: () => boolean): KernelFunc {
  return (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<
      string,
      TensorInfo | undefined
    >;
    const a = args.attrs as unknown as ConvAttrs;
    if (
      a.dataFormat === 'NCHW' ||
      preluActivationWeights ||
      x!.dtype !== 'float32' ||
      x!.shape.length !== 4 ||
      filter!.shape.length !== 4 ||
      x!.shape[3] !== filter!.shape[2]
    ) {
      return original(args);
    }
    const wasm = args.backend as unknown as WasmBackend;
    const info = convInfo(x!.shape, filter!.shape, a);
    const { rows, patch } = patchMatrix(info);
    if (rows * patch === 0) return original(args);
    const simd = simdOf(wasm);
    if (
      x!.shape[3] === 1 &&
      simd &&
      (a.activation ?? 'linear') === 'linear' &&
      (!bias || util.sizeFromShape(bias.shape) === info.outChannels)
    ) {
      const y = wasm.makeOutput(
        [info.batchSize, info.outHeight, info.outWidth, info.outChannels],
        'float32',
      );
      simd.conv_one_channel(
        offsetOf(wasm, x!),
        offsetOf(wasm, filter!),
        bias ? offsetOf(wasm, bias) : 0,
        offsetOf(wasm, y),
        info.batchSize,
        info.inHeight,
        info.inWidth,
        info.outHeight,
        info.outWidth,
        info.outChannels,
        info.filterHeight,
        info.filterWidth,
        info.strideHeight,
        info.strideWidth,
        info.dilationHeight,
        info.dilationWidth,
        info.padInfo.top,
        info.padInfo.left,
      );
      return y;
    }
    if (!blasActive() || x!.shape[3]! < 4) return original(args);
    const cols = wasm.makeOutput([1, rows, patch], 'float32');
    patchesOnHeap(wasm, info, x!, cols, true);
    const product = getKernel('_FusedMatMul', 'wasm')!.kernelFunc({
      inputs: {
        a: cols,
        b: { ...filter!, shape: [1, patch, info.outChannels] },
        ...(bias ? { bias } : {}),
      },
      backend: args.backend,
      attrs: {
        transposeA: false,
        transposeB: false,
        activation: a.activation ?? 'linear',
        leakyreluAlpha: a.leakyreluAlpha ?? 0.2,
      },
    }) as TensorInfo;
    wasm.disposeData(cols.dataId);
    return { ...product, shape: [info.batchSize, info.outHeight, info.outWidth, info.outChannels] };
  };
}

interface MaxPoolGradAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * The gradient of a max pooling, replacing tfjs-backend-wasm's loop (which scans every
 * window of the output gradient for every input position): each output position routes its
 * gradient to the first largest input of its window, as the cpu backend does.
 */
const maxPoolGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  const a = attrs as unknown as MaxPoolGradAttrs;
  const wasm = backend as unknown as WasmBackend;
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  const dx = wasm.makeOutput([...input.shape], 'float32');
  const simd = simdOf(wasm);
  if (simd) {
    simd.max_pool_grad(
      offsetOf(wasm, input),
      offsetOf(wasm, dy),
      offsetOf(wasm, dx),
      ...windowArgs(info),
      info.padInfo.top,
      info.padInfo.left,
    );
    return dx;
  }
  const view = (t: TensorInfo) => heapView(wasm, t, util.sizeFromShape(t.shape));
  const x = view(input);
  const g = view(dy);
  const out = view(dx);
  out.fill(0);
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;
  let k = 0;
  for (let n = 0; n < batchSize; n++) {
    const image = n * inHeight * inWidth * channels;
    for (let oh = 0; oh < outHeight; oh++) {
      const h0 = Math.max(0, oh * strideHeight - top);
      const h1 = Math.min(inHeight, oh * strideHeight - top + filterHeight);
      for (let ow = 0; ow < outWidth; ow++) {
        const w0 = Math.max(0, ow * strideWidth - left);
        const w1 = Math.min(inWidth, ow * strideWidth - left + filterWidth);
        for (let c = 0; c < channels; c++, k++) {
          let best = -1;
          let max = Number.NEGATIVE_INFINITY;
          for (let h = h0; h < h1; h++) {
            for (let w = w0; w < w1; w++) {
              const i = image + (h * inWidth + w) * channels + c;
              if (x[i]! > max || best < 0) {
                max = x[i]!;
                best = i;
              }
            }
          }
          if (best >= 0) out[best]! += g[k]!;
        }
      }
    }
  }
  return dx;
};

/**
 * Registers {@link conv2DBackpropFilter} for wasm (which has none) and replaces its
 * `Conv2DBackpropInput` (NHWC), `Conv2D` and `FusedConv2D` (while `blasActive()`: the wasm
 * products run on BLAS) and `MaxPoolGrad` with faster equivalents.
 */
export function installWasmConvKernels(blasActive: () => boolean): void {
  if (installed) return;
  productsOnBlas = blasActive;
  const original = getKernel('Conv2DBackpropInput', 'wasm');
  if (original) {
    unregisterKernel('Conv2DBackpropInput', 'wasm');
    registerKernel({
      ...original,
      kernelFunc: (args) =>
        (args.attrs as unknown as BackpropInputAttrs).dataFormat === 'NCHW'
          ? original.kernelFunc(args)
          : conv2DBackpropInput(args),
    } as KernelConfig);
  }
  for (const kernelName of ['Conv2D', 'FusedConv2D']) {
    const forward = getKernel(kernelName, 'wasm');
    if (!forward) continue;
    unregisterKernel(kernelName, 'wasm');
    registerKernel({
      ...forward,
      kernelFunc: convForward(forward.kernelFunc, blasActive),
    } as KernelConfig);
  }
  const pool = getKernel('MaxPoolGrad', 'wasm');
  if (pool) {
    unregisterKernel('MaxPoolGrad', 'wasm');
    registerKernel({ ...pool, kernelFunc: maxPoolGrad } as KernelConfig);
  }
  for (const [kernelName, kernelFunc] of [
    [PATCHES_KERNEL, patchesKernel],
    [MAX_POOL_KERNEL, maxPoolKernel],
    [MAX_POOL_GRAD_KERNEL, maxPoolGradKernel],
  ] as const) {
    if (!getKernel(kernelName, 'wasm'))
      registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
  if (!getKernel('Conv2DBackpropFilter', 'wasm')) {
    registerKernel({
      kernelName: 'Conv2DBackpropFilter',
      backendName: 'wasm',
      kernelFunc: conv2DBackpropFilter,
    } as KernelConfig);
  }
  installed = true;
}

let installed = false;
let productsOnBlas: () => boolean = () => false;

/**
 * Whether a convolution of `x` by `filter` may share its patch matrix between passes: on
 * the wasm backend with these kernels and BLAS products, float32, four channels or more in
 * the image the patches come from (grayscale ones have faster direct loops), no dilation.
 */
function sharesPatches(x: tf.Tensor, filter: tf.Tensor, patchChannels: number): boolean {
  return (
    installed &&
    tf.getBackend() === 'wasm' &&
    productsOnBlas() &&
    x.dtype === 'float32' &&
    filter.dtype === 'float32' &&
    x.rank === 4 &&
    filter.rank === 4 &&
    patchChannels >= 4
  );
}

/**
 * The largest patch matrix (in values) that {@link conv2dSharingPatches} keeps from the
 * forward pass to the backward pass: 32 MB. The matrix holds kh·kw values per image value (9
 * for 3x3 filters), so on large images it would take much more memory than the activations.
 */
const MAX_KEPT_PATCHES = 8 * 1024 * 1024;

/**
 * `tf.conv2d(x, filter, strides, pad)` (NHWC, no dilation) whose gradient reuses the patch
 * matrix of the forward pass: the forward pass is `im2col(x) · filter`, and the filter
 * gradient `im2col(x)ᵀ · dy`, so keeping the matrix (one float per filter tap of every output
 * position: 14.5 MB for 128 14x14x16 images and 3x3 filters) saves building it again from
 * the images, a pass bound by memory bandwidth (on the conv benchmark's model, epochs
 * alternating with and without in three runs: 5-20% faster at batch 32, 0-16% at batch 128,
 * the more the busier the memory). The input gradient is `Conv2DBackpropInput` as in tfjs.
 * Undefined where {@link sharesPatches} does not hold or the matrix is larger than
 * {@link MAX_KEPT_PATCHES}.
 */
export function conv2dSharingPatches(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: [number, number],
  pad: 'same' | 'valid',
): tf.Tensor4D | undefined {
  if (!sharesPatches(x, filter, x.shape[3]) || x.shape[3] !== filter.shape[2]) return undefined;
  const attrs = { strides, pad, dataFormat: 'NHWC', filterShape: filter.shape };
  const info = convInfo(x.shape, filter.shape, attrs);
  const { rows, patch } = patchMatrix(info);
  if (rows * patch > MAX_KEPT_PATCHES) return undefined;
  const outShape: [number, number, number, number] = [
    info.batchSize,
    info.outHeight,
    info.outWidth,
    info.outChannels,
  ];
  const op = tf.customGrad((input, kernel, save) => {
    const cols = tf
      .engine()
      .runKernel(PATCHES_KERNEL, { x: input as tf.Tensor }, attrs as unknown as tf.NamedAttrMap);
    const w = kernel as tf.Tensor4D;
    (save as tf.GradSaveFunc)([cols as tf.Tensor, w]);
    const y = tf.matMul(cols as tf.Tensor2D, tf.reshape(w, [patch, info.outChannels]));
    return {
      value: tf.reshape(y, outShape),
      gradFunc: (dy: tf.Tensor, [saved, kept]: tf.Tensor[]) => {
        const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: kept! }, {
          ...attrs,
          inputShape: x.shape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor;
        const dw = tf.matMul(saved as tf.Tensor2D, tf.reshape(dy, [rows, info.outChannels]), true);
        return [dx, tf.reshape(dw, kept!.shape)];
      },
    };
  });
  return op(x, filter) as tf.Tensor4D;
}

/**
 * `tf.conv2dTranspose(x, filter, outputShape, strides, pad)` whose gradient builds the patch
 * matrix of the output gradient once: both gradients are products with it (the input's
 * `im2col(dy) · filter`, the filter's `im2col(dy)ᵀ · x`), where tfjs builds it twice (in
 * `Conv2D` and `Conv2DBackpropFilter`). Undefined where {@link sharesPatches} does not hold
 * for the output's channels.
 */
export function conv2dTransposeSharingPatches(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  outputShape: [number, number, number, number],
  strides: [number, number],
  pad: 'same' | 'valid',
): tf.Tensor4D | undefined {
  if (
    !sharesPatches(x, filter, outputShape[3]) ||
    x.shape[3] !== filter.shape[3] ||
    outputShape[3] !== filter.shape[2]
  ) {
    return undefined;
  }
  const attrs = { strides, pad, dataFormat: 'NHWC', filterShape: filter.shape };
  const info = convInfo(outputShape, filter.shape, attrs);
  const { rows, patch } = patchMatrix(info);
  if (info.outHeight !== x.shape[1] || info.outWidth !== x.shape[2]) return undefined;
  const op = tf.customGrad((input, kernel, save) => {
    const [xs, w] = [input as tf.Tensor4D, kernel as tf.Tensor4D];
    (save as tf.GradSaveFunc)([xs, w]);
    const y = tf.engine().runKernel('Conv2DBackpropInput', { dy: xs, filter: w }, {
      ...attrs,
      inputShape: outputShape,
    } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, [keptX, keptW]: tf.Tensor[]) => {
        const cols = tf
          .engine()
          .runKernel(PATCHES_KERNEL, { x: dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D;
        const dx = tf.matMul(cols, tf.reshape(keptW!, [patch, info.outChannels]));
        const dw = tf.matMul(cols, tf.reshape(keptX!, [rows, info.outChannels]), true);
        return [tf.reshape(dx, keptX!.shape), tf.reshape(dw, keptW!.shape)];
      },
    };
  });
  return op(x, filter) as tf.Tensor4D;
}

/**
 * `tf.maxPool(x, pool, pool, 'valid')` (NHWC: windows side by side) whose forward pass also
 * keeps, for each output, the offset of its input in the window, so that the gradient routes
 * dy by them in one pass that writes each input's gradient once. tfjs's gradient
 * (`MaxPoolGrad`) zeroes the input gradient, reads the images again to find each window's
 * largest value, and adds dy there. The same routing: to the first largest value of the
 * window (tested against the cpu backend). Undefined off wasm, without the SIMD kernels, or
 * for windows larger than the images.
 */
export function maxPoolSharingArgmax(
  x: tf.Tensor4D,
  pool: [number, number],
): tf.Tensor4D | undefined {
  const [, inH, inW] = x.shape;
  if (
    !installed ||
    tf.getBackend() !== 'wasm' ||
    !simdOf(tf.backend()) ||
    x.dtype !== 'float32' ||
    x.rank !== 4 ||
    !pool.every((p) => Number.isInteger(p) && p >= 1) ||
    pool[0] > inH ||
    pool[1] > inW
  ) {
    return undefined;
  }
  const attrs = { pool, inputShape: x.shape } as unknown as tf.NamedAttrMap;
  const op = tf.customGrad((input, save) => {
    const [y, arg] = tf
      .engine()
      .runKernel(MAX_POOL_KERNEL, { x: input as tf.Tensor }, attrs) as tf.Tensor[];
    (save as tf.GradSaveFunc)([arg!]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) =>
        tf.engine().runKernel(MAX_POOL_GRAD_KERNEL, { dy, arg: saved! }, attrs) as tf.Tensor,
    };
  });
  return op(x) as tf.Tensor4D;
}
