import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  codeAt,
  codeWords,
  createHashIndex,
  packBits,
  parseHashIndex,
  searchNearest,
  searchRadius,
} from '@aekit/core';
import { loadDataset, RunDirectory, writeDataFile } from '@aekit/core/node';
import { loadAutoencoder, loadHashIndex } from '@aekit/runtime-web';
import { disposeNetworks, loadRunModel, mapBatches, selectBackend } from '@aekit/trainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, missing } from '../../core/src/test-utils/requirements.js';
import { aekit } from './test-utils/aekit.js';
import { runInBrowser } from './test-utils/browser.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-hashing-e2e-'));
const run = join(dir, 'hashing');
const index = join(run, 'onnx', 'test.aehash');
const ITEMS = 2000;
const BITS = 20;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The first `n` MNIST test images, normalised to [0, 1] as the model was trained. */
function testImages(n: number) {
  return loadDataset({ source: 'mnist', split: 'test', limit: n }).dataset;
}

beforeAll(async () => {
  const trained = await aekit(
    'train',
    '--variant',
    'hashing',
    '--layers',
    '256',
    '--bits',
    String(BITS),
    '--data',
    'mnist',
    '--limit',
    '5000',
    '--epochs',
    '2',
    '--backend',
    'wasm',
    '--no-figures',
    '--out',
    run,
  );
  expect(trained.code, trained.stderr).toBe(0);
  const exported = await aekit('export', run);
  expect(exported.code, exported.stderr).toBe(0);
  const hashed = await aekit(
    'hash',
    run,
    '--data',
    'mnist',
    '--split',
    'test',
    '--limit',
    String(ITEMS),
    '--out',
    index,
    '--device',
    'cpu',
  );
  expect(hashed.code, hashed.stderr).toBe(0);
  expect(hashed.stdout).toContain(`hashed ${ITEMS} items of mnist (test)`);
});

