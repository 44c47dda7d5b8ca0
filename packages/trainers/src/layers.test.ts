import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { binaryCrossEntropy, sigmoidCrossEntropyWithLogits } from './layers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('sigmoidCrossEntropyWithLogits', () => {
  const z = tf.tensor2d([
    [-4, -1, 0, 0.5],
    [1, 2.5, 3, -0.2],
  ]);
  const t = tf.tensor2d([
    [0, 0.2, 1, 0.5],
    [1, 0.9, 0, 0.3],
  ]);

  it('equals binary cross-entropy of sigmoid(z)', () => {
    // Away from saturation the clipped form is exact too; float32 rounding differs by ~1e-7.
    const a = sigmoidCrossEntropyWithLogits(t, z).dataSync()[0]!;
    const b = binaryCrossEntropy(t, tf.sigmoid(z)).dataSync()[0]!;
    expect(Math.abs(a - b)).toBeLessThan(1e-6);
  });

  it('has the gradient of binary cross-entropy of sigmoid(z)', () => {
    const fused = tf
      .grad((logits: tf.Tensor) => sigmoidCrossEntropyWithLogits(t, logits))(z)
      .dataSync();
    const plain = tf
      .grad((logits: tf.Tensor) => binaryCrossEntropy(t, tf.sigmoid(logits)))(z)
      .dataSync();
    for (let i = 0; i < fused.length; i++)
      expect(Math.abs(fused[i]! - plain[i]!)).toBeLessThan(1e-6);
  });

  it('stays finite where sigmoid saturates', () => {
    const big = tf.tensor1d([-200, 200]);
    const v = sigmoidCrossEntropyWithLogits(tf.tensor1d([1, 0]), big).dataSync()[0]!;
    expect(v).toBeCloseTo(200, 4); // mean of 200 and 200: the exact loss, not a clipped one
  });
});
