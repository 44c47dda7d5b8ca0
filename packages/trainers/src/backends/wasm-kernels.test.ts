import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { createRng } from '@aekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLAS, missing } from '../test-utils/requirements.js';
import { loadBlas } from './blas.js';
import { installFastWasmKernels, useWasmBlas } from './wasm-kernels.js';

const rng = createRng(5, 'wasm-kernels');
const random = (shape: number[]) =>
  Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng() * 2 - 1);

/** Runs `f` on the cpu and on the (patched) wasm backend with the same inputs. */
async function both(f: () => tf.Tensor): Promise<[Float32Array, Float32Array]> {
  await tf.setBackend('cpu');
  const cpu = f().dataSync() as Float32Array;
  await tf.setBackend('wasm');
  const wasm = f().dataSync() as Float32Array;
  return [cpu, wasm];
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

beforeAll(async () => {
  await tf.setBackend('wasm');
  installFastWasmKernels();
});

// Both ways of multiplying: OpenBLAS (Debian's libopenblas0, installed by the test command)
// and, with it switched off, the gemm of kernels.c (the browser's way).
for (const [name, blas] of [
  ['BLAS', true],
  ['SIMD', false],
] as const) {
  describe.skipIf(blas && missing(BLAS))(
    `the replaced wasm products (${name}) agree with the cpu backend`,
    () => {
      beforeAll(() => {
        expect(useWasmBlas(blas)).toBe(blas);
      });
      afterAll(() => {
        useWasmBlas(true);
      });

      // Sums of k products of values in [-1, 1] in float32 (the cpu backend's too), in other
      // orders: the difference grows with k; 1e-5 per 100 terms is ample (measured: 4e-6 at
      // k = 97 and 1.1e-5 at k = 300, with BLAS as with the SIMD gemm).
      const cases: [number, number, number, number][] = [
        [1, 1, 1, 1],
        [1, 7, 13, 5],
        [1, 64, 97, 33],
        [3, 5, 8, 2],
        [4, 16, 31, 9],
        // gemm's blocks of k (128), of 4 rows and of 8 columns, each with a remainder
        [1, 33, 300, 21],
      ];
      for (const [batch, m, k, n] of cases) {
        for (const [ta, tb] of [
          [false, false],
          [true, false],
          [false, true],
          [true, true],
        ] as const) {
          it(`matMul batch ${batch}, ${m}x${k}x${n}, transposeA ${ta}, transposeB ${tb}`, async () => {
            const aShape =
              batch === 1 ? (ta ? [k, m] : [m, k]) : ta ? [batch, k, m] : [batch, m, k];
            const bShape =
              batch === 1 ? (tb ? [n, k] : [k, n]) : tb ? [batch, n, k] : [batch, k, n];
            const a = random(aShape);
            const b = random(bShape);
            const [cpu, wasm] = await both(() =>
              tf.matMul(
                tf.tensor(a, aShape) as tf.Tensor2D,
                tf.tensor(b, bShape) as tf.Tensor2D,
                ta,
                tb,
              ),
            );
            expect(maxDiff(cpu, wasm)).toBeLessThan(1e-5 * Math.max(1, k / 100));
          });
        }
      }

      // One side's batch of 1 is shared by every matrix of the other side.
      for (const [aShape, bShape, tb] of [
        [[2, 3, 4, 5], [5, 6], false],
        [[3, 4], [2, 4, 5], false],
        [[1, 6, 7], [3, 5, 7], true],
      ] as [number[], number[], boolean][]) {
        it(`matMul broadcasts ${aShape.join('x')} with ${bShape.join('x')}`, async () => {
          const a = random(aShape);
          const b = random(bShape);
          const [cpu, wasm] = await both(() =>
            tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape), false, tb),
          );
          expect(maxDiff(cpu, wasm)).toBeLessThan(1e-5);
        });
      }

      for (const activation of [
        'linear',
        'relu',
        'relu6',
        'elu',
        'sigmoid',
        'leakyrelu',
        'prelu',
      ] as const) {
        for (const biasLength of [0, 1, 12]) {
          it(`fused matMul, ${activation}, bias of ${biasLength}, transposed`, async () => {
            const a = random([30, 20]);
            const b = random([12, 30]);
            const bias = random([biasLength]);
            const alpha = random([12]);
            const [cpu, wasm] = await both(() =>
              tf.fused.matMul({
                a: tf.tensor2d(a, [30, 20]),
                b: tf.tensor2d(b, [12, 30]),
                transposeA: true,
                transposeB: true,
                bias: biasLength ? tf.tensor1d(bias) : undefined,
                activation,
                preluActivationWeights: activation === 'prelu' ? tf.tensor1d(alpha) : undefined,
                leakyreluAlpha: 0.3,
              }),
            );
            expect(maxDiff(cpu, wasm)).toBeLessThan(1e-5);
          });
        }
      }

      it('gradients of a dense layer (transposed products) match', async () => {
        const x = random([16, 24]);
        const w = random([24, 8]);
        const grads = () => {
          const g = tf.grads((xs: tf.Tensor, ws: tf.Tensor) =>
            tf.sum(tf.square(tf.matMul(xs as tf.Tensor2D, ws as tf.Tensor2D))),
          );
          const [gx, gw] = g([tf.tensor2d(x, [16, 24]), tf.tensor2d(w, [24, 8])]);
          return tf.concat([tf.reshape(gx!, [-1]), tf.reshape(gw!, [-1])]);
        };
        const [cpu, wasm] = await both(grads);
        expect(maxDiff(cpu, wasm)).toBeLessThan(1e-4);
      });

      it("a mismatched product still gets tfjs's error", async () => {
        await tf.setBackend('wasm');
        expect(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 5]))).toThrow(/inner shapes/);
      });
    },
  );
}

describe('the wasm Identity kernel', () => {
  it('identity (clone) shares data safely: the clone outlives its source', async () => {
    await tf.setBackend('wasm');
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.clone(a);
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3]);
    const before = tf.memory().numBytes;
    b.dispose();
    expect(tf.memory().numBytes).toBeLessThan(before);
  });
});

describe.skipIf(missing(BLAS))('BLAS', () => {
  it('is found on this machine and says what it is', () => {
    const blas = loadBlas();
    expect(blas, 'no CBLAS library found: install libopenblas0').not.toBeNull();
    expect(blas!.description).toMatch(/OpenBLAS|MKL|Accelerate|blas/i);
  });
});
