/**
 * `exportRun` with `precision`: graphs stored at fp16 or int8 once their quality on held-out
 * MNIST test images, measured in ONNX Runtime against the float32 graphs, fits the budget;
 * refused with `QualityBudgetExceeded` (and nothing written) when it does not.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AekitError, parseExportedModelText } from '@aekit/core';
import { RunDirectory } from '@aekit/core/node';
import { decodeOnnxModel, runOnnxOutputs } from '@aekit/export';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backends/index.js';
import { trainClassifier } from '../downstream/classify.js';
import { train } from '../engine/train.js';
import { tempDir } from '../test-utils/index.js';
import { mnistTest } from '../test-utils/mnist.js';
import { exportToRepository } from './export-repository.js';
import { exportRun } from './export-run.js';

const dir = tempDir('aekit-export-precision-');

/** Trains `variant` on 1,000 MNIST training images for one epoch into `dir/name`. */
async function trainRun(name: string, variant: string, options: Record<string, unknown> = {}) {
  const { run } = await train({
    variant,
    data: 'mnist',
    limit: 1000,
    epochs: 1,
    batchSize: 32,
    seed: 7,
    backend: 'wasm',
    figures: false,
    out: join(dir, name),
    options,
  });
  return run;
}

/** The error `promise` rejects with. */
const rejection = (promise: Promise<unknown>): Promise<AekitError> =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as AekitError,
  );

const aekitJson = (run: string) =>
  parseExportedModelText(readFileSync(join(run, 'onnx', 'aekit.json'), 'utf8'), 'aekit.json');

beforeAll(() => selectBackend('wasm'));

