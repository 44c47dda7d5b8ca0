import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing, PYTHON_TORCH } from '../../core/src/test-utils/requirements.js';
import { type Autoencoder, loadAutoencoder } from './node.js';
import { expectRejection } from './test-utils/errors.js';
import { makeTorchModels, maxAbsDiff, type TorchModels } from './test-utils/models.js';
import { type StaticServer, serveStatic } from './test-utils/static-server.js';

// onnxruntime-node's WebGPU EP finds SwiftShader (shipped with Debian's chromium) through
// this Vulkan ICD. Set before the first WebGPU session: the EP keeps its first adapter.
process.env.VK_ICD_FILENAMES = '/usr/lib/chromium/vk_swiftshader_icd.json';
process.env.XDG_RUNTIME_DIR ??= tmpdir(); // quiets "XDG_RUNTIME_DIR is invalid" from the loader

// torch and onnxruntime both compute in float32: Linear(6->3) sums 6 products and a sigmoid
// follows, so they differ only by summation order and by onnxruntime's vectorised logistic
// (MLAS, relative error ~1e-7). 1e-5 is ~100 float32 ulps at these magnitudes (< 1); the
// measured differences are printed below.
const CPU_TOLERANCE = 1e-5;
// SwiftShader's WebGPU runs WGSL, whose exp() may be off by 3 + 2|x| ulp and whose matmul
// shaders sum in another order; 1e-4 leaves room for that on values in (0, 1).
const WEBGPU_TOLERANCE = 1e-4;

async function checkRoundTrip(ae: Autoencoder, models: TorchModels, tolerance: number) {
  const { expected } = models;
  const encoded = await ae.encode(expected.input);
  expect(encoded.shape).toEqual([3, 3]);
  const decoded = await ae.decode(Float32Array.from(expected.decodeInput.flat()));
  expect(decoded.shape).toEqual([2, 6]);
  const reconstructed = await ae.reconstruct({
    data: Float32Array.from(expected.input.flat()),
    shape: [3, 6],
  });
  expect(reconstructed.shape).toEqual([3, 6]);
  const diffs = {
    encode: maxAbsDiff(encoded.data, expected.codings),
    decode: maxAbsDiff(decoded.data, expected.decoded),
    reconstruct: maxAbsDiff(reconstructed.data, expected.reconstruction),
  };
  console.log(`[runtime-web] ${ae.info.device} vs torch ${expected.torch}: max |diff|`, diffs);
  for (const diff of Object.values(diffs)) expect(diff).toBeLessThanOrEqual(tolerance);
  return diffs;
}

