import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDataset } from '@aekit/core/node';
import { loadAutoencoder } from '@aekit/runtime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aekit } from './test-utils/aekit.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-gsn-e2e-'));
const run = join(dir, 'gsn');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** For each of `n` images, the smallest mean squared distance to a reference image. */
function nearestMse(images: Float32Array, reference: Float32Array, size: number): number[] {
  const n = images.length / size;
  const m = reference.length / size;
  return Array.from({ length: n }, (_, i) => {
    let best = Number.POSITIVE_INFINITY;
    for (let j = 0; j < m; j++) {
      let d = 0;
      for (let k = 0; k < size; k++) d += (images[i * size + k]! - reference[j * size + k]!) ** 2;
      best = Math.min(best, d / size);
    }
    return best;
  });
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

beforeAll(async () => {
  const trained = await aekit(
    'train',
    '--variant',
    'gsn',
    '--noise',
    'dropout',
    '--noise-rate',
    '0.5',
    '--layers',
    '300,150',
    '--data',
    'mnist',
    '--limit',
    '10000',
    '--epochs',
    '4',
    '--backend',
    'wasm',
    '--no-figures',
    '--out',
    run,
  );
  expect(trained.code, trained.stderr).toBe(0);
  const exported = await aekit('export', run);
  expect(exported.code, exported.stderr).toBe(0);
});

describe('a generative stochastic network samples by running its denoising chain', () => {
  it('records its chain in aekit.json', () => {
    const meta = JSON.parse(readFileSync(join(run, 'onnx', 'aekit.json'), 'utf8'));
    expect(meta.capabilities).toEqual(['sample']);
    expect(meta.sampler).toEqual({
      kind: 'chain',
      noise: 'dropout',
      noiseStd: 0.2,
      noiseRate: 0.5,
      steps: 30,
    });
  });

  it("the chain's samples are far closer to real digits than the noise it starts from", async () => {
    const ae = await loadAutoencoder(run, { device: 'cpu' });
    try {
      const n = 40;
      const samples = await ae.sample(n, { seed: 1 });
      expect(samples.shape).toEqual([n, 28, 28, 1]);
      expect(samples.steps).toBe(30);
      expect(samples.codings).toBeUndefined();
      const again = await ae.sample(n, { seed: 1 });
      expect(Array.from(again.data)).toEqual(Array.from(samples.data));
      const fewer = await ae.sample(n, { seed: 1, steps: 1 });

      // Distance to the nearest of 2,000 real training digits, for the chain's samples, for
      // one step of the chain, and for uniform noise like the chain's start.
      const reference = loadDataset({ source: 'mnist', split: 'train', limit: 2000 }).dataset.x;
      const noise = Float32Array.from({ length: n * 784 }, (_, i) => ((i * 7919) % 1000) / 1000);
      const chain = mean(nearestMse(samples.data, reference, 784));
      const oneStep = mean(nearestMse(fewer.data, reference, 784));
      const start = mean(nearestMse(noise, reference, 784));
      const test = loadDataset({ source: 'mnist', split: 'test', limit: n }).dataset.x;
      const real = mean(nearestMse(test, reference, 784));
      console.log(
        `[gsn] mean MSE to the nearest real digit: chain ${chain.toFixed(4)}, one step ${oneStep.toFixed(4)}, noise ${start.toFixed(4)}, real test digits ${real.toFixed(4)}`,
      );
      // Measured: chain 0.094, noise 0.293 (ratio 0.32); real test digits sit lower still.
      // Half the noise's distance asks for a clear move towards the data.
      expect(chain).toBeLessThan(0.5 * start);
      expect(real).toBeLessThan(chain);
    } finally {
      await ae.dispose();
    }
  });

  it('aekit sample runs the chain from the command line', async () => {
    const out = join(dir, 'chain.png');
    const r = await aekit(
      'sample',
      run,
      '--n',
      '20',
      '--steps',
      '10',
      '--seed',
      '2',
      '--out',
      out,
      '--device',
      'cpu',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('20 Markov chains of 10 steps');
  });
});