describe('exportRun with a precision', () => {
  let stacked = '';
  beforeAll(async () => {
    stacked = await trainRun('stacked', 'stacked', { layers: [256, 16] });
  });

  it('refuses an int8 export over a budget of 0 with QualityBudgetExceeded, writing nothing', async () => {
    const err = await rejection(
      exportRun(stacked, { backend: 'wasm', precision: 'int8', maxQualityLoss: 0 }),
    );
    expect(err).toBeInstanceOf(AekitError);
    expect(err.code).toBe('QualityBudgetExceeded');
    expect(err.message).toMatch(/^At int8, the graphs measure mse \S+ -> \S+ \(changed /);
    expect(err.message).toContain('against float32 on 1000 test samples: a loss of');
    expect(err.message).toContain('over the budget of 0%. Nothing was written.');
    expect(err.hint).toContain('--max-quality-loss');
    expect(existsSync(join(stacked, 'onnx'))).toBe(false);
    expect(new RunDirectory(stacked).readManifest().onnx).toBeUndefined();
  });

  it('writes int8 weights within a loose budget: a quarter of the size, quality recorded', async () => {
    const fp32 = await exportRun(stacked, { backend: 'wasm' });
    const fp32Bytes = Object.fromEntries(fp32.graphs.map((g) => [g.role, g.bytes]));
    expect(fp32.precision).toBe('fp32');
    expect(fp32.quality).toBeUndefined();
    expect(aekitJson(stacked).precision).toBe('fp32');

    const report = await exportRun(stacked, {
      backend: 'wasm',
      precision: 'int8',
      maxQualityLoss: 0.5,
    });
    expect(report.precision).toBe('int8');
    for (const g of report.graphs) {
      expect(g.fp32Bytes).toBe(fp32Bytes[g.role]);
      // 784x256 + 256x16 weights each way: int8 is a quarter, plus the float32 biases.
      expect(g.bytes / g.fp32Bytes!, g.role).toBeLessThan(0.27);
      expect(readFileSync(g.path).length).toBe(g.bytes);
    }
    const q = report.quality!;
    expect([q.samples, q.from, q.budget]).toEqual([1000, 'test', 0.5]);
    expect(Object.keys(q.metrics)).toEqual(['mse']);
    const mse = q.metrics.mse!;
    // Per-channel int8 weights move the test MSE by a fraction of a percent (0.02% measured,
    // downwards: the loss counts a change either way).
    expect(mse.loss).toBeLessThan(0.01);
    expect(mse.loss).toBeCloseTo(Math.abs(mse.value - mse.fp32) / mse.fp32, 12);
    expect(q.loss).toBe(mse.loss);
    // aekit.json records both, and core's parser reads them back as written.
    const model = aekitJson(stacked);
    expect(model.precision).toBe('int8');
    expect(model.quality).toEqual(q);
    expect(new RunDirectory(stacked).readManifest().onnx?.precision).toBe('int8');
    // The int8 graph runs in ONNX Runtime as any graph does, near the float32 reconstruction.
    const x = mnistTest(8);
    const images = x.dataSync() as Float32Array;
    x.dispose();
    const [out] = await runOnnxOutputs(
      readFileSync(join(stacked, 'onnx', 'autoencoder.onnx')),
      images,
      [8, 28, 28, 1],
    );
    expect(out!.dims).toEqual([8, 28, 28, 1]);
    const graph = decodeOnnxModel(readFileSync(join(stacked, 'onnx', 'encoder.onnx')));
    expect(graph.metadataProps.find((p) => p.key === 'aekit.precision')?.value).toBe('int8');
  });

  it('auto picks int8 under a loose budget and fp32 under a budget of 0', async () => {
    const loose = await exportRun(stacked, {
      backend: 'wasm',
      precision: 'auto',
      maxQualityLoss: 0.05,
    });
    expect(loose.precision).toBe('int8');
    expect(loose.overBudget).toBeUndefined();
    const strict = await exportRun(stacked, {
      backend: 'wasm',
      precision: 'auto',
      maxQualityLoss: 0,
    });
    // Budget 0 admits a precision only where no measure got worse: fp16 may (its MSE moves
    // in the sixth digit, either way), int8 never does.
    // A budget of 0 admits no change of any measure, either way: float32 only.
    expect(strict.precision).toBe('fp32');
    expect(strict.quality!.loss).toBe(0);
    expect(strict.overBudget!.map((o) => o.precision)).toEqual(['int8', 'fp16']);
    expect(strict.overBudget!.every((o) => o.loss > 0)).toBe(true);
    expect(strict.graphs.every((g) => g.fp32Bytes === undefined)).toBe(true);
    expect(aekitJson(stacked).precision).toBe(strict.precision);
  });

  it('refuses --precision with --repository', async () => {
    const err = await rejection(
      exportToRepository(stacked, join(dir, 'repo'), { backend: 'wasm', precision: 'fp16' }),
    );
    expect(err.code).toBe('InvalidArgument');
    expect(err.message).toContain('--precision is not available with --repository');
    expect(existsSync(join(dir, 'repo'))).toBe(false);
  });

  it("refuses a budget that is not a number from 0, and a precision it doesn't know", async () => {
    for (const options of [
      { precision: 'int8', maxQualityLoss: -0.1 },
      { precision: 'int4' },
    ] as const) {
      const err = await rejection(exportRun(stacked, { backend: 'wasm', ...options } as never));
      expect(err.code).toBe('InvalidArgument');
    }
  });
});

describe('quality measures by what the model declares', () => {
  it('a variational encoder: mse and the negative ELBO in nats per image', async () => {
    const run = await trainRun('vae', 'vae', { layers: [128], codingSize: 8 });
    const report = await exportRun(run, { backend: 'wasm', precision: 'fp16', maxQualityLoss: 1 });
    const q = report.quality!;
    expect(Object.keys(q.metrics).sort()).toEqual(['mse', 'negativeElbo']);
    const elbo = q.metrics.negativeElbo!;
    // One epoch on 1,000 images: 243 nats per image measured, below the 543 nats of p = 0.5
    // for every pixel (784 ln 2) and above the ~100 of a well-trained VAE.
    expect(elbo.fp32).toBeGreaterThan(100);
    expect(elbo.fp32).toBeLessThan(543);
    // float16 weights move it by far less than 1% (8e-6 measured).
    expect(elbo.loss).toBeLessThan(1e-3);
  });

  it('a hashing model: bit agreement and precision@10 of its codes', async () => {
    const run = await trainRun('hashing', 'hashing', { layers: [128], bits: 16 });
    const report = await exportRun(run, { backend: 'wasm', precision: 'int8', maxQualityLoss: 1 });
    const q = report.quality!;
    expect(Object.keys(q.metrics).sort()).toEqual(['bitAgreement', 'mse', 'precisionAt10']);
    expect(q.metrics.bitAgreement!.fp32).toBe(1);
    expect(q.metrics.bitAgreement!.value).toBeGreaterThan(0.95);
    expect(q.metrics.bitAgreement!.loss).toBeCloseTo(1 - q.metrics.bitAgreement!.value, 12);
    // Hamming-ranked neighbours share the query's digit above chance (about 0.10): 0.124
    // measured after one epoch on 1,000 images (seed 7, wasm), where int8 moved 0.08% of it.
    expect(q.metrics.precisionAt10!.fp32).toBeGreaterThan(0.1);
    expect(q.metrics.precisionAt10!.loss).toBeLessThan(0.05);
  });

  it('a classifier: accuracy on the labelled test images', async () => {
    const pretrained = await trainRun('pretrained', 'stacked', { layers: [128, 16] });
    const { run } = await trainClassifier({
      run: pretrained,
      out: join(dir, 'classifier'),
      labelsFraction: 0.02,
      epochs: 1,
      backend: 'wasm',
      seed: 3,
    });
    const report = await exportRun(run, { backend: 'wasm', precision: 'int8', maxQualityLoss: 1 });
    const q = report.quality!;
    expect(Object.keys(q.metrics).sort()).toEqual(['accuracy', 'mse']);
    // One epoch on 2% of the labels from a zero head: 0.300 measured, chance is 0.1; int8
    // weights changed 2 of the 1,000 answers (a loss of 0.67%).
    expect(q.metrics.accuracy!.fp32).toBeGreaterThan(0.2);
    expect(q.metrics.accuracy!.loss).toBeLessThan(0.05);
  });
});
