import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { wasmSimdKernels } from './fused-kernels.js';
import { KERNELS_WASM_BASE64 } from './simd/kernels-wasm.js';
import { installFastKernels } from './web-kernels.js';

describe('installFastKernels', () => {
  it('embeds the committed kernels.wasm (npm run build regenerates the module)', () => {
    const file = readFileSync(new URL('./simd/kernels.wasm', import.meta.url));
    expect(Buffer.from(KERNELS_WASM_BASE64, 'base64').equals(file)).toBe(true);
  });

  it('gives the wasm backend the SIMD kernels and the fused ones, once', async () => {
    const first = installFastKernels();
    expect(installFastKernels()).toBe(first);
    expect(await first).toEqual({ simd: true });
    await tf.setBackend('wasm');
    expect(wasmSimdKernels(tf.backend())).toBeDefined();
    for (const name of ['AekitAdamStep', 'AekitSigmoidBce', 'AekitBiasActivation']) {
      expect(tf.getKernel(name, 'wasm'), name).toBeDefined();
    }
    // A transposed product, as backpropagation takes them (on BLAS where Node finds one,
    // else on kernels.c's gemm, the browser's way).
    const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const b = tf.tensor2d([1, 0, -1, 2, 1, 0], [3, 2]);
    expect(Array.from(tf.matMul(a, b, true, false).dataSync())).toEqual([3, 6, 4, 8]);
  });
});
