/**
 * `connectAutoencoder` against `aekit serve`: three exported runs (stacked, vae, hashing)
 * served by the built CLI, driven through the runtime's remote model, which must answer
 * what `loadAutoencoder` answers in-process on the same inputs (raw scale by default, the
 * in-process scale when given the normalisation), and fail with the catalogue's errors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyNormalization, IDENTITY, undoNormalization } from '@aekit/core';
import { isAekitError } from '@aekit/core/errors';
import { loadDataset } from '@aekit/core/node';
import {
  type Autoencoder,
  connectAutoencoder,
  loadAutoencoder,
  type RemoteAutoencoder,
  type RemoteRequestError,
} from '@aekit/runtime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killServers, startServe, trainAndExportThree } from './test-utils/aekit.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-remote-e2e-'));
const N = 6;
const SAMPLE = [28, 28, 1];
/** N MNIST test digits as stored: 0..255, the raw scale the server speaks. */
const raw = loadDataset({ source: 'mnist', split: 'test', limit: N, normalize: 'none' }).dataset.x;
const remotes: RemoteAutoencoder[] = [];
afterAll(async () => {
  await Promise.all(remotes.map((r) => r.close()));
  killServers();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Largest difference between `a` and `b`, relative to the largest magnitude in `b` (the
 * scale of the values: 0..255 pixels, 0..1 normalised, codings of any size).
 */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-12);
}

const runs = {
  stacked: join(dir, 'stacked'),
  vae: join(dir, 'vae'),
  hashing: join(dir, 'hashing'),
};
type Run = keyof typeof runs;
const local = {} as Record<Run, Autoencoder>;
const remote = {} as Record<Run, RemoteAutoencoder>;
let base: string;

const connect = async (name: string, options = {}) => {
  const r = await connectAutoencoder(base, name, options);
  remotes.push(r);
  return r;
};

beforeAll(async () => {
  await trainAndExportThree(runs);
  for (const [name, run] of Object.entries(runs) as [Run, string][]) {
    local[name] = await loadAutoencoder(join(run, 'onnx'), { device: 'cpu' });
  }
  ({ url: base } = await startServe(...Object.values(runs)));
  for (const name of Object.keys(runs) as Run[]) remote[name] = await connect(name);
});

afterAll(async () => {
  await Promise.all(Object.values(local).map((ae) => ae.dispose()));
});

/** Digits `first`..`first + rows - 1` on the raw 0..255 scale. */
const rawDigits = (first: number, rows: number) => ({
  data: new Float32Array(raw.subarray(first * 784, (first + rows) * 784)),
  shape: [rows, ...SAMPLE],
});

/** The same digits normalised as in training: what the in-process model takes. */
function normalised(ae: Autoencoder, first: number, rows: number) {
  const { data, shape } = rawDigits(first, rows);
  return { data: applyNormalization(data, 784, ae.info.normalization ?? IDENTITY), shape };
}

// Same graphs, same float32 inputs, same ONNX Runtime: what may differ is the normalisation
// arithmetic (float32, on the server and here) and nothing else, so 1e-6 of the values'
// scale (measured: at most 7.6e-8, float32 rounding).
const TOLERANCE = 1e-6;