describe('semantic hashing from the command line and the runtime', () => {
  it('exports an encoder with codings and bits, and aekit.json says it can hash', () => {
    const meta = JSON.parse(readFileSync(join(run, 'onnx', 'aekit.json'), 'utf8'));
    expect(meta.capabilities).toEqual(['hash']);
    expect(meta.graphs.encoder).toMatchObject({ output: 'codings', extraOutputs: ['bits'] });
  });

  it("aekit hash writes the tfjs model's rounded codings, with the labels", async () => {
    const idx = parseHashIndex(readFileSync(index), index);
    expect(idx.codes).toMatchObject({ bits: BITS, count: ITEMS });
    const data = testImages(ITEMS);
    expect(Array.from(idx.labels!)).toEqual(Array.from(data.labels!));
    expect(idx.meta).toMatchObject({ variant: 'hashing', data: 'mnist', split: 'test' });
    // The same codes from TensorFlow.js: the ONNX bits are its codings above 0.5.
    await selectBackend('wasm');
    const { model } = loadRunModel(new RunDirectory(run));
    try {
      const codings = await mapBatches(data, [28, 28, 1], (x) => model.encode(x));
      const expected = packBits(codings, BITS);
      expect(Array.from(idx.codes.data)).toEqual(Array.from(expected.data));
    } finally {
      disposeNetworks(model.networks);
    }
  });

  it('aekit search finds what a scan finds, by item or by image, and rejects a bad query', async () => {
    const idx = parseHashIndex(readFileSync(index), index);
    const r = await aekit('search', index, '--query', 'item:3', '--radius', '2', '--json');
    expect(r.code, r.stderr).toBe(0);
    const [found] = JSON.parse(r.stdout) as { items: { item: number; distance: number }[] }[];
    const expected = searchRadius(idx, codeAt(idx.codes, 3), 2, { strategy: 'scan' });
    expect(found!.items.map((i) => i.item)).toEqual(Array.from(expected.indices));
    expect(found!.items[0]).toMatchObject({ item: 3, distance: 0 });

    // An image file is hashed with the index's model: test image 3 finds itself first.
    const npy = join(dir, 'query.npy');
    const raw = loadDataset({ source: 'mnist', split: 'test', limit: 4, normalize: 'none' });
    writeDataFile(npy, raw.dataset.x.slice(3 * 784, 4 * 784), [1, 28, 28, 1]);
    const byImage = await aekit('search', index, '--query', npy, '--k', '5', '--device', 'cpu');
    expect(byImage.code, byImage.stderr).toBe(0);
    expect(byImage.stdout).toMatch(/5 of 2000 items nearest 5, in [\d.]+ ms/);
    expect(byImage.stdout).toMatch(/item 3 {2}label \d {2}distance 0/);

    const neither = await aekit('search', index, '--query', 'item:3');
    expect(neither.code).toBe(1);
    expect(neither.stderr).toContain('--radius R');
    const outside = await aekit('search', index, '--query', `item:${ITEMS}`, '--k', '3');
    expect(outside.stderr).toContain('the index has items 0 to 1999');
    writeFileSync(join(dir, 'broken.aehash'), readFileSync(index).subarray(0, 100));
    const broken = await aekit('search', join(dir, 'broken.aehash'), '--code', '0', '--k', '1');
    expect(broken.stderr).toContain('InvalidHashIndex');
  });

  it("the runtime's hash and nearest agree with the index, in Node", async () => {
    const ae = await loadAutoencoder(run, { device: 'cpu' });
    try {
      const idx = await loadHashIndex(index);
      const data = testImages(5);
      const x = { data: data.x, shape: [5, 28, 28, 1] };
      const codes = await ae.hash(x);
      expect(codes).toMatchObject({ bits: BITS, count: 5 });
      const words = codeWords(BITS);
      expect(Array.from(codes.data)).toEqual(Array.from(idx.codes.data.subarray(0, 5 * words)));
      const byRadius = await ae.nearest(x, idx, { radius: 1 });
      const byK = await ae.nearest(x, idx, { k: 7 });
      for (let i = 0; i < 5; i++) {
        const q = codeAt(codes, i);
        expect(Array.from(byRadius[i]!.indices)).toEqual(
          Array.from(searchRadius(idx, q, 1).indices),
        );
        expect(Array.from(byK[i]!.indices)).toEqual(Array.from(searchNearest(idx, q, 7).indices));
        expect(Array.from(byK[i]!.labels!)).toEqual(
          Array.from(byK[i]!.indices, (j) => idx.labels![j]!),
        );
      }
      await expect(ae.nearest(x, idx, { radius: 1, k: 2 } as never)).rejects.toMatchObject({
        code: 'InvalidArgument',
      });
      const other = createHashIndex(packBits(new Float32Array(8), 8));
      await expect(ae.nearest(x, other, { k: 1 })).rejects.toThrow(/8-bit codes, but this model/);
    } finally {
      await ae.dispose();
    }
  });

  it.skipIf(missing(CHROMIUM))('hash and nearest give the same answers in Chromium', async () => {
    const data = testImages(4);
    const input = Array.from({ length: 4 }, (_, i) =>
      Array.from(data.x.subarray(i * 784, (i + 1) * 784)),
    );
    const ae = await loadAutoencoder(run, { device: 'cpu' });
    const idx = await loadHashIndex(index);
    const node = await ae.hash({ data: data.x, shape: [4, 28, 28, 1] });
    const nodeNearest = await ae.nearest({ data: data.x, shape: [4, 28, 28, 1] }, idx, { k: 6 });
    await ae.dispose();
    const results = await runInBrowser(
      join(run, 'onnx'),
      { hash: input, nearest: { input, index: 'models/test.aehash', k: 6 } },
      ['wasm'],
    );
    const web = results.wasm!.outputs;
    expect(web.hash!.data).toEqual(Array.from(node.data));
    expect(web.nearest!.shape).toEqual([6, 6, 6, 6]);
    expect(web.nearest!.data).toEqual(nodeNearest.flatMap((n) => Array.from(n.indices)));
  });

  it('aekit eval reports precision@10 and radius-1 purity next to shuffled codes', async () => {
    const r = await aekit('eval', run, '--json', '--backend', 'wasm');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.retrieval.k).toBe(10);
    // A small model after two epochs on 5,000 images: well above chance, far from tuned.
    expect(report.retrieval.precisionAtK).toBeGreaterThan(2 * report.retrieval.random.precisionAtK);
    expect(report.measures.saturated).toBeGreaterThan(0.8);
    const text = await aekit('eval', run, '--backend', 'wasm');
    expect(text.stdout).toMatch(/precision@10 +[\d.]+ +random [\d.]+/);
  });

  it('refuses to hash with a model that cannot', async () => {
    const stacked = join(dir, 'stacked');
    const t = await aekit(
      ...['train', '--variant', 'stacked', '--data', 'mnist', '--limit', '200'],
      ...['--epochs', '1', '--backend', 'wasm', '--no-figures', '--out', stacked],
    );
    expect(t.code, t.stderr).toBe(0);
    expect((await aekit('export', stacked)).code).toBe(0);
    const r = await aekit('hash', stacked, '--data', 'mnist', '--out', join(dir, 'x.aehash'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('CapabilityMissing');
    // What the model's aekit.json declares, and where to look for a variant that can.
    expect(r.stderr).toContain('its aekit.json declares no capabilities, not "hash"');
    expect(r.stderr).toContain('aekit variants');
  });
});
