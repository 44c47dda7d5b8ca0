import type { Batch, Dataset } from '@aekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { type LossValue, lossParts } from '../plugin.js';

/** A batch as a tensor of shape `[size, ...sampleShape]`. */
export function toBatchTensor(batch: Batch, sampleShape: readonly number[]): tf.Tensor {
  return tf.tensor(batch.x, [batch.size, ...sampleShape]);
}

/**
 * Mean training loss (`loss`, e.g. a model's) over `data` in inference mode; with
 * `labelled`, the loss also receives each batch's labels (int32, one per sample).
 */
export async function evaluateLoss(
  loss: (x: tf.Tensor, training: boolean, labels?: tf.Tensor1D) => LossValue,
  data: Dataset,
  sampleShape: readonly number[],
  batchSize = 512,
  labelled = false,
): Promise<number> {
  let total: tf.Tensor = tf.scalar(0);
  for (const b of data.batches(batchSize)) {
    const next = tf.tidy(() => {
      const x = toBatchTensor(b, sampleShape);
      const labels = labelled ? tf.tensor1d(b.labels!, 'int32') : undefined;
      return tf.add(total, tf.mul(lossParts(loss(x, false, labels)).total, b.size));
    });
    total.dispose();
    total = next;
  }
  const sum = (await total.data())[0]!;
  total.dispose();
  return sum / Math.max(1, data.count);
}

/** Runs `fn` on `data` in batches and gathers the outputs into one array. */
export async function mapBatches(
  data: Dataset,
  sampleShape: readonly number[],
  fn: (x: tf.Tensor) => tf.Tensor,
  batchSize = 512,
): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  for (const b of data.batches(batchSize)) {
    const out = tf.tidy(() => fn(toBatchTensor(b, sampleShape)));
    parts.push((await out.data()) as Float32Array);
    out.dispose();
  }
  const result = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    result.set(p, offset);
    offset += p.length;
  }
  return result;
}

/**
 * Means over `data` of named per-batch scalars (each a mean over its batch), weighting
 * every batch by its size; the sums stay on the device until the end.
 */
export async function meanOverBatches(
  data: Dataset,
  sampleShape: readonly number[],
  fn: (x: tf.Tensor) => Readonly<Record<string, tf.Scalar>>,
  batchSize = 512,
): Promise<Record<string, number>> {
  const sums = new Map<string, tf.Tensor>();
  for (const b of data.batches(batchSize)) {
    tf.tidy(() => {
      for (const [name, value] of Object.entries(fn(toBatchTensor(b, sampleShape)))) {
        const previous = sums.get(name);
        const next = tf.keep(tf.add(previous ?? 0, tf.mul(value, b.size)));
        previous?.dispose();
        sums.set(name, next);
      }
    });
  }
  const result: Record<string, number> = {};
  for (const [name, sum] of sums) {
    result[name] = (await sum.data())[0]! / Math.max(1, data.count);
    sum.dispose();
  }
  return result;
}