describe('connectAutoencoder: the runtime API over aekit serve', () => {
  it('describes the model from the server metadata', () => {
    const { info } = remote.vae;
    expect(info).toMatchObject({
      inputShape: SAMPLE,
      codingShape: [2],
      described: 'server',
      device: 'remote',
      scale: 'raw',
      name: 'vae',
      url: base,
      inputName: 'input',
      codingName: 'codings',
      logVarianceName: 'log_variance',
      decoderInputName: 'codings',
      outputName: 'reconstruction',
    });
    expect([...info.capabilities]).toEqual(['sample']);
    expect([...remote.stacked.info.capabilities]).toEqual([]);
    expect([...remote.hashing.info.capabilities]).toEqual(['hash']);
    expect(remote.stacked.info.codingShape).toEqual([10]);
  });

  it('encodes raw samples to the codings the in-process model gives normalised ones', async () => {
    for (const name of ['stacked', 'vae'] as const) {
      const got = await remote[name].encode(rawDigits(0, N));
      const ref = await local[name].encode(normalised(local[name], 0, N));
      expect(got.shape).toEqual(ref.shape);
      expect(relDiff(got.data, ref.data), name).toBeLessThanOrEqual(TOLERANCE);
      if (ref.logVariance) {
        expect(relDiff(got.logVariance!.data, ref.logVariance.data)).toBeLessThanOrEqual(TOLERANCE);
      }
    }
  });

  it('decodes and reconstructs on the raw scale', async () => {
    const ae = local.stacked;
    const n = ae.info.normalization!;
    const codings = await ae.encode(normalised(ae, 0, 2));
    const decoded = await remote.stacked.decode(codings);
    const refDecoded = undoNormalization((await ae.decode(codings)).data, 784, n);
    expect(decoded.shape).toEqual([2, ...SAMPLE]);
    expect(relDiff(decoded.data, refDecoded)).toBeLessThanOrEqual(TOLERANCE);
    // Nested arrays, one sample each row, as the in-process model takes them.
    const nested = Array.from({ length: 2 }, (_, i) =>
      Array.from(raw.subarray((1 + i) * 784, (2 + i) * 784)),
    );
    const whole = await remote.stacked.reconstruct(nested);
    const ref = await ae.reconstruct(normalised(ae, 1, 2));
    expect(whole.shape).toEqual([2, ...SAMPLE]);
    expect(relDiff(whole.data, undoNormalization(ref.data, 784, n))).toBeLessThanOrEqual(TOLERANCE);
  });

  it('given the normalisation, takes and returns what loadAutoencoder does', async () => {
    const ae = local.stacked;
    // The one-line switch: this model and `ae` answer the same calls with the same values.
    const same = await connect('stacked', { normalization: ae.info.normalization });
    expect(same.info.scale).toBe('normalized');
    const x = normalised(ae, 0, N);
    const [codings, ref] = [await same.encode(x), await ae.encode(x)];
    expect(relDiff(codings.data, ref.data)).toBeLessThanOrEqual(TOLERANCE);
    const [decoded, refDecoded] = [await same.decode(ref), await ae.decode(ref)];
    expect(relDiff(decoded.data, refDecoded.data)).toBeLessThanOrEqual(TOLERANCE);
    const [whole, refWhole] = [await same.reconstruct(x), await ae.reconstruct(x)];
    expect(relDiff(whole.data, refWhole.data)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('splits a batch larger than maxBatchSize into several requests', async () => {
    const small = await connect('stacked', { maxBatchSize: 4 });
    const got = await small.encode(rawDigits(0, N));
    const ref = await local.stacked.encode(normalised(local.stacked, 0, N));
    expect(got.shape).toEqual([N, 10]);
    expect(relDiff(got.data, ref.data)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('samples with a seed, as the in-process model does', async () => {
    const got = await remote.vae.sample(3, { seed: 7 });
    expect(got.seed).toBe(7);
    expect(got.shape).toEqual([3, ...SAMPLE]);
    expect(got.data.every(Number.isFinite)).toBe(true);
    const ref = await local.vae.sample(3, { seed: 7 });
    expect(relDiff(got.codings!.data, ref.codings!.data)).toBeLessThanOrEqual(TOLERANCE);
    const refRaw = undoNormalization(ref.data, 784, local.vae.info.normalization!);
    expect(relDiff(got.data, refRaw)).toBeLessThanOrEqual(TOLERANCE);
    await expect(remote.stacked.sample(1)).rejects.toMatchObject({ code: 'CapabilityMissing' });
  });

  it('hashes to the bits of the in-process model', async () => {
    const ae = local.hashing;
    const got = await remote.hashing.hash(rawDigits(0, N));
    const ref = await ae.hash(normalised(ae, 0, N));
    expect(got.count).toBe(N);
    expect(got.bits).toBe(16);
    expect(Array.from(got.data)).toEqual(Array.from(ref.data));
    await expect(remote.stacked.hash(rawDigits(0, 1))).rejects.toMatchObject({
      code: 'CapabilityMissing',
    });
  });

  it('checks shapes before sending', async () => {
    await expect(remote.stacked.encode(new Float32Array(5))).rejects.toMatchObject({
      code: 'InvalidInput',
      message: expect.stringMatching(/encode\(\) takes samples of shape \[28, 28, 1\]/),
    });
    await expect(remote.stacked.decode([[1, 2, 3]])).rejects.toMatchObject({
      code: 'InvalidInput',
    });
  });

  it('fails with RemoteRequestFailed and the status for an unknown model', async () => {
    const err = await connectAutoencoder(base, 'nope').catch((e: unknown) => e);
    expect(isAekitError(err, 'RemoteRequestFailed')).toBe(true);
    expect((err as RemoteRequestError).status).toBe(404);
    expect((err as Error).message).toMatch(/answered 404: unknown model "nope-encoder"/);
  });

  it('fails with ServerUnreachable when no server listens', async () => {
    const free: Server = createServer();
    const port = await new Promise<number>((resolve) =>
      free.listen(0, '127.0.0.1', () => resolve((free.address() as { port: number }).port)),
    );
    await new Promise((resolve) => free.close(resolve));
    const err = await connectAutoencoder(`http://127.0.0.1:${port}`, 'stacked').catch(
      (e: unknown) => e,
    );
    expect(isAekitError(err, 'ServerUnreachable')).toBe(true);
    expect((err as Error).message).toMatch(`http://127.0.0.1:${port}/v2/models/stacked-`);
  });

  it('rejects calls after close() with ModelDisposed', async () => {
    const r = await connect('stacked');
    await r.close();
    await expect(r.encode(rawDigits(0, 1))).rejects.toMatchObject({ code: 'ModelDisposed' });
  });
});
