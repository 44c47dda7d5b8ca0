import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listVariants } from '@aekit/core';
import { loadDataset, RunDirectory } from '@aekit/core/node';
import { loadAutoencoder } from '@aekit/runtime-web';
import {
  disposeNetworks,
  loadRunModel,
  mapBatches,
  registerBuiltinVariants,
  selectBackend,
} from '@aekit/trainers';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { aekit } from './test-utils/aekit.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-variants-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Every registered variant, by what the registry says: none is named here.
registerBuiltinVariants();
const variants = listVariants().map((v) => v.name);
// Each variant alone, the book's combination (a tied, denoising, sparse stacked autoencoder)
// and the convolutional VAE and WTA.
const COMBINED = ['--with', 'tied,denoising,sparse'];
const cases: [string, string[]][] = [
  ...variants.map((v): [string, string[]] => [v, []]),
  ['stacked', COMBINED],
  ['vae', ['--arch', 'conv']],
  ['wta', ['--arch', 'conv', '--filters', '8', '--decoder-kernel', '7']],
];

describe('every variant: aekit train -> aekit export -> runtime reconstruction', () => {
  it('the registry holds the dense constraint variants', () => {
    expect(variants).toEqual(
      expect.arrayContaining(['tied', 'greedy', 'denoising', 'sparse', 'contractive']),
    );
  });

  it.each(cases)('%s %s', async (variant, extra) => {
    const run = join(dir, [variant, ...extra].join('_').replace(/[^\w]+/g, '-'));
    const trained = await aekit(
      'train',
      '--variant',
      variant,
      ...extra,
      '--data',
      'mnist',
      '--limit',
      '600',
      '--epochs',
      '1',
      '--backend',
      'wasm',
      '--no-figures',
      '--out',
      run,
    );
    expect(trained.code, trained.stderr).toBe(0);
    const exported = await aekit('export', run);
    expect(exported.code, exported.stderr).toBe(0);
    // The export's own parity check against tfjs passed for every graph.
    expect(exported.stdout).toMatch(/autoencoder\.onnx {2}input -> reconstruction/);

    const test = loadDataset({ source: 'mnist', split: 'test', limit: 8 }).dataset;
    await selectBackend('wasm');
    const { model, manifest } = loadRunModel(new RunDirectory(run));
    if (extra === COMBINED) {
      // All three at once: the decoder keeps only its biases (100 + 784), the sparsity
      // term is logged apart, and the run records the constraints it trained with.
      expect(model.networks.decoder.countParams()).toBe(884);
      expect(trained.stderr).toMatch(/reconstruction [\d.e-]+ +sparsity [\d.e-]+/);
      expect(manifest.options).toMatchObject({ with: ['tied', 'denoising', 'sparse'] });
    }
    const want = await mapBatches(test, manifest.inputShape, (x) => model.reconstruct(x));
    const ae = await loadAutoencoder(run, { device: 'cpu' });
    try {
      const got = await ae.reconstruct({ data: test.x, shape: [8, 28, 28, 1] });
      expect(got.shape).toEqual([8, 28, 28, 1]);
      // ONNX Runtime and tfjs both in float32, summing in other orders (as the export checks).
      expect(maxAbsDiff(got.data, want)).toBeLessThan(1e-5);
      if (ae.info.capabilities.includes('sample')) {
        // Models that sample from a prior decode the codings they drew as tfjs does.
        const sampled = await ae.sample(3, { seed: 1 });
        expect(sampled.shape).toEqual([3, 28, 28, 1]);
        expect(sampled.data.every(Number.isFinite)).toBe(true);
        if (sampled.codings) {
          const codings = tf.tensor(sampled.codings.data, sampled.codings.shape);
          const decoded = tf.tidy(() => model.networks.decoder.apply(codings) as tf.Tensor);
          expect(maxAbsDiff(sampled.data, decoded.dataSync())).toBeLessThan(1e-5);
          tf.dispose([codings, decoded]);
        }
      }
    } finally {
      await ae.dispose();
      disposeNetworks(model.networks);
    }
  });
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}
