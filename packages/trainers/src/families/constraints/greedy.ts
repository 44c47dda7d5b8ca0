import { Dataset } from '@aekit/core';
import type * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { mapBatches } from '../../model/batches.js';
import type { TrainingPhase } from '../../plugin.js';
import { defineConstraint } from '../constraint.js';

/**
 * Greedy layer-wise training: phase k trains the shallow autoencoder made of encoder layer k
 * and its mirror decoder layer, on the codings of layers 1 to k - 1 (computed once when the
 * phase starts, not every epoch); phase 1 reconstructs the samples, later phases their
 * codings (MSE). The phases train the deep model's own layers, so when they are done the
 * deep autoencoder is assembled: hidden layers in order, output layers in reverse. Optional
 * end-to-end fine-tuning follows.
 */
export const greedyConstraint = defineConstraint({
  name: 'greedy',
  title: 'Greedy layer-wise training',
  description:
    'Trains one shallow autoencoder at a time (--epochs each): layer 1 on the samples, layer k on the cached codings of layers 1 to k-1; then optionally fine-tunes the stacked deep autoencoder end to end (--fine-tune-epochs).',
  options: {
    fineTuneEpochs: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('greedy: epochs of end-to-end training after the layer-wise phases'),
  },
  phases: (parts, config) => {
    const depth = parts.encoderLayers.length;
    const phases: TrainingPhase[] = [];
    for (let k = 1; k <= depth; k++) {
      const layers = [parts.encoderLayers[k - 1]!, parts.decoderLayers[depth - k]!];
      const [outer, inner] = [parts.sizes[k - 1]!, parts.sizes[k]!];
      phases.push({
        name: `layer ${k} of ${depth}: ${outer}-${inner}-${outer}`,
        variables: () =>
          layers.flatMap((l) => l.trainableWeights.map((w) => w.read() as tf.Variable)),
        loss: (x, training) => parts.shallowLoss(k, x, training),
        ...(k > 1
          ? {
              inputs: async (data: Dataset) =>
                new Dataset({
                  x: await mapBatches(data, data.sampleShape, (x) => parts.encodeThrough(k - 1, x)),
                  sampleShape: [outer],
                  name: `${data.name} through layer ${k - 1}`,
                  ...(data.labels ? { labels: data.labels } : {}),
                }),
            }
          : {}),
      });
    }
    if (config.fineTuneEpochs > 0) {
      phases.push({
        name: 'fine-tuning end to end',
        epochs: config.fineTuneEpochs,
        loss: parts.loss,
      });
    }
    return phases;
  },
});
