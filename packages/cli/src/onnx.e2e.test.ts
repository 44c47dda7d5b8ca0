import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunDirectory, readCsv, readNpy, writeDataFile } from '@aekit/core/node';
import { loadAutoencoder } from '@aekit/runtime-web';
import {
  disposeNetworks,
  loadEvaluationData,
  loadRunModel,
  mapBatches,
  selectBackend,
  train,
} from '@aekit/trainers';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHROMIUM,
  missing,
  PYTHON,
  PYTHON_ONNX,
  SWIFTSHADER,
  useSwiftShader,
} from '../../core/src/test-utils/requirements.js';
import { aekit } from './test-utils/aekit.js';
import { expectBrowserParity } from './test-utils/browser.js';

useSwiftShader();

// ONNX Runtime's CPU kernels (MLAS) and tfjs's wasm kernels both compute in float32, in other
// summation orders: values of order 1-10 differ by 1e-7 to 5e-6, so 1e-5 is the bound.
const CPU_TOLERANCE = 1e-5;
// WebGPU (SwiftShader here) sums in yet another order and WGSL's exp() may be a few ulp off.
const WEBGPU_TOLERANCE = 1e-4;
const SAMPLES = 16;

const dir = mkdtempSync(join(tmpdir(), 'aekit-onnx-e2e-'));
const run = join(dir, 'stacked');
let inputs: Float32Array;
let tfjsReconstruction: Float32Array;
let tfjsCodings: Float32Array;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, label?: string): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  if (label) console.log(`[onnx e2e] ${label}: max |diff| vs tfjs = ${m.toExponential(2)}`);
  return m;
}

function rows(data: Float32Array, width: number): number[][] {
  return Array.from({ length: data.length / width }, (_, i) =>
    Array.from(data.subarray(i * width, (i + 1) * width)),
  );
}

