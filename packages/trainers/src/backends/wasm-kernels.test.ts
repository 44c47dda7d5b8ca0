import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { createRng } from '@aekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { installFastWasmKernels } from './wasm-kernels.js';

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

describe('the replaced wasm kernels agree with the cpu backend', () => {
  // Sums of up to 97 products of values in [-1, 1] in float32, in other orders: 1e-5 is ample.
  const cases: [number, number, number, number][] = [
    [1, 1, 1, 1],
    [1, 7, 13, 5],
    [1, 64, 97, 33],
    [3, 5, 8, 2],
    [4, 16, 31, 9],
  ];
  for (const [batch, m, k, n] of cases) {
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      it(`matMul batch ${batch}, ${m}x${k}x${n}, transposeA ${ta}, transposeB ${tb}`, async () => {
        const aShape = batch === 1 ? (ta ? [k, m] : [m, k]) : ta ? [batch, k, m] : [batch, m, k];
        const bShape = batch === 1 ? (tb ? [n, k] : [k, n]) : tb ? [batch, n, k] : [batch, k, n];
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
        expect(maxDiff(cpu, wasm)).toBeLessThan(1e-5);
      });
    }
  }

  it('fused matMul with bias and activation, transposed', async () => {
    const a = random([20, 30]);
    const b = random([12, 30]);
    const bias = random([12]);
    const [cpu, wasm] = await both(() =>
      tf.fused.matMul({
        a: tf.tensor2d(a, [20, 30]),
        b: tf.tensor2d(b, [12, 30]),
        transposeB: true,
        bias: tf.tensor1d(bias),
        activation: 'relu',
      }),
    );
    expect(maxDiff(cpu, wasm)).toBeLessThan(1e-5);
  });

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
