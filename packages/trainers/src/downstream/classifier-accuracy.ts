import type { Dataset } from '@aekit/core';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { toBatchTensor } from '../model/batches.js';

/** Share of `data` that `classifier` labels right (class `i` is `classes[i]`). */
export async function classifierAccuracy(
  classifier: tfl.LayersModel,
  data: Dataset,
  classes: readonly number[],
  batchSize = 512,
): Promise<number> {
  let right = 0;
  for (const b of data.batches(batchSize)) {
    const predicted = tf.tidy(() =>
      tf.argMax(classifier.apply(toBatchTensor(b, data.sampleShape)) as tf.Tensor, 1),
    );
    const p = await predicted.data();
    predicted.dispose();
    for (let i = 0; i < b.size; i++) if (classes[p[i]!] === b.labels![i]) right++;
  }
  return right / Math.max(1, data.count);
}
