import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDataset, RunDirectory } from '@aekit/core/node';
import { loadAutoencoder } from '@aekit/runtime-web';
import { disposeNetworks, loadRunModel, mapBatches, selectBackend } from '@aekit/trainers';
import type * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, missing } from '../../core/src/test-utils/requirements.js';
import { aekit } from './test-utils/aekit.js';
import { runInBrowser } from './test-utils/browser.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-classify-e2e-'));
const ae = join(dir, 'ae');
const cls = join(dir, 'cls');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  const trained = await aekit(
    ...['train', '--variant', 'stacked', '--data', 'mnist', '--limit', '2000'],
    ...['--epochs', '2', '--backend', 'wasm', '--no-figures', '--out', ae],
  );
  expect(trained.code, trained.stderr).toBe(0);
  const classified = await aekit(
    ...['classify', ae, '--labels-fraction', '0.02', '--epochs', '3'],
    ...['--backend', 'wasm', '--out', cls],
  );
  expect(classified.code, classified.stderr).toBe(0);
  expect(classified.stderr).toMatch(/epoch 3\/3 {2}loss [\d.]+ {2}accuracy [\d.]+/);
  expect(classified.stdout).toMatch(
    /test accuracy 0\.\d+: stacked encoder pretrained .*, freeze none, 1200 labelled samples \(2% of the labels\), 3 epochs/,
  );
  const exported = await aekit('export', cls);
  expect(exported.code, exported.stderr).toBe(0);
  expect(exported.stdout).toMatch(/classifier\.onnx {2}input -> probabilities/);
});

describe('a classifier from a pretrained encoder, exported and served', () => {
  it('aekit.json lists the classifier graph, its classes and the classify capability', () => {
    const meta = JSON.parse(readFileSync(join(cls, 'onnx', 'aekit.json'), 'utf8'));
    expect(meta.capabilities).toEqual(['classify']);
    expect(meta.classes).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(meta.graphs.classifier).toEqual({
      file: 'classifier.onnx',
      input: 'input',
      output: 'probabilities',
    });
  });

  const test = loadDataset({ source: 'mnist', split: 'test', limit: 64 }).dataset;
  /** The runtime's labels in Node, for the browser to match. */
  let labels: Int32Array | undefined;

  it("the runtime's classify gives tfjs's probabilities and labels in Node", async () => {
    await selectBackend('wasm');
    const { model } = loadRunModel(new RunDirectory(cls));
    const want = await mapBatches(
      test,
      [28, 28, 1],
      (x) => model.networks.classifier!.apply(x) as tf.Tensor,
    );
    disposeNetworks(model.networks);
    const runtime = await loadAutoencoder(cls, { device: 'cpu' });
    try {
      const got = await runtime.classify({ data: test.x, shape: [64, 28, 28, 1] });
      expect(got.probabilities.shape).toEqual([64, 10]);
      let worst = 0;
      for (let i = 0; i < want.length; i++) {
        worst = Math.max(worst, Math.abs(got.probabilities.data[i]! - want[i]!));
      }
      expect(worst).toBeLessThan(1e-5);
      labels = got.labels;
      for (let i = 0; i < 64; i++) {
        const row = Array.from(want.subarray(i * 10, (i + 1) * 10));
        expect(labels[i]).toBe(row.indexOf(Math.max(...row)));
      }
      const right = labels.filter((l, i) => l === test.labels![i]).length;
      expect(right / 64).toBeGreaterThan(0.6);
    } finally {
      await runtime.dispose();
    }
  });

  it.skipIf(missing(CHROMIUM))('and the same labels in Chromium', async () => {
    expect(labels, 'the Node test gives the labels').toBeDefined();
    const input = Array.from({ length: 8 }, (_, i) =>
      Array.from(test.x.subarray(i * 784, (i + 1) * 784)),
    );
    const web = await runInBrowser(join(cls, 'onnx'), { classify: input }, ['wasm']);
    expect(web.wasm!.outputs.classify!.data).toEqual(Array.from(labels!.subarray(0, 8)));
  });

  it('aekit eval reports the accuracy; a model without a classifier cannot classify', async () => {
    const r = await aekit('eval', cls, '--backend', 'wasm');
    expect(r.stdout).toMatch(/classifier: test accuracy 0\.\d+/);
    expect((await aekit('export', ae)).code).toBe(0);
    const plain = await loadAutoencoder(ae, { device: 'cpu' });
    try {
      await expect(plain.classify(new Float32Array(784))).rejects.toMatchObject({
        code: 'CapabilityMissing',
      });
    } finally {
      await plain.dispose();
    }
  });

  it('aekit figures draws what the pretrained run learned and lists the files', async () => {
    const r = await aekit(
      'figures',
      ae,
      '--units',
      '8',
      '--map-samples',
      '300',
      '--backend',
      'wasm',
    );
    expect(r.code, r.stderr).toBe(0);
    for (const name of ['features', 'top-activations', 'dreams', 'map']) {
      expect(r.stdout).toContain(`figures/${name}.png`);
      expect(r.stdout).toContain(`figures/${name}.json`);
    }
    expect(r.stdout).toContain('figures/loss.png');
    expect(JSON.parse(readFileSync(join(ae, 'figures', 'dreams.json'), 'utf8')).units).toHaveLength(
      8,
    );
    const bad = await aekit('figures', ae, '--units', '0');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--units must be a positive integer');
  });
});
