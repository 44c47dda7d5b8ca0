import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunManifest } from '@aekit/core';
import { BUILTIN_DATASETS, encodeCsv, readIdx } from '@aekit/core/node';
import { afterAll, describe, expect, it } from 'vitest';
import { aekit } from './test-utils/aekit.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-data-checks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `aekit train` of a small stacked autoencoder, one epoch, with `args` added. */
const trainSmall = (...args: string[]) =>
  aekit(
    ...['train', '--variant', 'stacked', '--layers', '4,2', '--epochs', '1', '--batch-size', '8'],
    ...['--backend', 'wasm', '--no-figures', ...args],
  );

const manifestOf = (run: string) =>
  JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8')) as RunManifest;

describe('aekit train on a CSV of 0..255 pixels with a header (Kaggle MNIST style)', () => {
  const csv = join(dir, 'pixels.csv');
  const pixels = Array.from({ length: 40 }, (_, r) =>
    Array.from({ length: 6 }, (_, c) => (r * 37 + c * 91) % 256).join(','),
  );
  writeFileSync(csv, `pixel0,pixel1,pixel2,pixel3,pixel4,pixel5\n${pixels.join('\n')}\n`);

  it('says it took the first row as a header and scales the pixels by 1/255', async () => {
    const run = join(dir, 'pixels');
    const r = await trainSmall('--data', csv, '--limit', '5000', '--out', run);
    expect(r.code, r.stderr).toBe(0);
    const notes = r.stderr.split('\n').filter((l) => l.startsWith('note: '));
    expect(notes).toEqual([
      `note: "${csv}": first row taken as a header (pixel0, pixel1, pixel2, …, pixel5); pass --header no to read it as data.`,
      `note: --limit 5000 is more than the 40 samples in "${csv}"; using all 40.`,
    ]);
    const manifest = manifestOf(run);
    expect(manifest.data).toMatchObject({ normalize: 'unit', header: 'yes' });
    expect(manifest.data.limit).toBeUndefined();
    expect(manifest.normalization).toEqual({ kind: 'unit', scale: 1 / 255, offset: 0 });
  });

  it('--header no reads the first row as data, and fails naming its first text cell', async () => {
    const r = await trainSmall('--data', csv, '--header', 'no', '--out', join(dir, 'no'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error [InvalidDataFile]');
    expect(r.stderr).toContain('row 1, column 1: "pixel0" is not a number.');
  });
});

describe('aekit train on data the variant cannot take', () => {
  const csv = join(dir, 'signed.csv');
  const rows = Array.from({ length: 40 }, (_, r) =>
    Array.from({ length: 4 }, (_, c) => ((r + c) % 7) - 3).join(','),
  );
  writeFileSync(csv, `${rows.join('\n')}\n`);

  it('refuses values in [-3, 3] for a bce loss, with a hint that names real flags', async () => {
    const r = await trainSmall('--data', csv, '--out', join(dir, 'signed'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error [DataOutOfRange]');
    expect(r.stderr).toContain(
      `range from -3 to 3 after normalisation, but variant "stacked" with loss bce needs them in [0, 1].`,
    );
    expect(r.stderr).toContain('--normalize minmax');
    expect(r.stderr).toContain('--loss mse and --output-activation linear');
  });

  it('trains once the data is scaled with --normalize minmax', async () => {
    const r = await trainSmall('--data', csv, '--normalize', 'minmax', '--out', join(dir, 'mm'));
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('aekit train on MNIST digits as a CSV of 0..255 integers', () => {
  // The same 2000 training digits, once from MNIST's IDX files (uint8) and once from a CSV
  // of integers with a header row, as Kaggle ships MNIST; both scored on the same 1000 test
  // digits, also as a CSV of integers.
  const limit = 2000;
  const mnist = BUILTIN_DATASETS.mnist!.defaultDirs()[0]!;
  const toCsv = (path: string, file: string, count: number) => {
    const { data } = readIdx(join(mnist, file), { limit: count });
    const header = Array.from({ length: 784 }, (_, i) => `pixel${i}`).join(',');
    writeFileSync(path, `${header}\n${encodeCsv(data, 784)}`);
  };
  const trainCsv = join(dir, 'raw255.csv');
  const testCsv = join(dir, 'raw255-test.csv');
  toCsv(trainCsv, 'train-images-idx3-ubyte', limit);
  toCsv(testCsv, 't10k-images-idx3-ubyte', 1000);
  const common = [
    ...['train', '--variant', 'stacked', '--layers', '64,16', '--epochs', '3'],
    ...['--limit', String(limit), '--backend', 'wasm', '--no-figures'],
  ];

  it('trains as well as from IDX: test MSE within 10%', async () => {
    const fromIdx = join(dir, 'digits-idx');
    const fromCsv = join(dir, 'digits-csv');
    for (const [data, out] of [
      ['mnist', fromIdx],
      [trainCsv, fromCsv],
    ] as const) {
      const r = await aekit(...common, '--data', data, '--out', out);
      expect(r.code, r.stderr).toBe(0);
    }
    expect(manifestOf(fromCsv).normalization).toEqual(manifestOf(fromIdx).normalization);
    const mse = async (run: string) => {
      const r = await aekit('eval', run, '--data', testCsv, '--backend', 'wasm', '--json');
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { mse: number }).mse;
    };
    const [idx, csv] = [await mse(fromIdx), await mse(fromCsv)];
    // The same raw values, order, seed and normalisation: the runs differ only by float
    // rounding, far inside the 10% asked (measured: 0.04559 both). The mean image scores
    // 0.066 on these digits; a run that learned nothing would not get below 0.06.
    expect(Math.abs(csv - idx) / idx).toBeLessThan(0.1);
    expect(csv).toBeLessThan(0.06);
  });
});
