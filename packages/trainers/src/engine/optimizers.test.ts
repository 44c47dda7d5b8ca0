import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { createRng } from '@aekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerFusedKernels } from '../backends/fused-kernels.js';
import { installFastWasmKernels, useWasmBlas } from '../backends/wasm-kernels.js';
import { BLAS, missing } from '../test-utils/requirements.js';
import { createOptimizer, OPTIMIZERS, type OptimizerName } from './optimizers.js';

const rng = createRng(21, 'optimizers');
const uniform = (n: number) => Float32Array.from({ length: n }, () => rng() * 2 - 1);

/** x·w in double precision, straight from the values. */
function product(x: Float32Array, w: Float32Array, rows: number, k: number, cols: number) {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += x[r * k + i]! * w[i * cols + c]!;
      out[r * cols + c] = s;
    }
  }
  return out;
}

beforeAll(() => {
  installFastWasmKernels();
  registerFusedKernels();
});
afterAll(() => {
  useWasmBlas(true);
});

/**
 * The backends a product may run on: cpu, and wasm with tfjs's own products (XNNPACK, which
 * caches the packed weights of an untransposed product by tensor) and with BLAS.
 */
const PATHS = [
  ['cpu', 'cpu', false],
  ['wasm without BLAS', 'wasm', false],
  ['wasm with BLAS', 'wasm', true],
] as const;

for (const [name, backend, blas] of PATHS) {
  describe.skipIf(blas && missing(BLAS))(`an optimiser step on ${name}`, () => {
    beforeAll(async () => {
      await tf.setBackend(backend);
      if (backend === 'wasm') expect(useWasmBlas(blas)).toBe(blas);
    });
    afterAll(() => tf.disposeVariables());

    for (const optimizerName of Object.keys(OPTIMIZERS) as OptimizerName[]) {
      // A product of the weights before and after one step: the second must use the new
      // weights. A kernel that caches by tensor (XNNPACK's packed weights) sees stale values
      // when an optimiser writes into a variable's buffer instead of giving it a new one.
      it(`${optimizerName}: the next product sees the new weights`, () => {
        const [rows, k, cols] = [3, 8, 5];
        const x = tf.tensor2d(uniform(rows * k), [rows, k]);
        const target = tf.tensor2d(uniform(rows * cols), [rows, cols]);
        const w = tf.variable(
          tf.tensor2d(uniform(k * cols), [k, cols]),
          true,
          `w-${name}-${optimizerName}`,
        );
        const optimizer = createOptimizer(optimizerName, 0.1);
        const before = tf.tidy(() => tf.matMul(x, w).dataSync());
        for (let step = 0; step < 3; step++) {
          optimizer.minimize(() => tf.sum(tf.square(tf.sub(tf.matMul(x, w), target))));
          const got = tf.tidy(() => tf.matMul(x, w).dataSync());
          const want = product(
            x.dataSync() as Float32Array,
            w.dataSync() as Float32Array,
            rows,
            k,
            cols,
          );
          // Sums of 8 products of values near [-1, 1] in float32: 1e-5 is ample; a stale
          // product is off by the step itself (0.1 a weight for Adam, more for the others).
          for (let i = 0; i < want.length; i++)
            expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-5);
        }
        const after = tf.tidy(() => tf.matMul(x, w).dataSync());
        expect(Math.max(...after.map((v, i) => Math.abs(v - before[i]!)))).toBeGreaterThan(0.05);
        tf.dispose([x, target, w]);
        optimizer.dispose();
      });
    }
  });
}
