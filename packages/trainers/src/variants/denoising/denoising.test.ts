import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../backends/index.js';
import { corrupt } from '../../families/constraints/denoising.js';
import { tempDir } from '../../test-utils/index.js';
import { mnistTest, runModel, trainMnist } from '../../test-utils/mnist.js';

const dir = tempDir();
beforeAll(() => selectBackend('wasm'));

describe('denoising', () => {
  // A 784-300-150 denoiser (as the reference), 3 epochs on 12,000 images; the test corrupts
  // 1,000 test digits the same way as training did and compares MSEs to the clean digits.
  for (const [noise, options, measured] of [
    ['gaussian', { noiseStd: 0.3 }, 'about 3.4'],
    ['dropout', { noiseRate: 0.5 }, '2.44'],
  ] as const) {
    it(`removes ${noise} noise: output at least 2x closer to the clean digits than the input (measured ${measured}x)`, async () => {
      const { run } = await trainMnist(`${dir}/${noise}`, 'denoising', {
        limit: 12_000,
        epochs: 3,
        options: { layers: [300, 150], noise, ...options },
      });
      const model = runModel(run);
      const clean = mnistTest(1000);
      const settings = { noise, noiseStd: 0.3, noiseRate: 0.5, ...options };
      const noisy = corrupt(clean, settings, 99);
      const inputMse = tf.mean(tf.squaredDifference(noisy, clean)).dataSync()[0]!;
      const out = model.reconstruct(noisy);
      const outputMse = tf.mean(tf.squaredDifference(out, clean)).dataSync()[0]!;
      expect(inputMse / outputMse).toBeGreaterThan(2);
      // Inference is deterministic: no noise outside training.
      expect(model.reconstruct(noisy).dataSync()).toEqual(out.dataSync());
    });
  }

  it('corrupts as documented: N(0, std) added, or values switched off at the rate', () => {
    const x = tf.ones([200, 100]);
    const g = corrupt(x, { noise: 'gaussian', noiseStd: 0.3, noiseRate: 0.5 }, 1);
    const d = corrupt(x, { noise: 'dropout', noiseStd: 0.3, noiseRate: 0.25 }, 1);
    const std = Math.sqrt(tf.mean(tf.square(tf.sub(g, x))).dataSync()[0]!);
    const off = tf.mean(tf.cast(tf.equal(d, 0), 'float32')).dataSync()[0]!;
    // 20,000 draws: the sample std and the off fraction are within 2% (absolute) of the asked.
    expect(std).toBeCloseTo(0.3, 1);
    expect(Math.abs(off - 0.25)).toBeLessThan(0.02);
    expect(Array.from(new Set(d.dataSync()))).toEqual(expect.arrayContaining([0, 1]));
  });
});
