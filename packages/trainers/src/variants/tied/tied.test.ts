import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../backends/index.js';
import { tempDir } from '../../test-utils/index.js';
import { mnistTest, runModel, trainMnist } from '../../test-utils/mnist.js';
import { stackedVariant } from '../stacked/index.js';
import { tiedVariant } from './index.js';

const dir = tempDir();
const build = (plugin: typeof tiedVariant) =>
  plugin.trainer.build({
    config: plugin.options.parse({}),
    inputShape: [28, 28, 1],
    seed: 1,
  });
const count = (m: ReturnType<typeof build>) =>
  m.networks.encoder.countParams() + m.networks.decoder.countParams();

beforeAll(() => selectBackend('wasm'));

describe('tied weights', () => {
  it('has the encoder weights plus one bias per decoder unit: 82,414 against 163,814', () => {
    const untied = build(stackedVariant);
    const tied = build(tiedVariant);
    // encoder 784*100 + 100 + 100*30 + 30 = 81,530; an untied decoder adds 30*100 + 100 +
    // 100*784 + 784 = 82,284, a tied one only its biases, 100 + 784.
    expect(count(untied)).toBe(163_814);
    expect(count(tied)).toBe(81_530 + 100 + 784);
    expect(count(tied) / count(untied)).toBeCloseTo(0.503, 3);
  });

  it('decodes with the transposes of the encoder kernels', () => {
    const model = build(tiedVariant);
    const encoderKernels = model.networks.encoder.weights.filter((w) =>
      w.originalName.endsWith('kernel'),
    );
    const before = tf.tidy(() => model.reconstruct(mnistTest(4)).dataSync());
    // Changing an encoder kernel changes the decoder: it has no kernel of its own.
    encoderKernels[0]!.write(tf.mul(encoderKernels[0]!.read(), 0.5));
    const after = tf.tidy(() => model.reconstruct(mnistTest(4)).dataSync());
    expect(after).not.toEqual(before);
    expect(model.networks.decoder.weights.map((w) => w.shape)).toEqual([[100], [784]]);
  });

  it('reaches the untied test loss within 5% on MNIST, and saves and loads', async () => {
    const settings = { limit: 10_000, epochs: 3 };
    const untied = await trainMnist(`${dir}/untied`, 'stacked', settings);
    const tied = await trainMnist(`${dir}/tied`, 'tied', settings);
    // Measured: 0.1274 tied against 0.1285 untied (BCE on the 10,000 test images).
    const gap = Math.abs(tied.report.loss - untied.report.loss) / untied.report.loss;
    expect(gap).toBeLessThan(0.05);
    // The saved run reloads with the decoder tied again: same test loss as just measured.
    const model = runModel(tied.run);
    const x = mnistTest(64);
    const reloaded = tf.tidy(() => model.reconstruct(x).dataSync());
    expect(reloaded.every(Number.isFinite)).toBe(true);
    expect(model.networks.decoder.countParams()).toBe(884);
  });
});
