import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitNormalization } from '../normalization.js';
import { expectCode } from '../test-utils/index.js';
import { loadDataFile, readLabelsFile } from './data-file.js';
import { loadDataset } from './datasets.js';
import { encodeNpy } from './writers.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const fixture = (name: string) => join(FIXTURES, name);
const EXPECTED = JSON.parse(readFileSync(fixture('expected.json'), 'utf8')) as Record<
  string,
  { shape: number[]; values: number[] }
>;
const UNIT = fitNormalization(new Float32Array(0), 1, 'unit');

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'aekit-data-file-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('loadDataFile', () => {
  it('reads an IDX file of 4x3 images for a model of [4, 3, 1] samples, normalised as recorded', () => {
    const d = loadDataFile({
      path: fixture('images-idx3-ubyte'),
      sampleShape: [4, 3, 1],
      normalization: UNIT,
      labels: fixture('labels-idx1-ubyte'),
    });
    expect(d.count).toBe(5);
    expect(d.sampleShape).toEqual([4, 3, 1]);
    // The recorded 'unit' normalisation, x / 255, in float32 like training applies it.
    expect(Array.from(d.x)).toEqual(
      Array.from(Float32Array.from(EXPECTED.images!.values, (v) => v * (1 / 255))),
    );
    expect(Array.from(d.labels!)).toEqual(EXPECTED.labels!.values);
  });

  it('gives the values loadDataset gives when training reads the same file', () => {
    const trained = loadDataset({ source: fixture('with-header.csv'), normalize: 'minmax' });
    const d = loadDataFile({
      path: fixture('no-header.csv'),
      sampleShape: [3],
      normalization: trained.dataset.normalization,
    });
    expect(Array.from(d.x)).toEqual(Array.from(trained.dataset.x));
  });

  it('takes flat rows of as many values as a sample has (a CSV for an image model)', () => {
    const path = join(tmp, 'flat.npy');
    writeFileSync(path, encodeNpy(new Float32Array(24).fill(51), [2, 12]));
    const d = loadDataFile({ path, sampleShape: [4, 3, 1], normalization: UNIT });
    expect(d.count).toBe(2);
    expect(d.sampleShape).toEqual([4, 3, 1]);
    expect(d.x[0]).toBeCloseTo(0.2, 6);
  });

  it('fails with DatasetMismatch, naming both shapes, for samples of another shape', () => {
    const err = expectCode(
      () =>
        loadDataFile({
          path: fixture('images-idx3-ubyte'),
          sampleShape: [3, 4],
          normalization: UNIT,
        }),
      'DatasetMismatch',
    );
    expect(err.message).toContain('shape [4, 3] (12 values each)');
    expect(err.message).toContain('samples of shape [3, 4], or flat rows of 12 values');
    expectCode(
      () => loadDataFile({ path: fixture('no-header.csv'), sampleShape: [4], normalization: UNIT }),
      'DatasetMismatch',
    );
  });

  it('fails with EmptyDataset for a file without samples', () => {
    const path = join(tmp, 'empty.npy');
    writeFileSync(path, encodeNpy(new Float32Array(0), [0, 3]));
    expectCode(() => loadDataFile({ path, sampleShape: [3], normalization: UNIT }), 'EmptyDataset');
  });
});

describe('loadDataFile: data checks shared with training', () => {
  it('refuses NaN with InvalidDataFile naming the row and column', () => {
    const values = new Float32Array(24).fill(0.5);
    values[13] = Number.NaN;
    const path = join(tmp, 'nan.npy');
    writeFileSync(path, encodeNpy(values, [2, 12]));
    const err = expectCode(
      () => loadDataFile({ path, sampleShape: [4, 3, 1], normalization: UNIT }),
      'InvalidDataFile',
    );
    expect(err.message).toContain('row 2, column 2: NaN');
  });

  it('refuses a 1-D array of one sample with DatasetMismatch, saying how to reshape it', () => {
    const path = join(tmp, 'one.npy');
    writeFileSync(path, encodeNpy(new Float32Array(12), [12]));
    const err = expectCode(
      () => loadDataFile({ path, sampleShape: [4, 3, 1], normalization: UNIT }),
      'DatasetMismatch',
    );
    expect(err.message).toContain('a 1-D array of shape (12,)');
    expect(err.message).toContain('[N, 4, 3, 1] or [N, 12]');
    expect(err.message).toContain('reshape to (1, 12)');
  });

  it('refuses a 1-D array even for a model of one feature: write (N, 1)', () => {
    const path = join(tmp, 'col.npy');
    writeFileSync(path, encodeNpy(Float32Array.of(1, 2, 3), [3]));
    const err = expectCode(
      () => loadDataFile({ path, sampleShape: [1], normalization: UNIT }),
      'DatasetMismatch',
    );
    expect(err.message).toContain('(3, 1)');
  });

  it('reads a CSV with the header choice given', () => {
    const path = join(tmp, 'hdr.csv');
    writeFileSync(path, '0,0,0\n51,51,51\n');
    const d = loadDataFile({ path, sampleShape: [3], normalization: UNIT, header: 'yes' });
    expect(d.count).toBe(1);
  });
});

describe('readLabelsFile', () => {
  it('reads a one-column CSV and an [N, 1] NPY', () => {
    const csv = join(tmp, 'labels.csv');
    writeFileSync(csv, 'label\n3\n1\n4\n');
    expect(Array.from(readLabelsFile(csv, 3))).toEqual([3, 1, 4]);
    const npy = join(tmp, 'labels.npy');
    writeFileSync(npy, encodeNpy(Float32Array.of(7, 0), [2, 1]));
    expect(Array.from(readLabelsFile(npy, 2))).toEqual([7, 0]);
  });

  it('fails with LabelsMismatch for another count, several columns or a fraction', () => {
    expect(
      expectCode(() => readLabelsFile(fixture('labels-idx1-ubyte'), 4), 'LabelsMismatch').message,
    ).toContain('5 labels for 4 samples');
    expect(
      expectCode(() => readLabelsFile(fixture('no-header.csv'), 6), 'LabelsMismatch').message,
    ).toContain('3 values per row');
    const path = join(tmp, 'fraction.csv');
    writeFileSync(path, '1\n2.5\n');
    expect(expectCode(() => readLabelsFile(path, 2), 'LabelsMismatch').message).toContain(
      'label 2 is 2.5',
    );
  });
});
