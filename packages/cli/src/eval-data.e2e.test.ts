/**
 * The user journeys of scoring data other than the held-out split: `aekit eval RUN --data
 * FILE [--labels FILE]` (and `evaluateRun`'s `data` option), and `aekit export` of a run
 * trained with `--validation-split 0`, which has no held-out samples to check parity on.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng, parseExportedModel, type RunManifest } from '@aekit/core';
import { BUILTIN_DATASETS, encodeCsv, encodeNpy, readIdx } from '@aekit/core/node';
import { type EvaluationReport, evaluateRun } from '@aekit/trainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aekit } from './test-utils/aekit.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-eval-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `aekit eval ... --json`, parsed; fails the test with stderr when the command fails. */
async function evalJson(...args: string[]): Promise<EvaluationReport> {
  const r = await aekit('eval', ...args, '--backend', 'wasm', '--json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as EvaluationReport;
}

/** The numbers of a report that depend on the samples scored. */
const scores = (r: EvaluationReport) => ({
  samples: r.samples,
  loss: r.loss,
  mse: r.mse,
  baseline: r.baseline,
  probe: r.probe?.accuracy,
});

describe('aekit eval --data on the MNIST test images, as a file', () => {
  const run = join(dir, 'mnist-linear');
  const mnist = BUILTIN_DATASETS.mnist!.defaultDirs()[0]!;
  const images = join(mnist, 't10k-images-idx3-ubyte');
  const labels = join(mnist, 't10k-labels-idx1-ubyte');
  const npy = join(dir, 'x_test.npy');
  const labelsNpy = join(dir, 'y_test.npy');
  let builtin: EvaluationReport;

  beforeAll(async () => {
    // --binarize: the file must be binarised as the built-in test split is.
    const trained = await aekit(
      'train',
      '--variant',
      'linear',
      '--coding-size',
      '8',
      '--data',
      'mnist',
      '--limit',
      '500',
      '--binarize',
      '0.5',
      '--epochs',
      '1',
      '--backend',
      'wasm',
      '--no-figures',
      '--out',
      run,
    );
    expect(trained.code, trained.stderr).toBe(0);
    // The raw pixels (0..255) as float32, shaped [10000, 28, 28] (no channel axis), and the
    // labels as float32 integers: what a NumPy user would save.
    const x = readIdx(images);
    writeFileSync(npy, encodeNpy(x.data, x.shape));
    writeFileSync(labelsNpy, encodeNpy(readIdx(labels).data, [x.shape[0]!]));
    builtin = await evalJson(run, '--probe');
  });

  it('gives the numbers of the built-in test split for the same images in NPY and IDX', async () => {
    expect(builtin.split).toBe('test');
    const fromNpy = await evalJson(run, '--data', npy, '--labels', labelsNpy, '--probe');
    const fromIdx = await evalJson(run, '--data', images, '--labels', labels, '--probe');
    expect(fromNpy).toMatchObject({ split: 'file', data: npy, labels: labelsNpy });
    expect(fromIdx).toMatchObject({ split: 'file', data: images, labels: labels });
    // The same raw values, normalised and binarised by the same float32 operations and run
    // in the same batches on the same backend: measured equal to the last bit. Allowed: 1e-6
    // relative, the float32 rounding a different order of summation could bring, and one
    // sample in 10000 of probe accuracy. What this guards against is far larger: scoring
    // these images without the run's binarisation measured MSE 0.105 instead of 0.125.
    const close = (got: number, want: number) =>
      expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-6 * Math.abs(want));
    for (const report of [fromNpy, fromIdx]) {
      const got = scores(report);
      const want = scores(builtin);
      expect(got.samples).toBe(10000);
      expect(Math.abs(got.probe! - want.probe!)).toBeLessThanOrEqual(1e-4);
      close(got.loss, want.loss);
      close(got.mse, want.mse);
      close(got.baseline.mse, want.baseline.mse);
    }
  });

  it('does the same through the library: evaluateRun(dir, { data, labels })', async () => {
    const report = await evaluateRun(run, { backend: 'wasm', data: npy, labels: labelsNpy });
    expect(report.split).toBe('file');
    expect(report.data).toBe(npy);
    // As above: the same computation, measured equal; 1e-6 relative allowed.
    expect(Math.abs(report.mse - builtin.mse)).toBeLessThanOrEqual(1e-6 * builtin.mse);
  });

  it('prints which data it scored, under distinct column headers', async () => {
    const r = await aekit('eval', run, '--backend', 'wasm', '--data', npy);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`10000 samples of ${npy}`);
    const header = r.stdout.split('\n').find((l) => l.includes('MSE') && !l.includes('/'))!;
    const columns = header.trim().split(/\s{2,}/);
    expect(columns).toEqual(['loss (mse)', 'MSE']);
    expect(r.stdout).toMatch(/model \/ baseline MSE: \d\.\d+/);
  });

  it('refuses a file of another sample shape with DatasetMismatch, and wrong labels with LabelsMismatch', async () => {
    const wrong = join(dir, 'wrong.npy');
    writeFileSync(wrong, encodeNpy(new Float32Array(3 * 27 * 28), [3, 27, 28]));
    const shape = await aekit('eval', run, '--backend', 'wasm', '--data', wrong);
    expect(shape.code).toBe(1);
    expect(shape.stderr).toContain('error [DatasetMismatch]');
    expect(shape.stderr).toContain('shape [27, 28] (756 values each)');
    expect(shape.stderr).toContain('samples of shape [28, 28, 1], or flat rows of 784 values');
    expect(shape.stderr).not.toMatch(/\n\s+at /);

    const few = join(dir, 'few-labels.csv');
    writeFileSync(few, '7\n2\n1\n');
    const count = await aekit('eval', run, '--backend', 'wasm', '--data', npy, '--labels', few);
    expect(count.code).toBe(1);
    expect(count.stderr).toContain('error [LabelsMismatch]');
    expect(count.stderr).toContain('3 labels for 10000 samples');
  });
});

