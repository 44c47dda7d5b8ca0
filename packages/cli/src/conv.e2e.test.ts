import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunDirectory } from '@aekit/core/node';
import { loadAutoencoder } from '@aekit/runtime-web';
import {
  disposeNetworks,
  loadEvaluationData,
  loadRunModel,
  mapBatches,
  selectBackend,
  train,
} from '@aekit/trainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, missing, useSwiftShader } from '../../core/src/test-utils/requirements.js';
import { aekit } from './test-utils/aekit.js';
import { expectBrowserParity } from './test-utils/browser.js';

useSwiftShader();

// As for the dense model (onnx.e2e.test.ts): float32 in other summation orders. A 3x3
// convolution sums at most 9 x 64 products per value, fewer than a 784-input dense layer.
const CPU_TOLERANCE = 1e-5;
const WEBGPU_TOLERANCE = 1e-4;
const SAMPLES = 8;

const dir = mkdtempSync(join(tmpdir(), 'aekit-conv-e2e-'));
const run = join(dir, 'conv');
let inputs: Float32Array;
let tfjsReconstruction: Float32Array;
let tfjsCodings: Float32Array;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const _rows = (data: Float32Array, width: number): number[][] =>
  Array.from({ length: data.length / width }, (_, i) =>
    Array.from(data.subarray(i * width, (i + 1) * width)),
  );

beforeAll(async () => {
  await train({
    variant: 'conv',
    data: 'mnist',
    limit: 600,
    epochs: 1,
    backend: 'wasm',
    figures: false,
    out: run,
  });
  const exported = await aekit('export', run);
  expect(exported.code, exported.stderr).toBe(0);
  await selectBackend('wasm');
  const { model, manifest } = loadRunModel(new RunDirectory(run));
  const shown = loadEvaluationData(manifest).heldOut.slice(0, SAMPLES);
  inputs = shown.x.slice();
  tfjsReconstruction = await mapBatches(shown, manifest.inputShape, (x) => model.reconstruct(x));
  tfjsCodings = await mapBatches(shown, manifest.inputShape, (x) => model.encode(x));
  disposeNetworks(model.networks);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the convolutional autoencoder exported to ONNX (Conv, MaxPool, ConvTranspose)', () => {
  it('runs in onnxruntime-node on the CPU like tfjs (<= 1e-5), codings 3x3x64', async () => {
    const ae = await loadAutoencoder(run, { device: 'cpu' });
    try {
      expect(ae.info).toMatchObject({ inputShape: [28, 28, 1], codingShape: [3, 3, 64] });
      const rec = await ae.reconstruct({ data: inputs, shape: [SAMPLES, 28, 28, 1] });
      expect(maxAbsDiff(rec.data, tfjsReconstruction)).toBeLessThanOrEqual(CPU_TOLERANCE);
      const codings = await ae.encode({ data: inputs, shape: [SAMPLES, 28, 28, 1] });
      expect(codings.shape).toEqual([SAMPLES, 3, 3, 64]);
      expect(maxAbsDiff(codings.data, tfjsCodings)).toBeLessThanOrEqual(CPU_TOLERANCE);
      const decoded = await ae.decode(codings);
      expect(maxAbsDiff(decoded.data, tfjsReconstruction)).toBeLessThanOrEqual(CPU_TOLERANCE);
    } finally {
      await ae.dispose();
    }
  });

  it.skipIf(missing(CHROMIUM))(
    'and in headless Chromium on wasm (<= 1e-5) and WebGPU (<= 1e-4)',
    async () => {
      await expectBrowserParity(
        join(run, 'onnx'),
        {
          inputs,
          sampleShape: [28, 28, 1],
          reconstruction: tfjsReconstruction,
          codings: tfjsCodings,
        },
        { wasm: CPU_TOLERANCE, webgpu: WEBGPU_TOLERANCE },
      );
    },
  );
});
