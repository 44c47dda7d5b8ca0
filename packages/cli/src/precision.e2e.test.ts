/**
 * `aekit export RUN --precision fp16|int8|auto [--max-quality-loss X]`: smaller weights,
 * gated by the model's quality on held-out digits, and the runtime loading them as it loads
 * any export.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDataset } from '@aekit/core/node';
import { loadAutoencoder } from '@aekit/runtime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aekit, trainSmall } from './test-utils/aekit.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-precision-e2e-'));
const run = join(dir, 'stacked');
const SAMPLES = 16;
let images: Float32Array;
let fp32Reconstruction: Float32Array;

const reconstruct = async (device: 'cpu' | 'wasm'): Promise<Float32Array> => {
  const ae = await loadAutoencoder(run, { device });
  try {
    return (await ae.reconstruct({ data: images, shape: [SAMPLES, 28, 28, 1] })).data;
  } finally {
    await ae.dispose();
  }
};

const maxAbsDiff = (a: Float32Array, b: Float32Array): number =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

beforeAll(async () => {
  expect((await trainSmall('stacked', run)).code).toBe(0);
  expect((await aekit('export', run)).code).toBe(0);
  images = loadDataset({ source: 'mnist', split: 'test', limit: SAMPLES }).dataset.x;
  fp32Reconstruction = await reconstruct('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('aekit export --precision', () => {
  it('writes int8 weights, prints sizes and the quality line, and the runtime loads them', async () => {
    const r = await aekit('export', run, '--precision', 'int8', '--max-quality-loss', '0.05');
    expect(r.stderr).toMatch(/^backend: wasm/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('to ONNX (opset 13, int8 weights):');
    expect(r.stdout).toMatch(/encoder\.onnx {2}input -> codings {2}\S+ KiB \(fp32: \S+ KiB\)/);
    expect(r.stdout).toMatch(
      /Quality at int8 against fp32 on 1000 test samples: mse \S+ -> \S+ \(changed \S+%\); largest loss \S+% \(budget 5%\)\./,
    );
    const model = JSON.parse(readFileSync(join(run, 'onnx', 'aekit.json'), 'utf8'));
    expect(model.precision).toBe('int8');
    expect(model.quality.metrics.mse.loss).toBeLessThan(0.05);
    // No option: the runtime loads the int8 graphs as any other, in onnxruntime-node and in
    // onnxruntime-web's WebAssembly build, and both fold the same weights (float32 rounding
    // apart). int8 weights move the reconstructed pixels (in [0, 1]) by a few thousandths
    // (0.0039 measured on a run trained as this one is); 0.05 leaves room for the seed.
    const cpu = await reconstruct('cpu');
    const wasm = await reconstruct('wasm');
    expect(maxAbsDiff(cpu, wasm)).toBeLessThan(1e-5);
    expect(maxAbsDiff(cpu, fp32Reconstruction)).toBeGreaterThan(0);
    expect(maxAbsDiff(cpu, fp32Reconstruction)).toBeLessThan(0.05);
  });

  it('refuses over the budget with QualityBudgetExceeded and leaves the export as it was', async () => {
    const before = readFileSync(join(run, 'onnx', 'encoder.onnx'));
    const aekitJson = readFileSync(join(run, 'onnx', 'aekit.json'), 'utf8');
    const r = await aekit('export', run, '--precision', 'fp16', '--max-quality-loss', '0');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Exported graphs lose more quality than allowed.');
    expect(r.stderr).toContain('At fp16, the graphs measure mse');
    expect(r.stderr).toContain('--max-quality-loss');
    expect(readFileSync(join(run, 'onnx', 'encoder.onnx')).equals(before)).toBe(true);
    expect(readFileSync(join(run, 'onnx', 'aekit.json'), 'utf8')).toBe(aekitJson);
  });

  it('auto under a budget of 0 writes fp32, recording a loss of 0', async () => {
    const r = await aekit(
      'export',
      run,
      '--precision',
      'auto',
      '--max-quality-loss',
      '0',
      '--json',
    );
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.precision).toBe('fp32');
    expect(report.quality.loss).toBe(0);
    expect(maxAbsDiff(await reconstruct('cpu'), fp32Reconstruction)).toBe(0);
  });

  it('refuses --max-quality-loss without --precision, and --precision with --repository', async () => {
    const alone = await aekit('export', run, '--max-quality-loss', '0.1');
    expect(alone.code).not.toBe(0);
    expect(alone.stderr).toContain('--max-quality-loss is used with --precision only');
    const repository = await aekit(
      ...['export', run, '--repository', join(dir, 'repo'), '--precision', 'int8'],
    );
    expect(repository.code).not.toBe(0);
    expect(repository.stderr).toContain('--precision is not available with --repository');
  });
});
