import { loadDataset, RunDirectory } from '@aekit/core/node';
import * as tf from '@tensorflow/tfjs-core';
import { type TrainResult, train } from '../engine/train.js';
import { mapBatches } from '../model/batches.js';
import { loadRunModel } from '../model/io.js';
import type { AutoencoderModel } from '../plugin.js';
import { disposeNetworks } from '../plugin.js';
import './index.js';
import { type EvaluationReport, evaluateRun } from '../runs/evaluate.js';

/**
 * Trains `variant` on the first `limit` MNIST (or `data`) training images (wasm, seed 7, no
 * figures), then evaluates it on the test set.
 */
export async function trainMnist(
  out: string,
  variant: string,
  settings: {
    limit: number;
    epochs: number;
    options?: Record<string, unknown>;
    batchSize?: number;
    data?: 'mnist' | 'fashion-mnist';
  },
): Promise<TrainResult & { report: EvaluationReport }> {
  const result = await train({
    variant,
    data: settings.data ?? 'mnist',
    limit: settings.limit,
    epochs: settings.epochs,
    batchSize: settings.batchSize ?? 32,
    seed: 7,
    backend: 'wasm',
    figures: false,
    out,
    options: settings.options ?? {},
  });
  return { ...result, report: await evaluateRun(result.run, { backend: 'wasm' }) };
}

/** The first `n` MNIST test images as a tensor `[n, 28, 28, 1]` in [0, 1]. */
export function mnistTest(n: number): tf.Tensor4D {
  const { dataset } = loadDataset({ source: 'mnist', split: 'test', limit: n });
  return tf.tensor4d(dataset.x, [n, 28, 28, 1]);
}

/** A run's model, rebuilt and loaded (dispose its networks when done). */
export function runModel(run: string): AutoencoderModel {
  return loadRunModel(new RunDirectory(run)).model;
}

/** The codings of the first `n` MNIST test images under a run's model. */
export async function testCodings(run: string, n: number): Promise<Float32Array> {
  const model = runModel(run);
  try {
    const { dataset } = loadDataset({ source: 'mnist', split: 'test', limit: n });
    return await mapBatches(dataset, [28, 28, 1], (x) => model.encode(x));
  } finally {
    disposeNetworks(model.networks);
  }
}