describe.skipIf(missing(PYTHON_TORCH))('Node runtime on torch-made ONNX models', () => {
  let models: TorchModels;
  let work: string;

  beforeAll(() => {
    models = makeTorchModels();
    work = mkdtempSync(join(tmpdir(), 'aekit-rtw-node-'));
  });
  afterAll(() => {
    rmSync(models.dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('reads the shapes and names of a plain pair from its sessions (no aekit.json)', async () => {
    const ae = await loadAutoencoder(models.dir, { device: 'cpu' });
    expect(ae.info).toMatchObject({
      inputShape: [6],
      codingShape: [3],
      described: 'sessions',
      device: 'cpu',
      executionProviders: ['cpu'],
      inputName: 'x',
      codingName: 'z',
      decoderInputName: 'z',
      outputName: 'y',
      capabilities: [],
    });
    expect(ae.info.variant).toBeUndefined();
    await ae.dispose();
  });

  it('encodes, decodes and reconstructs on the CPU as torch does', async () => {
    const ae = await loadAutoencoder(models.dir, { device: 'cpu' });
    await checkRoundTrip(ae, models, CPU_TOLERANCE);
    await ae.dispose();
  });

  it("encodes, decodes and reconstructs on 'wasm' (onnxruntime-web in Node) as torch does", async () => {
    // onnxruntime-web's WebAssembly kernels: the same float32 arithmetic, other summation
    // orders, so the CPU bound holds (as in the browser tests).
    const ae = await loadAutoencoder(models.dir, { device: 'wasm' });
    expect(ae.info.device).toBe('wasm');
    expect(ae.info.executionProviders).toEqual(['wasm']);
    await checkRoundTrip(ae, models, CPU_TOLERANCE);
    await ae.dispose();
  });

  it('takes every input form and gives the same codings', async () => {
    const ae = await loadAutoencoder(models.dir, { device: 'cpu' });
    const flat = Float32Array.from(models.expected.input.flat());
    const forms = [
      flat,
      models.expected.input,
      models.expected.input.flat(),
      { data: flat, shape: [3, 6] },
      { data: models.expected.input.flat(), shape: [3, 6] },
    ];
    const results = await Promise.all(forms.map((x) => ae.encode(x)));
    for (const r of results) {
      expect(r.shape).toEqual([3, 3]);
      expect(Array.from(r.data)).toEqual(Array.from(results[0]!.data));
    }
    const one = await ae.encode(models.expected.input[1]!);
    expect(one.shape).toEqual([1, 3]);
    expect(Array.from(one.data)).toEqual(Array.from(results[0]!.data.subarray(3, 6)));
    await ae.dispose();
  });

  it('reconstructs through encoder and decoder when there is no autoencoder.onnx', async () => {
    const dir = join(work, 'pair-only');
    mkdirSync(dir);
    for (const f of ['encoder.onnx', 'decoder.onnx'])
      copyFileSync(join(models.dir, f), join(dir, f));
    const ae = await loadAutoencoder(dir, { device: 'cpu' });
    const r = await ae.reconstruct(models.expected.input);
    expect(maxAbsDiff(r.data, models.expected.reconstruction)).toBeLessThanOrEqual(CPU_TOLERANCE);
    await ae.dispose();
  });

  it('runs a pair exported with a fixed batch of 2 in chunks', async () => {
    const ae = await loadAutoencoder(models.fixedBatchDir, { device: 'cpu' });
    expect(ae.info).toMatchObject({ inputShape: [6], codingShape: [3], inputName: 'input' });
    const encoded = await ae.encode(models.expected.input); // 3 samples: chunks of 2 and 1 (+1 padding)
    expect(encoded.shape).toEqual([3, 3]);
    expect(maxAbsDiff(encoded.data, models.expected.codings)).toBeLessThanOrEqual(CPU_TOLERANCE);
    const r = await ae.reconstruct(models.expected.input);
    expect(maxAbsDiff(r.data, models.expected.reconstruction)).toBeLessThanOrEqual(CPU_TOLERANCE);
    await ae.dispose();
  });

  it('reports what aekit.json says, names graphs from it, and checks its shapes', async () => {
    const dir = join(work, 'with-metadata');
    mkdirSync(dir);
    for (const f of ['encoder.onnx', 'decoder.onnx', 'autoencoder.onnx']) {
      copyFileSync(join(models.dir, f), join(dir, f));
    }
    const metadata = {
      format: 'aekit-onnx/1',
      variant: 'stacked',
      inputShape: [6],
      codingShape: [3],
      normalization: { kind: 'unit', scale: 0.00392156862745098, offset: 0 },
      outputActivation: 'sigmoid',
      capabilities: [],
      graphs: {
        encoder: { file: 'encoder.onnx', input: 'x', output: 'z' },
        decoder: { file: 'decoder.onnx', input: 'z', output: 'y' },
        autoencoder: { file: 'autoencoder.onnx', input: 'x', output: 'y' },
      },
      aekitVersion: '0.1.0',
    };
    writeFileSync(join(dir, 'aekit.json'), JSON.stringify(metadata));
    const ae = await loadAutoencoder(dir, { device: 'cpu' });
    expect(ae.info).toMatchObject({
      described: 'aekit.json',
      variant: 'stacked',
      normalization: metadata.normalization,
      outputActivation: 'sigmoid',
      aekitVersion: '0.1.0',
    });
    await checkRoundTrip(ae, models, CPU_TOLERANCE);
    await ae.dispose();

    writeFileSync(join(dir, 'aekit.json'), JSON.stringify({ ...metadata, inputShape: [7] }));
    const wrong = await expectRejection(loadAutoencoder(dir, { device: 'cpu' }), 'ModelLoadFailed');
    expect(wrong.message).toContain('[batch, 6] does not fit [N, 7]');
    writeFileSync(join(dir, 'aekit.json'), JSON.stringify({ ...metadata, format: 'aekit-onnx/9' }));
    await expectRejection(loadAutoencoder(dir), 'ModelLoadFailed');
  });

  it('loads from bytes and from an http URL', async () => {
    const read = (f: string) => new Uint8Array(readFileSync(join(models.dir, f)));
    const fromBytes = await loadAutoencoder(
      { encoder: read('encoder.onnx'), decoder: read('decoder.onnx') },
      { device: 'cpu' },
    );
    expect(fromBytes.info.source).toBe('model bytes');
    await checkRoundTrip(fromBytes, models, CPU_TOLERANCE);
    await fromBytes.dispose();

    let server: StaticServer | undefined;
    try {
      server = await serveStatic({ '/models/': models.dir });
      const fromUrl = await loadAutoencoder(`${server.url}models`, { device: 'cpu' });
      expect(fromUrl.info.source).toBe(`${server.url}models/`);
      await checkRoundTrip(fromUrl, models, CPU_TOLERANCE);
      await fromUrl.dispose();
      // aekit.json is optional (404) and read first; the encoder and the decoder are
      // fetched together (either may be logged first); autoencoder.onnx is fetched on the
      // first reconstruct
      const [meta, ...rest] = server.requests;
      expect(meta).toBe('GET /models/aekit.json 404');
      expect(rest.slice(0, 2).sort()).toEqual([
        'GET /models/decoder.onnx 200',
        'GET /models/encoder.onnx 200',
      ]);
      expect(rest.slice(2)).toEqual(['GET /models/autoencoder.onnx 200']);
      await expectRejection(loadAutoencoder(`${server.url}nothing/`), 'ModelLoadFailed');
    } finally {
      await server?.close();
    }
  });

  it('runs on the WebGPU execution provider (SwiftShader) within 1e-4 of torch', async () => {
    const ae = await loadAutoencoder(models.dir, { device: 'webgpu' });
    expect(ae.info.device).toBe('webgpu');
    expect(ae.info.executionProviders).toEqual(['webgpu']);
    await checkRoundTrip(ae, models, WEBGPU_TOLERANCE);
    await ae.dispose();
  });

  it("picks WebGPU for 'auto' when it starts", async () => {
    const ae = await loadAutoencoder(models.dir);
    expect(ae.info.device).toBe('webgpu');
    expect(ae.info.skippedDevices).toEqual([]);
    await ae.dispose();
  });

  it('rejects inputs that do not fit with InvalidInput', async () => {
    const ae = await loadAutoencoder(models.dir, { device: 'cpu' });
    const short = await expectRejection(ae.encode(new Float32Array(7)), 'InvalidInput');
    expect(short.message).toBe(
      'encode() takes samples of shape [6] (6 values each): the Float32Array holds 7 values, which is not a whole number of samples.',
    );
    const ragged = await expectRejection(
      ae.encode([
        [1, 2, 3, 4, 5, 6],
        [1, 2, 3],
      ]),
      'InvalidInput',
    );
    expect(ragged.message).toContain('ragged');
    await expectRejection(
      ae.decode(new Float32Array(6)).then(() => ae.decode([[1, 2]])),
      'InvalidInput',
    );
    await expectRejection(
      ae.encode({ data: new Float32Array(12), shape: [2, 3, 2] }),
      'InvalidInput',
    );
    await expectRejection(ae.encode({ data: new Float32Array(12), shape: [3, 6] }), 'InvalidInput');
    await expectRejection(ae.encode(new Float64Array(6) as never), 'InvalidInput');
    await expectRejection(ae.encode([]), 'InvalidInput');
    await ae.dispose();
    await ae.dispose(); // twice is fine
    await expectRejection(ae.encode(new Float32Array(6)), 'ModelDisposed');
  });

  it('rejects the calls in flight at dispose() with ModelDisposed, on cpu and wasm', async () => {
    // The fixed-batch pair runs 1,000 samples in 500 runs of 2, so dispose() comes mid-way;
    // the other folder runs each call at once (and opens autoencoder.onnx on reconstruct).
    const n = 1000;
    for (const [dir, device] of [
      [models.fixedBatchDir, 'cpu'],
      [models.fixedBatchDir, 'wasm'],
      [models.dir, 'cpu'],
    ] as const) {
      const ae = await loadAutoencoder(dir, { device });
      const calls = Promise.allSettled([
        ae.encode({ data: new Float32Array(n * 6), shape: [n, 6] }),
        ae.decode({ data: new Float32Array(n * 3), shape: [n, 3] }),
        ae.reconstruct({ data: new Float32Array(n * 6), shape: [n, 6] }),
      ]);
      await ae.dispose();
      for (const call of await calls) {
        expect(call.status).toBe('rejected');
        const err = await expectRejection(
          Promise.reject((call as PromiseRejectedResult).reason),
          'ModelDisposed',
        );
        expect(err.message).toBe(
          `An autoencoder loaded from "${dir}" was still running when dispose() was called; it was stopped.`,
        );
      }
    }
  });

  it('names the valid devices for an unknown one, and the folder when it is missing', async () => {
    const unknown = await expectRejection(
      loadAutoencoder(models.dir, { device: 'gpu' }),
      'UnknownDevice',
    );
    expect(unknown.message).toBe(
      'Unsupported device: "gpu". Should be one of: "auto", "cpu", "webgpu", "wasm".',
    );
    await expectRejection(loadAutoencoder(models.dir, { device: 'webgl' }), 'UnknownDevice');

    const missing = join(work, 'no-such-folder');
    const gone = await expectRejection(loadAutoencoder(missing), 'ModelLoadFailed');
    expect(gone.message).toBe(`Cannot load "${missing}": the folder does not exist.`);

    const half = join(work, 'encoder-only');
    mkdirSync(half);
    copyFileSync(join(models.dir, 'encoder.onnx'), join(half, 'encoder.onnx'));
    const noDecoder = await expectRejection(loadAutoencoder(half), 'ModelLoadFailed');
    expect(noDecoder.message).toContain('there is no decoder.onnx in it (it holds: encoder.onnx)');

    const broken = await expectRejection(
      loadAutoencoder(
        { encoder: new Uint8Array([1, 2, 3]), decoder: new Uint8Array(0) },
        { device: 'cpu' },
      ),
      'ModelLoadFailed',
    );
    expect(broken.message).toContain('encoder.onnx: ');
  });
});