beforeAll(async () => {
  await train({
    variant: 'stacked',
    data: 'mnist',
    limit: 1000,
    epochs: 2,
    backend: 'wasm',
    figures: false,
    out: run,
  });
  const exported = await aekit('export', run);
  // One line naming the backend (the reference outputs' tfjs backend), nothing else.
  expect(exported.stderr).toMatch(/^backend: wasm \(WebAssembly[^\n]*\)\n$/);
  expect(exported.code).toBe(0);
  expect(exported.stdout).toMatch(
    /autoencoder\.onnx {2}input -> reconstruction .* max \|ORT - tfjs\| = /,
  );

  // The reference: the trained tfjs model itself, on real test digits.
  await selectBackend('wasm');
  const r = new RunDirectory(run);
  const { model, manifest } = loadRunModel(r);
  const { heldOut } = loadEvaluationData(manifest);
  const shown = heldOut.slice(0, SAMPLES);
  inputs = shown.x.slice();
  tfjsReconstruction = await mapBatches(shown, manifest.inputShape, (x) => model.reconstruct(x));
  tfjsCodings = await mapBatches(shown, manifest.inputShape, (x) => model.encode(x));
  disposeNetworks(model.networks);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('train -> export -> run anywhere ONNX runs', () => {
  it('writes the three graphs and aekit.json, and records the export in the manifest', () => {
    for (const f of ['encoder.onnx', 'decoder.onnx', 'autoencoder.onnx', 'aekit.json']) {
      expect(existsSync(join(run, 'onnx', f)), f).toBe(true);
    }
    const meta = JSON.parse(readFileSync(join(run, 'onnx', 'aekit.json'), 'utf8'));
    expect(meta).toMatchObject({
      format: 'aekit-onnx/1',
      variant: 'stacked',
      inputShape: [28, 28, 1],
      codingShape: [30],
      outputActivation: 'sigmoid',
    });
    const manifest = JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8'));
    expect(manifest.onnx.files).toEqual([
      'onnx/encoder.onnx',
      'onnx/decoder.onnx',
      'onnx/autoencoder.onnx',
    ]);
    expect(manifest.onnx.maxAbsDiff).toBeLessThanOrEqual(CPU_TOLERANCE);
  });

  it.skipIf(missing(PYTHON_ONNX))(
    'passes onnx.checker with full shape inference (python3-onnx)',
    () => {
      for (const f of ['encoder', 'decoder', 'autoencoder']) {
        const out = execFileSync(PYTHON, [
          '-c',
          'import onnx,sys; m=onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); onnx.shape_inference.infer_shapes(m, strict_mode=True); print({p.key: p.value for p in m.metadata_props}["aekit.graph"])',
          join(run, 'onnx', `${f}.onnx`),
        ]);
        expect(out.toString().trim()).toBe(f);
      }
    },
  );

  it('gives the same reconstructions in onnxruntime-node on the CPU (<= 1e-5)', async () => {
    const ae = await loadAutoencoder(run, { device: 'cpu' });
    try {
      expect(ae.info).toMatchObject({
        inputShape: [28, 28, 1],
        codingShape: [30],
        variant: 'stacked',
      });
      const rec = await ae.reconstruct({ data: inputs, shape: [SAMPLES, 28, 28, 1] });
      expect(rec.shape).toEqual([SAMPLES, 28, 28, 1]);
      expect(maxAbsDiff(rec.data, tfjsReconstruction, 'node cpu reconstruct')).toBeLessThanOrEqual(
        CPU_TOLERANCE,
      );
      const codings = await ae.encode(rows(inputs, 784));
      expect(maxAbsDiff(codings.data, tfjsCodings, 'node cpu encode')).toBeLessThanOrEqual(
        CPU_TOLERANCE,
      );
      const decoded = await ae.decode(codings);
      expect(maxAbsDiff(decoded.data, tfjsReconstruction)).toBeLessThanOrEqual(CPU_TOLERANCE);
    } finally {
      await ae.dispose();
    }
  });

  it.skipIf(missing(SWIFTSHADER))(
    'and in onnxruntime-node on WebGPU (SwiftShader, <= 1e-4)',
    async () => {
      const ae = await loadAutoencoder(run, { device: 'webgpu' });
      try {
        expect(ae.info.device).toBe('webgpu');
        const rec = await ae.reconstruct({ data: inputs, shape: [SAMPLES, 28, 28, 1] });
        expect(
          maxAbsDiff(rec.data, tfjsReconstruction, 'node webgpu reconstruct'),
        ).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
      } finally {
        await ae.dispose();
      }
    },
  );

  it('aekit encode / decode / reconstruct read and write NPY, CSV and PNG', async () => {
    // Files hold raw pixels (0..255): the CLI applies the recorded normalisation and undoes it.
    const raw = inputs.map((v) => v * 255);
    writeDataFile(join(dir, 'digits.npy'), raw, [SAMPLES, 28, 28]);
    const enc = await aekit(
      'encode',
      run,
      '--input',
      join(dir, 'digits.npy'),
      '--output',
      join(dir, 'codings.npy'),
      '--device',
      'cpu',
    );
    expect(enc.stdout).toContain(`encode: ${SAMPLES} sample(s) [28, 28, 1]`);
    const codings = readNpy(join(dir, 'codings.npy'));
    expect(codings.shape).toEqual([SAMPLES, 30]);
    expect(maxAbsDiff(codings.data, tfjsCodings)).toBeLessThanOrEqual(CPU_TOLERANCE);

    const dec = await aekit(
      'decode',
      run,
      '--input',
      join(dir, 'codings.npy'),
      '--output',
      join(dir, 'decoded.png'),
      '--device',
      'cpu',
    );
    expect(dec.code).toBe(0);
    const png = PNG.sync.read(readFileSync(join(dir, 'decoded.png')));
    expect(png.width).toBeGreaterThan(png.height); // ten per row, two rows for 16 samples

    const rec = await aekit(
      'reconstruct',
      run,
      '--input',
      join(dir, 'digits.npy'),
      '--output',
      join(dir, 'rec.csv'),
      '--device',
      'cpu',
    );
    expect(rec.code).toBe(0);
    const csv = readCsv(join(dir, 'rec.csv'));
    // Back on the 0..255 scale: the 1e-5 bound scaled by 255.
    expect(
      maxAbsDiff(
        csv.data,
        tfjsReconstruction.map((v) => v * 255),
      ),
    ).toBeLessThanOrEqual(255 * CPU_TOLERANCE);

    const wrong = await aekit(
      'encode',
      run,
      '--input',
      join(dir, 'codings.npy'),
      '--output',
      join(dir, 'x.npy'),
      '--device',
      'cpu',
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('error [InvalidInput]');
    const notExported = await aekit(
      'encode',
      join(dir, 'nothing'),
      '--input',
      join(dir, 'digits.npy'),
      '--output',
      join(dir, 'x.npy'),
    );
    expect(notExported.stderr).toContain('error [ModelLoadFailed]');
  });

  it.skipIf(missing(CHROMIUM))(
    'and in a page in headless Chromium (browser build): on wasm (<= 1e-5) and on WebGPU (<= 1e-4)',
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
