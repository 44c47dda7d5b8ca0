import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing, PYTHON_TORCH } from '../../core/src/test-utils/requirements.js';
import { loadAutoencoder, MAX_SAMPLE_VALUES } from './node.js';
import { seededUniform } from './sampling.js';
import { expectRejection } from './test-utils/errors.js';
import { makeTorchModels, maxAbsDiff, type TorchModels } from './test-utils/models.js';

// onnxruntime-node's WebGPU EP finds SwiftShader through this Vulkan ICD (see node.test.ts).
process.env.VK_ICD_FILENAMES = '/usr/lib/chromium/vk_swiftshader_icd.json';
process.env.XDG_RUNTIME_DIR ??= tmpdir();

// As in node.test.ts: torch and onnxruntime's CPU kernels both compute in float32 and differ
// by summation order and the vectorised tanh/logistic, ~1e-7 here; 1e-5 is ~100 ulps.
const CPU_TOLERANCE = 1e-5;
// SwiftShader's WGSL exp()/tanh() and shader summation order: 1e-4 (see node.test.ts).
const WEBGPU_TOLERANCE = 1e-4;

/** Rows of a flat `[rows, width]` array. */
const rows = (data: ArrayLike<number>, width: number): number[][] =>
  Array.from({ length: data.length / width }, (_, i) =>
    Array.from(data).slice(i * width, (i + 1) * width),
  );

