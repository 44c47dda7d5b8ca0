import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../backends/index.js';
import { tempDir } from '../../test-utils/index.js';
import { trainMnist } from '../../test-utils/mnist.js';
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
});
