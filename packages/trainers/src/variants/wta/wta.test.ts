import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../backends/index.js';
import { disposeNetworks } from '../../plugin.js';
import { tempDir } from '../../test-utils/index.js';
import { runModel, trainMnist } from '../../test-utils/mnist.js';
import { winnersPerUnit, winnerTakeAll } from './index.js';

const dir = tempDir();
beforeAll(() => selectBackend('wasm'));

describe('winner-take-all', () => {
  it("keeps each unit's k largest activations over the batch, and passes gradients through them only", () => {
    const h = tf.tensor2d([
      [0.5, 0, 3],
      [2, 1, 0.1],
      [1, 4, 0.2],
      [0.1, 2, 5],
    ]);
    expect(winnersPerUnit(4, 0.5)).toBe(2);
    expect(winnerTakeAll(h, 2).arraySync()).toEqual([
      [0, 0, 3],
      [2, 0, 0],
      [1, 4, 0],
      [0, 2, 5],
    ]);
    const grad = tf.grad((x: tf.Tensor) => tf.sum(winnerTakeAll(x, 1)))(h);
    expect(grad.arraySync()).toEqual([
      [0, 0, 0],
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
  });

  it("on feature maps: one winner per map (spatial), then each channel's k best winners (lifetime)", () => {
    // 3 samples, 2x2 maps, 2 channels.
    const h = tf.tensor4d([
      [
        [
          [1, 0],
          [3, 0.5],
        ],
        [
          [2, 0.2],
          [0, 0.1],
        ],
      ],
      [
        [
          [0.5, 4],
          [0, 1],
        ],
        [
          [0.2, 0],
          [0.1, 0],
        ],
      ],
      [
        [
          [0, 0],
          [0, 0],
        ],
        [
          [5, 0],
          [0, 0],
        ],
      ],
    ]);
    // Spatial winners: sample 0 -> 3 (ch 0) and 0.5 (ch 1); sample 1 -> 0.5 and 4; sample 2
    // -> 5 and none (all zero). Lifetime, k = 2: channel 0 keeps 5 and 3, channel 1 keeps 4
    // and 0.5.
    expect(winnerTakeAll(h, 2).arraySync()).toEqual([
      [
        [
          [0, 0],
          [3, 0.5],
        ],
        [
          [0, 0],
          [0, 0],
        ],
      ],
      [
        [
          [0, 4],
          [0, 0],
        ],
        [
          [0, 0],
          [0, 0],
        ],
      ],
      [
        [
          [0, 0],
          [0, 0],
        ],
        [
          [5, 0],
          [0, 0],
        ],
      ],
    ]);
  });

  it('conv: trains with one non-zero code in the rate of the maps', async () => {
    const { metrics, run } = await trainMnist(`${dir}/conv`, 'wta', {
      limit: 1000,
      epochs: 1,
      batchSize: 100,
      options: { arch: 'conv', filters: [16], decoderKernel: 7, wtaRate: 0.1 },
    });
    // 10 of the 100 samples keep their map's winner, in every channel.
    expect(Math.abs(metrics[0]!.nonzero! - 0.1)).toBeLessThan(0.005);
    expect(run).toBeTruthy();
  });

  it('trains with the fraction of non-zero codes equal to the rate', async () => {
    // Batch 100 at rate 5%: each unit keeps exactly 5 of 100 activations, so 5% of the codes
    // are non-zero unless a unit has fewer than 5 positive activations in a batch.
    const settings = { limit: 10_000, epochs: 3, batchSize: 100 };
    const wta = await trainMnist(`${dir}/wta`, 'wta', {
      ...settings,
      options: { layers: [400], wtaRate: 0.05 },
    });
    const dense = await trainMnist(`${dir}/dense`, 'wta', {
      ...settings,
      options: { layers: [400], wtaRate: 1 },
    });
    for (const m of wta.metrics) expect(Math.abs(m.nonzero! - 0.05)).toBeLessThan(0.002);
    // Without sparsity, about half the ReLU codes are active.
    expect(dense.metrics.at(-1)!.nonzero!).toBeGreaterThan(0.2);
  });

  it("learns localised features: half of a decoder feature's energy sits in few pixels", async () => {
    // The paper's setting: linear decoder, squared error, 5% lifetime sparsity; against the
    // same network without sparsity (rate 1: a plain stacked ReLU autoencoder).
    const settings = { limit: 10_000, epochs: 5, batchSize: 100 };
    const options = { layers: [400], loss: 'mse' };
    const sparse = await trainMnist(`${dir}/local`, 'wta', {
      ...settings,
      options: { ...options, wtaRate: 0.05 },
    });
    const dense = await trainMnist(`${dir}/global`, 'wta', {
      ...settings,
      options: { ...options, wtaRate: 1 },
    });
    const a = await featureLocality(sparse.run);
    const b = await featureLocality(dense.run);
    // Measured (seed 7, wasm): half of a feature's squared weights lie in 4.9% of the pixels
    // (median over the 400 features) with winner-take-all, 16.6% without; the energy's
    // spatial spread is 7.1 against 10.8 pixels. Bounds halfway-ish, so that a run whose
    // features are no more local than the dense ones fails.
    expect(a.pixelsForHalfEnergy).toBeLessThan(0.5 * b.pixelsForHalfEnergy);
    expect(a.spread).toBeLessThan(0.8 * b.spread);
  });
});

/**
 * How local a run's decoder features are (each a row of the last dense kernel, one weight
 * per pixel), as medians over the features: the fraction of pixels holding half of the
 * feature's squared weights, and the root mean squared distance of those weights from their
 * centre, in pixels.
 */
async function featureLocality(
  run: string,
): Promise<{ pixelsForHalfEnergy: number; spread: number }> {
  const model = runModel(run);
  try {
    const dense = model.networks.decoder.layers.filter((l) => l.getClassName() === 'Dense').at(-1)!;
    const kernel = dense.getWeights()[0]!;
    const [units, pixels] = kernel.shape as [number, number];
    const w = await kernel.data();
    const side = Math.sqrt(pixels);
    const fractions: number[] = [];
    const spreads: number[] = [];
    for (let u = 0; u < units; u++) {
      const energy = Array.from(w.subarray(u * pixels, (u + 1) * pixels), (v) => v * v);
      const total = energy.reduce((s, e) => s + e, 0);
      const sorted = [...energy].sort((p, q) => q - p);
      let held = 0;
      let count = 0;
      while (held < total / 2) held += sorted[count++]!;
      fractions.push(count / pixels);
      let cx = 0;
      let cy = 0;
      energy.forEach((e, i) => {
        cx += (e * (i % side)) / total;
        cy += (e * Math.floor(i / side)) / total;
      });
      let variance = 0;
      energy.forEach((e, i) => {
        variance += (e * ((i % side) - cx) ** 2 + e * (Math.floor(i / side) - cy) ** 2) / total;
      });
      spreads.push(Math.sqrt(variance));
    }
    const median = (v: number[]) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)]!;
    return { pixelsForHalfEnergy: median(fractions), spread: median(spreads) };
  } finally {
    disposeNetworks(model.networks);
  }
}
