import { loadDataset } from '@aekit/core/node';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../backends/index.js';
import { lossParts } from '../../plugin.js';
import { tempDir } from '../../test-utils/index.js';
import { mnistTest, runModel, trainMnist } from '../../test-utils/mnist.js';
import { latentLoss, vaeVariant } from './index.js';

const dir = tempDir();
beforeAll(() => selectBackend('wasm'));

const build = (options: Record<string, unknown> = {}) =>
  vaeVariant.trainer.build({
    config: vaeVariant.options.parse(options),
    inputShape: [28, 28, 1],
    seed: 3,
  });

describe('vae', () => {
  it('latent loss equals the closed form 0.5 * sum(exp(gamma) + mu^2 - 1 - gamma), per sample', () => {
    const mu = [
      [0.5, -1, 0],
      [2, 0.25, -0.3],
    ];
    const gamma = [
      [0, -1, 0.7],
      [0.3, -2, 1.5],
    ];
    let expected = 0;
    mu.forEach((row, b) => {
      row.forEach((m, j) => {
        const g = gamma[b]![j]!;
        expected += 0.5 * (Math.exp(g) + m * m - 1 - g);
      });
    });
    expected /= mu.length;
    const value = latentLoss(tf.tensor2d(mu), tf.tensor2d(gamma)).dataSync()[0]!;
    expect(value).toBeCloseTo(expected, 5);
    // Zero exactly at the prior: mean 0, log-variance 0.
    expect(latentLoss(tf.zeros([4, 3]), tf.zeros([4, 3])).dataSync()[0]).toBe(0);
  });

  it('minimises reconstruction (cross-entropy summed over pixels) + beta * latent, logged apart', () => {
    const x = mnistTest(16);
    for (const beta of [1, 4]) {
      const model = build({ beta, codingSize: 2 });
      const { total, terms } = lossParts(model.loss(x, true));
      const [t, r, l] = [total, terms.reconstruction!, terms.latent!].map((s) => s.dataSync()[0]!);
      expect(t).toBeCloseTo(r! + beta * l!, 2);
      // Summed over 784 pixels: hundreds of nats for an untrained model, not a mean below 1.
      expect(r).toBeGreaterThan(300);
      // Encoding is deterministic (the mean); only training samples the codings.
      expect(model.encode(x).dataSync()).toEqual(model.encode(x).dataSync());
    }
  });

  it('has mean and log-variance heads, and takes a convolutional body', () => {
    const dense = build({ codingSize: 5 });
    expect(dense.networks.encoder.outputs.map((o) => o.shape)).toEqual([
      [null, 5],
      [null, 5],
    ]);
    const conv = build({ arch: 'conv', codingSize: 5 });
    const kinds = conv.networks.decoder.layers.map((l) => l.getClassName());
    expect(kinds).toContain('Conv2DTranspose');
    expect(conv.networks.encoder.layers.map((l) => l.getClassName())).toContain('Conv2D');
    expect(conv.reconstruct(mnistTest(2)).shape).toEqual([2, 28, 28, 1]);
  });

  it('generates: a classifier trained here takes its samples for digits far more often than noise', async () => {
    const vae = await trainMnist(`${dir}/vae`, 'vae', {
      limit: 10_000,
      epochs: 5,
      batchSize: 64,
      options: { codingSize: 10 },
    });
    const model = runModel(vae.run);

    // A small classifier with an 11th class, "not a digit": 10,000 MNIST training digits and
    // 2,000 noise images (uniform noise, and noise smoothed to blobs).
    const n = 10_000;
    const { dataset } = loadDataset({ source: 'mnist', split: 'train', limit: n });
    const noise = (count: number, seed: number) =>
      tf.tidy(() => {
        const white = tf.randomUniform([count, 28, 28, 1], 0, 1, 'float32', seed);
        const blobs = tf.image.resizeBilinear(
          tf.randomUniform([count, 7, 7, 1], 0, 1, 'float32', seed + 1),
          [28, 28],
        );
        return tf.concat([tf.slice(white, 0, count / 2), tf.slice(blobs, count / 2)]);
      });
    const x = tf.concat([tf.tensor4d(dataset.x, [n, 28, 28, 1]), noise(2000, 5)]);
    const y = tf.oneHot(
      tf.tensor1d([...dataset.labels!, ...new Array(2000).fill(10)], 'int32'),
      11,
    );
    const classifier = tfl.sequential({
      layers: [
        tfl.layers.flatten({ inputShape: [28, 28, 1] }),
        tfl.layers.dense({ units: 128, activation: 'relu' }),
        tfl.layers.dense({ units: 11, activation: 'softmax' }),
      ],
    });
    classifier.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
    await classifier.fit(x, y, { epochs: 3, batchSize: 64, shuffle: true, verbose: 0 });
    const digitRate = (images: tf.Tensor) =>
      tf.tidy(() => {
        const label = tf.argMax(classifier.predict(images) as tf.Tensor, 1);
        return tf.mean(tf.cast(tf.less(label, 10), 'float32')).dataSync()[0]!;
      });

    const prior = tf.randomNormal([500, 10], 0, 1, 'float32', 11);
    const samples = model.networks.decoder.predict(prior) as tf.Tensor;
    const rates = {
      samples: digitRate(samples),
      noise: digitRate(noise(500, 21)),
      testDigits: digitRate(mnistTest(500)),
      untrained: digitRate(build({ codingSize: 10 }).networks.decoder.predict(prior) as tf.Tensor),
    };
    console.log(`[vae] taken for digits: ${JSON.stringify(rates)}`);
    // Measured: samples 1.0, noise 0, real test digits 1.0, and 0 for the same decoder
    // untrained (so the classifier does not just accept any dark-background image).
    expect(rates.testDigits).toBeGreaterThan(0.95);
    expect(rates.samples).toBeGreaterThan(0.8);
    expect(rates.noise).toBeLessThan(0.1);
    expect(rates.untrained).toBeLessThan(0.1);
  });
});
