import { Dataset, registerVariant } from '@aekit/core';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { mapBatches } from '../model/batches.js';
import { defineTfjsVariant } from '../plugin.js';
import { tempDir } from '../test-utils/index.js';
import type { TrainEvent } from './events.js';
import { train } from './train.js';

const dir = tempDir();

/**
 * A two-phase model: phase 1 trains a first dense layer to reconstruct the samples, phase 2
 * trains a second one on the first layer's outputs (its `inputs`). Counts how often the
 * engine asks for phase inputs.
 */
const calls = { inputs: 0 };
const phasedVariant = defineTfjsVariant({
  name: 'test-phased',
  title: 'phases',
  description: 'test',
  options: z.object({}).strict(),
  capabilities: [],
  trainer: {
    build: ({ inputShape }) => {
      const features = inputShape.reduce((a, b) => a * b, 1);
      const encoder = tfl.sequential({
        layers: [
          tfl.layers.flatten({ inputShape: [...inputShape] }),
          tfl.layers.dense({ units: 8, activation: 'sigmoid', name: 'first' }),
        ],
      });
      const decoder = tfl.sequential({
        layers: [tfl.layers.dense({ units: features, inputShape: [8], name: 'second' })],
      });
      const weights = (m: tfl.LayersModel) =>
        m.trainableWeights.map((w) => w.read() as tf.Variable);
      const mse = (a: tf.Tensor, b: tf.Tensor) => tf.mean(tf.squaredDifference(a, b)) as tf.Scalar;
      return {
        networks: { encoder, decoder },
        reconstructionLoss: 'mse',
        loss: (x) =>
          mse(tf.reshape(x, [x.shape[0]!, -1]), decoder.apply(encoder.apply(x)) as tf.Tensor),
        phases: [
          {
            name: 'encoder alone',
            epochs: 2,
            variables: () => weights(encoder),
            loss: (x) =>
              mse(
                tf.mean(tf.reshape(x, [x.shape[0]!, -1]), 1, true),
                encoder.apply(x) as tf.Tensor,
              ),
          },
          {
            name: 'decoder on cached codings',
            epochs: 3,
            variables: () => weights(decoder),
            inputs: async (data: Dataset) => {
              calls.inputs++;
              const x = await mapBatches(
                data,
                data.sampleShape,
                (t) => encoder.apply(t) as tf.Tensor,
              );
              return new Dataset({ x, sampleShape: [8] });
            },
            loss: (codings) => {
              const out = decoder.apply(codings) as tf.Tensor;
              return {
                total: tf.mean(tf.square(out)) as tf.Scalar,
                terms: { energy: tf.mean(tf.square(out)) as tf.Scalar },
              };
            },
          },
        ],
        reconstruct: (x) => decoder.apply(encoder.apply(x)) as tf.Tensor,
        encode: (x) => encoder.apply(x) as tf.Tensor,
      };
    },
  },
});
registerVariant(phasedVariant);

describe('training in phases', () => {
  it('runs each phase for its epochs, with its inputs computed once, and records it', async () => {
    const events: TrainEvent[] = [];
    const r = await train(
      {
        variant: 'test-phased',
        data: 'mnist',
        limit: 300,
        batchSize: 50,
        epochs: 9, // the phases' own epochs take precedence
        figures: false,
        backend: 'wasm',
        out: `${dir}/phased`,
      },
      (e) => events.push(e),
    );
    expect(r.metrics.map((m) => m.phase)).toEqual([1, 1, 2, 2, 2]);
    expect(r.manifest.phases).toEqual([
      { name: 'encoder alone', epochs: 2 },
      { name: 'decoder on cached codings', epochs: 3 },
    ]);
    // Phase 2's inputs: once for the training split, once for the validation split, not per epoch.
    expect(calls.inputs).toBe(2);
    expect(
      events.filter((e) => e.type === 'phase').map((e) => (e as { name: string }).name),
    ).toEqual(['encoder alone', 'decoder on cached codings']);
    // Phase 2 logs its term, and minimises it.
    const phase2 = r.metrics.filter((m) => m.phase === 2);
    expect(phase2.every((m) => typeof m.energy === 'number')).toBe(true);
    expect(phase2[2]!.energy).toBeLessThan(phase2[0]!.energy!);
  });

  it('refuses early stopping, which watches one validation loss', async () => {
    await expect(
      train({
        variant: 'test-phased',
        data: 'mnist',
        limit: 100,
        patience: 2,
        figures: false,
        backend: 'wasm',
        out: `${dir}/patience`,
      }),
    ).rejects.toMatchObject({ code: 'InvalidTrainingOptions' });
  });
});