describe.skipIf(missing(PYTHON_TORCH))('variational autoencoders in Node', () => {
  let models: TorchModels;
  let work: string;

  beforeAll(() => {
    models = makeTorchModels();
    work = mkdtempSync(join(tmpdir(), 'aekit-rtw-vae-'));
  });
  afterAll(() => {
    rmSync(models.dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  /** A copy of the VAE folder with aekit.json changed by `edit`. */
  function vaeWith(name: string, edit: (metadata: Record<string, unknown>) => unknown): string {
    const dir = join(work, name);
    mkdirSync(dir);
    for (const f of ['encoder.onnx', 'decoder.onnx', 'autoencoder.onnx']) {
      copyFileSync(join(models.vaeDir, f), join(dir, f));
    }
    const metadata = JSON.parse(readFileSync(join(models.vaeDir, 'aekit.json'), 'utf8'));
    writeFileSync(join(dir, 'aekit.json'), JSON.stringify(edit(metadata)));
    return dir;
  }

  it('encodes to the codings and their log-variance in one run, as torch does', async () => {
    const ae = await loadAutoencoder(models.vaeDir, { device: 'cpu' });
    expect(ae.info).toMatchObject({
      variant: 'vae',
      capabilities: ['sample'],
      described: 'aekit.json',
      inputShape: [6],
      codingShape: [2],
      inputName: 'input',
      codingName: 'codings',
      logVarianceName: 'log_variance',
      decoderInputName: 'codings',
      outputName: 'reconstruction',
    });
    const { vae } = models.expected;
    const encoded = await ae.encode(models.expected.input);
    expect(encoded.shape).toEqual([3, 2]);
    expect(encoded.logVariance?.shape).toEqual([3, 2]);
    // autoencoder.onnx of a VAE decodes the mean
    const reconstructed = await ae.reconstruct(models.expected.input);
    const diffs = {
      codings: maxAbsDiff(encoded.data, vae.codings),
      logVariance: maxAbsDiff(encoded.logVariance!.data, vae.logVariance),
      reconstruct: maxAbsDiff(reconstructed.data, vae.reconstruction),
    };
    console.log(`[runtime-web] VAE cpu vs torch ${models.expected.torch}: max |diff|`, diffs);
    for (const diff of Object.values(diffs)) expect(diff).toBeLessThanOrEqual(CPU_TOLERANCE);
    // decode() takes the codings as they come from encode()
    const decoded = await ae.decode(encoded);
    expect(maxAbsDiff(decoded.data, vae.reconstruction)).toBeLessThanOrEqual(CPU_TOLERANCE);
    await ae.dispose();
  });

  it('runs both encoder outputs in chunks for a fixed batch, found without aekit.json', async () => {
    const ae = await loadAutoencoder(models.vaeFixedBatchDir, { device: 'cpu' });
    expect(ae.info).toMatchObject({
      described: 'sessions',
      codingName: 'codings',
      logVarianceName: 'log_variance',
      capabilities: [],
    });
    const encoded = await ae.encode(models.expected.input); // chunks of 2 and 1 (+1 padding)
    expect(encoded.shape).toEqual([3, 2]);
    expect(encoded.logVariance?.shape).toEqual([3, 2]);
    const { vae } = models.expected;
    expect(maxAbsDiff(encoded.data, vae.codings)).toBeLessThanOrEqual(CPU_TOLERANCE);
    expect(maxAbsDiff(encoded.logVariance!.data, vae.logVariance)).toBeLessThanOrEqual(
      CPU_TOLERANCE,
    );
    const one = await ae.encode(models.expected.input[2]!);
    expect(Array.from(one.logVariance!.data)).toEqual(
      Array.from(encoded.logVariance!.data.subarray(4, 6)),
    );
    // no aekit.json: no capabilities, so no sampling
    const refused = await expectRejection(ae.sample(2, { seed: 1 }), 'CapabilityMissing');
    expect(refused.message).toBe(
      `The model at "${models.vaeFixedBatchDir}" cannot sample: it has no aekit.json, and only a model whose aekit.json declares the "sample" capability can.`,
    );
    await ae.dispose();
  });

  it('samples deterministically from a seed, and decodes exactly the codings it returns', async () => {
    const ae = await loadAutoencoder(models.vaeDir, { device: 'cpu' });
    const a = await ae.sample(5, { seed: 3 });
    expect(a.shape).toEqual([5, 6]);
    expect(a.codings!.shape).toEqual([5, 2]);
    expect(a.seed).toBe(3);
    // the codings are xoroshiro128+ seeded with 3 turned normal by Box-Muller
    const rng = seededUniform(3);
    const normals: number[] = [];
    while (normals.length < 10) {
      const r = Math.sqrt(-2 * Math.log(1 - rng()));
      const angle = 2 * Math.PI * rng();
      normals.push(r * Math.cos(angle), r * Math.sin(angle));
    }
    expect(Array.from(a.codings!.data)).toEqual(Array.from(Float32Array.from(normals)));
    const decoded = await ae.decode(a.codings);
    expect(Array.from(a.data)).toEqual(Array.from(decoded.data));
    for (const v of a.data) expect(v > 0 && v < 1).toBe(true); // the decoder ends in a sigmoid

    const again = await ae.sample(5, { seed: 3 });
    expect(Array.from(again.codings!.data)).toEqual(Array.from(a.codings!.data));
    expect(Array.from(again.data)).toEqual(Array.from(a.data));
    const other = await ae.sample(5, { seed: 4 });
    expect(maxAbsDiff(other.codings!.data, rows(a.codings!.data, 2))).toBeGreaterThan(0.1);
    expect(maxAbsDiff(other.data, rows(a.data, 6))).toBeGreaterThan(0);

    // temperature scales the draws; 0 decodes the prior's mean, the origin
    const cool = await ae.sample(5, { seed: 3, temperature: 0.5 });
    expect(Array.from(cool.codings!.data)).toEqual(Array.from(a.codings!.data, (v) => v * 0.5));
    const zero = await ae.sample(2, { seed: 3, temperature: 0 });
    expect(Array.from(zero.codings!.data)).toEqual([0, 0, 0, 0]);
    const origin = await ae.decode([
      [0, 0],
      [0, 0],
    ]);
    expect(Array.from(zero.data)).toEqual(Array.from(origin.data));

    // without a seed, a random one, returned so that the draw can be repeated
    const [r1, r2] = [await ae.sample(3), await ae.sample(3)];
    expect(r1.seed).not.toBe(r2.seed);
    const repeated = await ae.sample(3, { seed: r1.seed });
    expect(Array.from(repeated.data)).toEqual(Array.from(r1.data));
    await ae.dispose();
    await expectRejection(ae.sample(1, { seed: 3 }), 'ModelDisposed');
  });

  it('refuses to sample from a model whose aekit.json does not declare it, and refuses a bad n', async () => {
    const plain = vaeWith('plain', (m) => ({ ...m, variant: 'plain', capabilities: ['hash'] }));
    const ae = await loadAutoencoder(plain, { device: 'cpu' });
    const err = await expectRejection(ae.sample(5, { seed: 3 }), 'CapabilityMissing');
    // What the file declares, never a list of variants.
    expect(err.message).toBe(
      `The model at "${plain}" cannot sample: its aekit.json declares the capabilities "hash", not "sample".`,
    );
    expect(err.hint).toContain('variant declares the "sample" capability');
    expect(err.hint).toContain('`aekit variants` lists');
    // encode still returns the log-variance the graph has
    expect((await ae.encode(models.expected.input)).logVariance?.shape).toEqual([3, 2]);
    await ae.dispose();

    const vae = await loadAutoencoder(models.vaeDir, { device: 'cpu' });
    for (const n of [0, -2, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '5' as never]) {
      const bad = await expectRejection(vae.sample(n), 'InvalidArgument');
      expect(bad.message).toMatch(/^sample\(\): n must be a positive integer/);
    }
    const most = Math.floor(MAX_SAMPLE_VALUES / 6);
    const tooMany = await expectRejection(vae.sample(most + 1), 'InvalidArgument');
    expect(tooMany.message).toContain(`one call draws at most ${most} samples of 6 values`);
    await expectRejection(vae.sample(2, { seed: 0.5 }), 'InvalidArgument');
    await expectRejection(vae.sample(2, { temperature: -1 }), 'InvalidArgument');
    await vae.dispose();
  });

  it('checks extraOutputs in aekit.json against the encoder', async () => {
    const graphsWith = (m: Record<string, unknown>, extraOutputs: unknown) => {
      const graphs = m.graphs as Record<string, Record<string, unknown>>;
      return { ...m, graphs: { ...graphs, encoder: { ...graphs.encoder, extraOutputs } } };
    };
    const notArray = vaeWith('extra-not-array', (m) => graphsWith(m, 'log_variance'));
    const e1 = await expectRejection(loadAutoencoder(notArray), 'ModelLoadFailed');
    expect(e1.message).toContain('"graphs.encoder.extraOutputs" must be an array of strings.');
    const missing = vaeWith('extra-missing', (m) => graphsWith(m, ['log_var']));
    const e2 = await expectRejection(
      loadAutoencoder(missing, { device: 'cpu' }),
      'ModelLoadFailed',
    );
    expect(e2.message).toContain(
      'aekit.json lists encoder extra output "log_var", but encoder.onnx has outputs "codings", "log_variance".',
    );
    // a declared list is what the runtime reads: [] means codings only
    const none = vaeWith('extra-none', (m) => graphsWith(m, []));
    const ae = await loadAutoencoder(none, { device: 'cpu' });
    expect(ae.info.logVarianceName).toBeUndefined();
    const encoded = await ae.encode(models.expected.input);
    expect(encoded.logVariance).toBeUndefined();
    expect(maxAbsDiff(encoded.data, models.expected.vae.codings)).toBeLessThanOrEqual(
      CPU_TOLERANCE,
    );
    await ae.dispose();
  });

  it('reads the sampler from aekit.json and runs a chain sampler (GSN) by corrupting and reconstructing', async () => {
    const bad = vaeWith('sampler-bad', (m) => ({
      ...m,
      sampler: { kind: 'chain', noise: 'salt' },
    }));
    const e = await expectRejection(loadAutoencoder(bad), 'ModelLoadFailed');
    expect(e.message).toContain('"sampler" must be { kind: "prior" }');
    const chainDir = vaeWith('sampler-chain', (m) => ({
      ...m,
      sampler: { kind: 'chain', noise: 'dropout', noiseStd: 0, noiseRate: 0.5, steps: 3 },
    }));
    const ae = await loadAutoencoder(chainDir, { device: 'cpu' });
    expect(ae.info.sampler).toEqual({
      kind: 'chain',
      noise: 'dropout',
      noiseStd: 0,
      noiseRate: 0.5,
      steps: 3,
    });
    const a = await ae.sample(4, { seed: 5 });
    expect(a.steps).toBe(3);
    expect(a.codings).toBeUndefined();
    expect(a.shape).toEqual([4, 6]);
    // The samples are reconstructions (the fixture's decoder ends in a sigmoid), seeded.
    for (const v of a.data) expect(v > 0 && v < 1).toBe(true);
    expect(Array.from((await ae.sample(4, { seed: 5 })).data)).toEqual(Array.from(a.data));
    expect(Array.from((await ae.sample(4, { seed: 6 })).data)).not.toEqual(Array.from(a.data));
    // One step: the reconstruction of uniform noise with half its values switched off,
    // drawn from the same seeded stream.
    const one = await ae.sample(2, { seed: 5, steps: 1 });
    const u = seededUniform(5);
    const start = Array.from({ length: 12 }, () => u());
    const corrupted = start.map((v) => (u() < 0.5 ? 0 : v));
    const expected = await ae.reconstruct({ data: Float32Array.from(corrupted), shape: [2, 6] });
    expect(Array.from(one.data)).toEqual(Array.from(expected.data));
    await expectRejection(ae.sample(2, { steps: 0 }), 'InvalidArgument');
    await ae.dispose();
  });

  it('encodes and samples on the WebGPU execution provider (SwiftShader) too', async () => {
    const cpu = await loadAutoencoder(models.vaeDir, { device: 'cpu' });
    const gpu = await loadAutoencoder(models.vaeDir, { device: 'webgpu' });
    expect(gpu.info.device).toBe('webgpu');
    const encoded = await gpu.encode(models.expected.input);
    const { vae } = models.expected;
    expect(maxAbsDiff(encoded.data, vae.codings)).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
    expect(maxAbsDiff(encoded.logVariance!.data, vae.logVariance)).toBeLessThanOrEqual(
      WEBGPU_TOLERANCE,
    );
    const [onGpu, onCpu] = [await gpu.sample(4, { seed: 9 }), await cpu.sample(4, { seed: 9 })];
    expect(Array.from(onGpu.codings!.data)).toEqual(Array.from(onCpu.codings!.data));
    expect(maxAbsDiff(onGpu.data, rows(onCpu.data, 6))).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
    await Promise.all([cpu.dispose(), gpu.dispose()]);
  });
});