describe('a run trained with --validation-split 0 (no held-out samples)', () => {
  const run = join(dir, 'csv-linear');
  const csv = join(dir, 'train.csv');
  const npy = join(dir, 'train.npy');
  const ROWS = 200;
  const COLUMNS = 16;

  beforeAll(async () => {
    const next = createRng(7, 'eval-data-test');
    const values = Float32Array.from({ length: ROWS * COLUMNS }, () => next());
    writeFileSync(csv, encodeCsv(values, COLUMNS));
    writeFileSync(npy, encodeNpy(values, [ROWS, COLUMNS]));
    const trained = await aekit(
      'train',
      '--variant',
      'linear',
      '--coding-size',
      '8',
      '--data',
      csv,
      '--validation-split',
      '0',
      '--epochs',
      '2',
      '--backend',
      'wasm',
      '--no-figures',
      '--out',
      run,
    );
    expect(trained.code, trained.stderr).toBe(0);
  });

  it('exports, checking parity on the training samples and saying so', async () => {
    const r = await aekit('export', run);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Checked on ${ROWS} training samples`);
    const metadata = parseExportedModel(
      JSON.parse(readFileSync(join(run, 'onnx', 'aekit.json'), 'utf8')),
      'aekit.json',
    );
    expect(metadata.check).toMatchObject({ samples: ROWS, from: 'training' });
    // float32 rounding of sums of 16 and 8 products: measured 1.8e-7, within the 1e-5 allowed.
    expect(metadata.check!.maxAbsDiff).toBeLessThan(1e-5);
    const manifest = JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8')) as RunManifest;
    expect(manifest.onnx?.check).toEqual(metadata.check);
  });

  it('eval says there is nothing held out and how to score a file', async () => {
    const r = await aekit('eval', run, '--backend', 'wasm');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error [EmptyDataset]');
    expect(r.stderr).toContain('--data FILE');
  });

  it('eval --data scores the same samples alike from CSV and NPY', async () => {
    const fromCsv = await evalJson(run, '--data', csv);
    const fromNpy = await evalJson(run, '--data', npy);
    expect(fromCsv).toMatchObject({ split: 'file', data: csv, samples: ROWS });
    // encodeCsv writes each float32 as the decimal of its exact double, which reads back to
    // the same float32: both files hold the same values, every number measured equal, so no
    // allowance.
    expect(scores(fromNpy)).toEqual(scores(fromCsv));
    expect(fromCsv.mse).toBeGreaterThan(0);
  });
});
