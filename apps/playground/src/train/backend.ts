/** The TensorFlow.js backends the page trains on: WebGPU, wasm (its files bundled) or cpu. */
import { installFastKernels } from '@aekit/trainers/browser';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import '@tensorflow/tfjs-backend-webgpu';

/** What the backend picker offers: `auto` tries the others in this order. */
export const TRAIN_BACKENDS = Object.freeze(['auto', 'webgpu', 'wasm', 'cpu']);

// The threaded wasm build starts its workers from its own minified source, which breaks once
// bundled; one thread (SIMD) is plenty for these small networks.
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
});

// The kernels that make aekit train fast on wasm in Node (BLAS aside): SIMD products, fused
// Adam steps, losses and bias + activation, and the convolution kernel tfjs lacks there.
// Compiled from the start, so that they are ready when the first training starts.
const fastKernels = installFastKernels();

/** The first of `wanted` (or webgpu, wasm, cpu in that order for auto) that starts here. */
export async function pickBackend(wanted: string): Promise<string> {
  const order =
    wanted === 'auto' ? TRAIN_BACKENDS.slice(1) : [wanted, ...(wanted === 'cpu' ? [] : ['cpu'])];
  await fastKernels;
  for (const name of order) {
    if (name === 'webgpu' && !('gpu' in navigator)) continue;
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
    } catch {
      // try the next one
    }
  }
  throw new Error('no TensorFlow.js backend starts in this browser');
}
