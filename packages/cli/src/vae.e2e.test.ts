import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunDirectory } from '@aekit/core/node';
import { loadAutoencoder } from '@aekit/runtime-web';
import { disposeNetworks, loadEvaluationData, loadRunModel, selectBackend } from '@aekit/trainers';
import * as tf from '@tensorflow/tfjs-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aekit } from './test-utils/aekit.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-vae-e2e-'));
const run = join(dir, 'vae');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  const trained = await aekit(
    'train',
    '--variant',
    'vae',
    '--coding-size',
    '2',
    '--layers',
    '64',
    '--data',
    'mnist',
    '--binarize',
    '--limit',
    '1000',
    '--epochs',
    '1',
    '--backend',
    'wasm',
    '--out',
    run,
  );
  expect(trained.code, trained.stderr).toBe(0);
  const exported = await aekit('export', run);
  expect(exported.code, exported.stderr).toBe(0);
  expect(exported.stdout).toMatch(/encoder\.onnx {2}input -> codings \+ log_variance/);
});

describe('a VAE from the command line: train, export, sample, interpolate', () => {
  it('training wrote samples.png and, for a 2-D coding, latent-grid.png (15 x 15 images)', () => {
    // A chart: the 15 x 15 decoded 28 x 28 images, drawn at zoom 2, with axes and a title.
    const grid = PNG.sync.read(readFileSync(join(run, 'figures', 'latent-grid.png')));
    expect(grid.width).toBeGreaterThan(2 * 15 * 28);
    expect(grid.height).toBeGreaterThan(2 * 15 * 28);
    const samples = PNG.sync.read(readFileSync(join(run, 'figures', 'samples.png')));
    expect(samples.width).toBeGreaterThan(samples.height); // 6 rows of 10
  });

  it('no exported graph holds a random op', () => {
    for (const graph of ['encoder', 'decoder', 'autoencoder']) {
      // ONNX stores each node's op_type as a plain string.
      const bytes = readFileSync(join(run, 'onnx', `${graph}.onnx`)).toString('latin1');
      expect(bytes).not.toMatch(/Random(Normal|Uniform)|Multinomial|Bernoulli/);
    }
  });

  it('the runtime encodes to mean and log-variance, equal to the trained model', async () => {
    await selectBackend('wasm');
    const { model, manifest } = loadRunModel(new RunDirectory(run));
    const test = loadEvaluationData(manifest).heldOut.slice(0, 8);
    const [mean, logVariance] = model.networks.encoder.predict(
      tf.tensor4d(test.x, [8, 28, 28, 1]),
    ) as tf.Tensor[];
    const ae = await loadAutoencoder(run, { device: 'cpu' });
    try {
      const encoded = await ae.encode({ data: test.x, shape: [8, 28, 28, 1] });
      expect(encoded.shape).toEqual([8, 2]);
      expect(encoded.logVariance?.shape).toEqual([8, 2]);
      const close = (a: ArrayLike<number>, b: ArrayLike<number>) =>
        Array.from(a).every((v, i) => Math.abs(v - b[i]!) < 1e-5);
      expect(close(encoded.data, mean!.dataSync())).toBe(true);
      expect(close(encoded.logVariance!.data, logVariance!.dataSync())).toBe(true);
      expect(ae.info.capabilities).toContain('sample');
    } finally {
      await ae.dispose();
      disposeNetworks(model.networks);
    }
  });

  it('aekit sample is deterministic with a seed', async () => {
    const draw = async (seed: string, name: string) => {
      const out = join(dir, name);
      const r = await aekit(
        'sample',
        run,
        '--n',
        '60',
        '--out',
        out,
        '--seed',
        seed,
        '--device',
        'cpu',
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`seed ${seed}`);
      return readFileSync(out);
    };
    const a = await draw('3', 'a.png');
    const b = await draw('3', 'b.png');
    const c = await draw('4', 'c.png');
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
    const png = PNG.sync.read(a);
    expect(png.width).toBeGreaterThan(png.height); // 10 columns, 6 rows
  });

  it('aekit interpolate decodes the line between two test images', async () => {
    const out = join(dir, 'line.npy');
    const r = await aekit(
      'interpolate',
      run,
      '--from',
      'test:0',
      '--to',
      'test:1',
      '--steps',
      '7',
      '--out',
      out,
      '--device',
      'cpu',
    );
    expect(r.code, r.stderr).toBe(0);
    const { readNpy } = await import('@aekit/core/node');
    const line = readNpy(out);
    expect(line.shape).toEqual([7, 28, 28, 1]);
    // The ends are the reconstructions of the two images, so they differ; the middle lies
    // between them in coding space, so it is closer to each end than the ends are apart.
    const img = (i: number) => line.data.subarray(i * 784, (i + 1) * 784);
    const dist = (a: Float32Array, b: Float32Array) =>
      Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0));
    const apart = dist(img(0), img(6));
    expect(apart).toBeGreaterThan(0.5);
    expect(dist(img(0), img(3))).toBeLessThan(apart);
    expect(dist(img(6), img(3))).toBeLessThan(apart);

    const bad = await aekit(
      'interpolate',
      run,
      '--from',
      'test:99999',
      '--to',
      'test:1',
      '--out',
      out,
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('past its end');
  });

  it('a variant that cannot sample says so', async () => {
    const stacked = join(dir, 'stacked');
    await aekit(
      'train',
      '--variant',
      'stacked',
      '--limit',
      '300',
      '--epochs',
      '1',
      '--backend',
      'wasm',
      '--no-figures',
      '--out',
      stacked,
    );
    await aekit('export', stacked);
    const r = await aekit(
      'sample',
      stacked,
      '--n',
      '4',
      '--out',
      join(dir, 'x.png'),
      '--device',
      'cpu',
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error [CapabilityMissing]');
  });
});
