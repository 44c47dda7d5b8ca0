import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RunDirectory } from '@aekit/core/node';
import * as tf from '@tensorflow/tfjs-core';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backends/index.js';
import { train } from '../engine/train.js';
import { loadRunModel } from '../model/io.js';
import { disposeNetworks } from '../plugin.js';
import { drawFigures } from '../runs/figures.js';
import { tempDir } from '../test-utils/index.js';
import '../test-utils/mnist.js';
import { drawSamples, samplerCaption } from './sampling.js';

const dir = tempDir();
let run: string;
let written: readonly string[] = [];
beforeAll(async () => {
  await selectBackend('wasm');
  const result = await train(
    {
      variant: 'gsn',
      data: 'mnist',
      limit: 3000,
      epochs: 3,
      batchSize: 32,
      seed: 7,
      backend: 'wasm',
      figures: true,
      out: join(dir, 'gsn'),
      options: { noise: 'dropout', noiseRate: 0.5, layers: [300, 150] },
    },
    (event) => {
      if (event.type === 'figures') written = event.paths;
    },
  );
  run = result.run;
});

describe('samples.png for every sampler kind', () => {
  it('a GSN run (a chain sampler) writes figures/samples.png, titled with its chain', () => {
    expect(written).toContain(join(run, 'figures', 'samples.png'));
    const png = PNG.sync.read(readFileSync(join(run, 'figures', 'samples.png')));
    // 6 rows of 10 images of 84 px under a title, drawn at zoom 2.
    expect(png.width).toBeGreaterThan(2 * 10 * 84);
    expect(png.height).toBeGreaterThan(2 * 6 * 84);
    expect(
      samplerCaption({ kind: 'chain', noise: 'dropout', noiseStd: 0, noiseRate: 0.5, steps: 30 }),
    ).toBe('last reconstructions of a 30-step chain from uniform noise (dropout noise p = 0.5)');
  });

  it('aekit figures draws samples.png too, from the variant’s sampler', async () => {
    const samples = join(run, 'figures', 'samples.png');
    rmSync(samples);
    const figures = await drawFigures(run, {
      backend: 'wasm',
      units: 2,
      top: 2,
      searched: 100,
      mapSamples: 20,
      dreamSteps: 2,
    });
    expect(figures).toContain(samples);
    expect(existsSync(samples)).toBe(true);
  });

  it('the chain draws digit-like images: dark on average, each with strokes, not all alike', async () => {
    const dirRun = new RunDirectory(run);
    const manifest = dirRun.readManifest();
    const { model } = loadRunModel(dirRun, manifest);
    try {
      const sampler = { kind: 'chain', noise: 'dropout', noiseStd: 0.2, noiseRate: 0.5, steps: 30 };
      const before = tf.memory().numTensors;
      const samples = await drawSamples(model, sampler as never, 20, manifest, 7);
      expect(tf.memory().numTensors).toBe(before);
      const size = 28 * 28;
      const stats = Array.from({ length: 20 }, (_, i) => {
        const s = samples.subarray(i * size, (i + 1) * size);
        const m = s.reduce((a, b) => a + b, 0) / size;
        return { m, v: s.reduce((a, b) => a + (b - m) ** 2, 0) / size, s };
      });
      const meanPixel = stats.reduce((a, b) => a + b.m, 0) / 20;
      // MNIST's mean pixel is 0.13, uniform noise's 0.5, a blank image's 0. Measured: 0.21
      // to 0.23 over seeds 1, 2, 3 and 7 (after this short training the chains draw thick
      // digits, mostly zeros).
      expect(meanPixel).toBeGreaterThan(0.05);
      expect(meanPixel).toBeLessThan(0.4);
      // Each sample has strokes on a dark ground (a constant image's variance is 0).
      // Measured: at least 0.05 for every sample over those seeds.
      for (const { v } of stats) expect(v).toBeGreaterThan(0.02);
      // And the chains do not all end on one image.
      let apart = 0;
      for (let k = 0; k < size; k++) apart += (stats[0]!.s[k]! - stats[1]!.s[k]!) ** 2;
      // Measured: 0.028 between the first two.
      expect(apart / size).toBeGreaterThan(0.005);
      // Seeded: the same seed gives the same samples.
      const again = await drawSamples(model, sampler as never, 20, manifest, 7);
      expect(again).toEqual(samples);
    } finally {
      disposeNetworks(model.networks);
    }
  });
});
