import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../backends/index.js';
import { Threshold } from '../../layers.js';
import { disposeNetworks } from '../../plugin.js';
import { tempDir } from '../../test-utils/index.js';
import { mnistTest, runModel, trainMnist } from '../../test-utils/mnist.js';

const dir = tempDir();
beforeAll(() => selectBackend('wasm'));

describe('semantic hashing', () => {
  it('Threshold gives 1 above the threshold and 0 elsewhere, and keeps it in its config', () => {
    const layer = new Threshold({ threshold: 0.5, name: 'bits' });
    const out = layer.apply(tf.tensor2d([[0.2, 0.5, 0.50001, 0.9]])) as tf.Tensor;
    expect(out.arraySync()).toEqual([[0, 0, 1, 1]]);
    expect(layer.getConfig()).toMatchObject({ threshold: 0.5, name: 'bits' });
  });

  it('the coding noise saturates the codes, and Hamming retrieval finds same-digit items', async () => {
    const settings = { limit: 10_000, epochs: 3 };
    const noisy = await trainMnist(`${dir}/noisy`, 'hashing', settings);
    const quiet = await trainMnist(`${dir}/quiet`, 'hashing', {
      ...settings,
      options: { codingNoise: 0 },
    });
    const saturated = noisy.report.measures!.saturated!;
    const saturatedQuiet = quiet.report.measures!.saturated!;
    // Measured (10,000 test images, seed 7, wasm): 98.6% of the coding activations are
    // below 0.1 or above 0.9 with noise std 16, 18.8% without noise, where nothing pushes
    // them to the ends. Bounds: well apart from each other, with room for the seed.
    expect(saturated).toBeGreaterThan(0.95);
    expect(saturatedQuiet).toBeLessThan(0.7);
    // precision@10 of Hamming ranking on the test set: 0.716 here, against 0.0997 for the
    // same codes dealt to the images at random (the chance of a same-digit neighbour).
    const r = noisy.report.retrieval!;
    expect(r.k).toBe(10);
    expect(r.precisionAtK).toBeGreaterThan(0.5);
    expect(r.random.precisionAtK).toBeLessThan(0.15);
    // Items within Hamming distance 1 mostly share a digit: Gini purity 0.736 against 0.163
    // at random (9,751 sets of 53 items on average).
    expect(r.radius1Purity.mean!).toBeGreaterThan(2 * r.random.radius1Purity.mean!);
  });

  it('adds the noise in training only: encoding is deterministic, bits are rounded codings', async () => {
    const { run } = await trainMnist(`${dir}/small`, 'hashing', {
      limit: 500,
      epochs: 1,
      options: { layers: [64], bits: 16 },
    });
    const model = runModel(run);
    try {
      const x = mnistTest(20);
      const a = model.encode(x);
      const b = model.encode(x);
      expect(a.shape).toEqual([20, 16]);
      expect(a.arraySync()).toEqual(b.arraySync());
      const [codings, bits] = model.networks.encoder.apply(x) as tf.Tensor[];
      expect(bits!.arraySync()).toEqual(tf.cast(tf.greater(codings!, 0.5), 'float32').arraySync());
    } finally {
      disposeNetworks(model.networks);
    }
  });
});
