/**
 * `aekit serve` speaks the Open Inference Protocol (KServe v2 REST): a model repository of
 * three exported runs (stacked, vae, hashing) served by the built CLI, driven with plain
 * `fetch` requests as the protocol describes them, answering what `loadAutoencoder` answers
 * in-process on the same raw inputs; run directories served as well; concurrent requests
 * batched; a full queue refused; SIGTERM drains.
 */
import type { ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyNormalization, IDENTITY, undoNormalization } from '@aekit/core';
import { loadDataset } from '@aekit/core/node';
import { type Autoencoder, loadAutoencoder, loadHashIndex, unpackBits } from '@aekit/runtime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aekit, killServers, startServe, trainAndExportThree } from './test-utils/aekit.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-serve-e2e-'));
const N = 6;
const SAMPLE = [28, 28, 1];
/** N MNIST test digits as stored: 0..255, the scale clients send. */
const raw = loadDataset({ source: 'mnist', split: 'test', limit: N, normalize: 'none' }).dataset.x;
afterAll(() => {
  killServers();
  rmSync(dir, { recursive: true, force: true });
});

const post = (url: string, body: unknown) =>
  fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

/** An inference request for `rows` digits from `first`, on the raw 0..255 scale. */
const digits = (first: number, rows: number, more: Record<string, unknown> = {}) => ({
  inputs: [
    {
      name: 'input',
      shape: [rows, ...SAMPLE],
      datatype: 'FP32',
      data: Array.from(raw.subarray(first * 784, (first + rows) * 784)),
    },
  ],
  ...more,
});

interface Output {
  name: string;
  shape: number[];
  datatype: string;
  data: number[];
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

let base: string;
let server: ChildProcess;
const runs = {
  stacked: join(dir, 'stacked'),
  vae: join(dir, 'vae'),
  hashing: join(dir, 'hashing'),
};
const repository = join(dir, 'repository');
/** The repository's models loaded in-process: the same graphs, raw values in and out. */
const loaded: Record<string, Autoencoder> = {};

beforeAll(async () => {
  await trainAndExportThree(runs);
  for (const [name, run] of Object.entries(runs)) {
    const r = await aekit('export', run, '--repository', repository, '--name', name);
    if (r.code !== 0) throw new Error(`aekit export --repository exited ${r.code}:\n${r.stderr}`);
    loaded[name] = await loadAutoencoder(join(repository, `${name}-encoder`), { device: 'cpu' });
  }
  ({ url: base, child: server } = await startServe(repository, '--max-queue-delay', '50'));
});

afterAll(async () => {
  await Promise.all(Object.values(loaded).map((ae) => ae.dispose()));
});

/** What the model answers in-process: its graphs on normalised inputs. */
function normalised(ae: Autoencoder, first: number, rows: number): Float32Array {
  const x = new Float32Array(raw.subarray(first * 784, (first + rows) * 784));
  return applyNormalization(x, 784, ae.info.normalization ?? IDENTITY);
}

describe('aekit serve: the Open Inference Protocol over a model repository', () => {
  it('answers server health and metadata', async () => {
    expect((await fetch(`${base}/v2/health/live`)).status).toBe(200);
    expect((await fetch(`${base}/v2/health/ready`)).status).toBe(200);
    const meta = await (await fetch(`${base}/v2`)).json();
    expect(meta).toMatchObject({ name: 'aekit', extensions: ['binary_tensor_data'] });
    expect(typeof meta.version).toBe('string');
  });

  it('describes each graph as a model, with -1 for the batch axis', async () => {
    const vae = await (await fetch(`${base}/v2/models/vae-encoder`)).json();
    expect(vae).toEqual({
      name: 'vae-encoder',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, ...SAMPLE] }],
      outputs: [
        { name: 'codings', datatype: 'FP32', shape: [-1, 2] },
        { name: 'log_variance', datatype: 'FP32', shape: [-1, 2] },
      ],
    });
    const hashing = await (await fetch(`${base}/v2/models/hashing-encoder/versions/1`)).json();
    expect(hashing.outputs.map((o: Output) => o.name)).toEqual(['codings', 'bits']);
    const decoder = await (await fetch(`${base}/v2/models/stacked-decoder`)).json();
    expect(decoder.inputs).toEqual([{ name: 'codings', datatype: 'FP32', shape: [-1, 10] }]);
    const ready = await fetch(`${base}/v2/models/stacked-autoencoder/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ name: 'stacked-autoencoder', ready: true });
  });

  it('infers on raw pixels what loadAutoencoder gives in-process', async () => {
    // Same graphs, same float32 inputs, same ONNX Runtime: 1e-6 on codings leaves room for
    // batches of another size taking other kernel paths; reconstructions are compared on the
    // raw 0..255 scale, where 1e-6 relative is 2.6e-4 absolute.
    const vae = (await (
      await post(`${base}/v2/models/vae-encoder/infer`, digits(0, N, { id: 'q1' }))
    ).json()) as {
      id: string;
      model_name: string;
      model_version: string;
      outputs: Output[];
    };
    expect(vae).toMatchObject({ id: 'q1', model_name: 'vae-encoder', model_version: '1' });
    const ref = await loaded.vae!.encode({
      data: normalised(loaded.vae!, 0, N),
      shape: [N, ...SAMPLE],
    });
    expect(vae.outputs.map((o) => [o.name, o.shape, o.datatype])).toEqual([
      ['codings', [N, 2], 'FP32'],
      ['log_variance', [N, 2], 'FP32'],
    ]);
    expect(maxDiff(vae.outputs[0]!.data, ref.data)).toBeLessThanOrEqual(1e-6);
    expect(maxDiff(vae.outputs[1]!.data, ref.logVariance!.data)).toBeLessThanOrEqual(1e-6);

    const hashing = loaded.hashing!;
    const bitsOnly = await (
      await post(
        `${base}/v2/models/hashing-encoder/infer`,
        digits(0, N, { outputs: [{ name: 'bits' }] }),
      )
    ).json();
    expect(bitsOnly.outputs.map((o: Output) => o.name)).toEqual(['bits']);
    const codes = await hashing.hash({ data: normalised(hashing, 0, N), shape: [N, ...SAMPLE] });
    const bits = Array.from({ length: N }, (_, i) => Array.from(unpackBits(codes, i))).flat();
    expect(bitsOnly.outputs[0].data).toEqual(bits);

    const stacked = loaded.stacked!;
    const whole = await (
      await post(`${base}/v2/models/stacked-autoencoder/infer`, digits(1, 2))
    ).json();
    const reconstructed = await stacked.reconstruct({
      data: normalised(stacked, 1, 2),
      shape: [2, ...SAMPLE],
    });
    const rawScale = undoNormalization(
      reconstructed.data,
      784,
      stacked.info.normalization ?? IDENTITY,
    );
    expect(whole.outputs[0]).toMatchObject({ name: 'reconstruction', shape: [2, ...SAMPLE] });
    expect(maxDiff(whole.outputs[0].data, rawScale)).toBeLessThanOrEqual(255 * 1e-6);

    // Nested data and the decoder: codings in, raw pixels out.
    const codings = await stacked.encode({
      data: normalised(stacked, 0, 1),
      shape: [1, ...SAMPLE],
    });
    const decoded = await (
      await post(`${base}/v2/models/stacked-decoder/infer`, {
        inputs: [
          { name: 'codings', shape: [1, 10], datatype: 'FP32', data: [Array.from(codings.data)] },
        ],
      })
    ).json();
    const refDecoded = await stacked.decode(codings);
    expect(
      maxDiff(
        decoded.outputs[0].data,
        undoNormalization(refDecoded.data, 784, stacked.info.normalization ?? IDENTITY),
      ),
    ).toBeLessThanOrEqual(255 * 1e-6);
  });

  it('samples from a decoder whose run declares it, seeded', async () => {
    const body = { n: 3, seed: 7 };
    const a = await (await post(`${base}/v2/models/vae-decoder/sample`, body)).json();
    const ref = await loaded.vae!.sample(3, { seed: 7 });
    expect(a.parameters).toEqual({ seed: 7 });
    const out = a.outputs.find((o: Output) => o.name === 'reconstruction');
    expect(out.shape).toEqual([3, ...SAMPLE]);
    expect(
      maxDiff(
        out.data,
        undoNormalization(ref.data, 784, loaded.vae!.info.normalization ?? IDENTITY),
      ),
    ).toBeLessThanOrEqual(255 * 1e-6);
    const refused = await post(`${base}/v2/models/stacked-decoder/sample`, body);
    expect(refused.status).toBe(400);
    const cold = await post(`${base}/v2/models/vae-decoder/sample`, { n: 1, temperature: -1 });
    expect(cold.status).toBe(400);
    expect((await cold.json()).error).toMatch(/temperature/);
  });

  it.each([
    [
      'a wrong shape',
      { ...digits(0, 1), inputs: [{ ...digits(0, 1).inputs[0], shape: [1, 784] }] },
      /shape/,
    ],
    ['a wrong datatype', { inputs: [{ ...digits(0, 1).inputs[0], datatype: 'FP64' }] }, /datatype/],
    [
      'a wrong tensor name',
      { inputs: [{ ...digits(0, 1).inputs[0], name: 'x' }] },
      /unexpected input "x"/,
    ],
    ['a missing input', { inputs: [] }, /missing input "input"/],
    ['an unknown output', digits(0, 1, { outputs: [{ name: 'nope' }] }), /unexpected output/],
    // JSON has no NaN; a number past float64's range parses as Infinity.
    [
      'an infinite value',
      `{"inputs":[{"name":"input","shape":[1,1],"datatype":"FP32","data":[1e999]}]}`,
      /finite|shape/,
    ],
    ['NaN', '{"inputs":[{"name":"input","shape":[1,1],"datatype":"FP32","data":[NaN]}]}', /JSON/],
    ['malformed JSON', '{"inputs": [', /JSON/],
  ])('answers 400 {"error"} to %s', async (_what, body, message) => {
    const response = await post(`${base}/v2/models/stacked-encoder/infer`, body);
    expect(response.status).toBe(400);
    const { error } = await response.json();
    expect(error).toMatch(message);
  });

  it('answers 400 to a value that is not finite in a well-shaped tensor', async () => {
    const text = JSON.stringify(digits(0, 1)).replace(/"data":\[0,/, '"data":[1e999,');
    const response = await post(`${base}/v2/models/stacked-encoder/infer`, text);
    expect(response.status).toBe(400);
    expect((await response.json()).error).toMatch(/finite/);
  });

  it('answers 400 to pixels in [0, 1], which the model would divide by 255 a second time', async () => {
    const request = digits(0, 2);
    const scaled = {
      inputs: [{ ...request.inputs[0], data: request.inputs[0]!.data.map((v) => v / 255) }],
    };
    const response = await post(`${base}/v2/models/stacked-encoder/infer`, scaled);
    expect(response.status).toBe(400);
    expect((await response.json()).error).toMatch(
      /lie in \[0, 1\], but the model \(normalisation "unit"\) takes raw values in \[0, 255\]/,
    );
  });

  it('answers 404 {"error"} to an unknown model or version', async () => {
    for (const url of [
      '/v2/models/nope',
      '/v2/models/stacked-encoder/versions/2',
      '/v2/models/nope/ready',
    ]) {
      const response = await fetch(`${base}${url}`);
      expect(response.status, url).toBe(404);
      expect((await response.json()).error).toMatch(/nope|version/);
    }
    expect((await post(`${base}/v2/models/nope/infer`, digits(0, 1))).status).toBe(404);
  });

  it("describes each model's aekit capabilities and folded normalisation at /aekit", async () => {
    const decoder = await (await fetch(`${base}/v2/models/vae-decoder/aekit`)).json();
    expect(decoder).toMatchObject({
      role: 'decoder',
      autoencoder: 'vae',
      variant: 'vae',
      normalization: { kind: 'none' },
      foldedNormalization: { kind: 'unit' },
      repository: { model: 'vae-decoder', version: 1 },
    });
    expect(decoder.capabilities).toContain('sample');
    const hashing = await (
      await fetch(`${base}/v2/models/hashing-encoder/versions/1/aekit`)
    ).json();
    expect(hashing.capabilities).toContain('hash');
    expect((await fetch(`${base}/v2/models/nope/aekit`)).status).toBe(404);
  });

  it('serves run directories too, normalising as the in-process model does', async () => {
    const { url, child } = await startServe(runs.vae, '--name', 'digits');
    const ae = await loadAutoencoder(join(runs.vae, 'onnx'), { device: 'cpu' });
    try {
      const answer = await (
        await post(`${url}/v2/models/digits-encoder/infer`, digits(0, N))
      ).json();
      const ref = await ae.encode({ data: normalised(ae, 0, N), shape: [N, ...SAMPLE] });
      // The same graph on inputs normalised the same way in float32: equal within 1e-6.
      expect(maxDiff(answer.outputs[0].data, ref.data)).toBeLessThanOrEqual(1e-6);
      const aekitJson = await (await fetch(`${url}/v2/models/digits-decoder/aekit`)).json();
      expect(aekitJson).toMatchObject({
        normalization: { kind: 'none' },
        foldedNormalization: { kind: 'unit' },
      });
    } finally {
      await ae.dispose();
      child.kill('SIGTERM');
    }
  });

  it('says which model folders of a repository it does not serve', async () => {
    const mixed = join(dir, 'mixed');
    cpSync(repository, mixed, { recursive: true });
    // Another tool's model: a Triton configuration and a version without aekit.json.
    mkdirSync(join(mixed, 'other', '1'), { recursive: true });
    writeFileSync(join(mixed, 'other', 'config.pbtxt'), 'platform: "onnxruntime_onnx"\n');
    writeFileSync(join(mixed, 'other', '1', 'model.onnx'), '');
    const { child, stderr } = await startServe(mixed);
    child.kill('SIGTERM');
    expect(stderr()).toMatch(/not served: other: no version of it has an aekit\.json/);
  });

  it('searches a loaded hash index for the nearest items of raw samples', async () => {
    const index = join(dir, 'test.aehash');
    const hashed = await aekit(
      ...['hash', runs.hashing, '--data', 'mnist', '--split', 'test', '--limit', '200'],
      ...['--out', index, '--device', 'cpu'],
    );
    expect(hashed.code, hashed.stderr).toBe(0);
    const { url, child } = await startServe(repository, '--index', `hashing=${index}`);
    try {
      const answer = await (
        await post(
          `${url}/v2/models/hashing-encoder/nearest`,
          digits(0, 3, { id: 'n', parameters: { k: 5 } }),
        )
      ).json();
      const ae = loaded.hashing!;
      const ref = await ae.nearest(
        { data: normalised(ae, 0, 3), shape: [3, ...SAMPLE] },
        await loadHashIndex(index),
        { k: 5 },
      );
      expect(answer).toMatchObject({ id: 'n', model_name: 'hashing-encoder', model_version: '1' });
      expect(answer.neighbours).toHaveLength(3);
      answer.neighbours.forEach(
        (got: { indices: number[]; distances: number[]; labels: number[] }, i: number) => {
          expect(got.indices).toEqual(Array.from(ref[i]!.indices));
          expect(got.distances).toEqual(Array.from(ref[i]!.distances));
          expect(got.labels).toEqual(Array.from(ref[i]!.labels!));
        },
      );
      // The first three test digits are in the index: each is its own nearest, at distance 0.
      expect(answer.neighbours.map((r: { distances: number[] }) => r.distances[0])).toEqual([
        0, 0, 0,
      ]);
      const bad = await post(
        `${url}/v2/models/hashing-encoder/nearest`,
        digits(0, 1, { parameters: { k: 1, radius: 2 } }),
      );
      expect(bad.status).toBe(400);
      expect((await bad.json()).error).toMatch(/exactly one of radius/);
      const notHashing = await post(
        `${url}/v2/models/stacked-encoder/nearest`,
        digits(0, 1, { parameters: { k: 1 } }),
      );
      expect(notHashing.status).toBe(400);
    } finally {
      child.kill('SIGTERM');
    }
    const noIndex = await post(
      `${base}/v2/models/hashing-encoder/nearest`,
      digits(0, 1, { parameters: { k: 1 } }),
    );
    expect(noIndex.status).toBe(400);
    expect((await noIndex.json()).error).toMatch(/--index hashing=FILE/);
  });

  it('batches concurrent requests into one run and gives each its own rows', async () => {
    const ae = loaded.stacked!;
    const answers = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        post(`${base}/v2/models/stacked-encoder/infer`, digits(i, 1, { id: String(i) })).then((r) =>
          r.json(),
        ),
      ),
    );
    const ref = await ae.encode({ data: normalised(ae, 0, N), shape: [N, ...SAMPLE] });
    answers.forEach((a, i) => {
      expect(a.id).toBe(String(i));
      expect(
        maxDiff(a.outputs[0].data, ref.data.subarray(i * 10, (i + 1) * 10)),
      ).toBeLessThanOrEqual(1e-6);
    });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const value = (name: string) =>
      Number(new RegExp(`^${name}\\{model="stacked-encoder"\\} (\\S+)$`, 'm').exec(metrics)?.[1]);
    // N single-sample requests within the 50 ms queue delay: fewer runs than requests.
    expect(value('aekit_batch_requests_sum')).toBe(N);
    expect(value('aekit_batch_requests_count')).toBeLessThan(N);
    expect(metrics).toMatch(
      /aekit_requests_total\{model="stacked-encoder",route="\/v2\/models\/:name\/infer",status="200"\}/,
    );
    expect(metrics).toMatch(/aekit_queue_depth\{model="stacked-encoder"\} 0/);
  });

  it('answers 503 with Retry-After when the queue is full', async () => {
    const { url } = await startServe(
      runs.stacked,
      '--max-queue-size',
      '1',
      '--max-queue-delay',
      '300',
    );
    const responses = await Promise.all(
      [0, 1, 2].map((i) => post(`${url}/v2/models/stacked-encoder/infer`, digits(i, 1))),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 503, 503]);
    const refused = responses.find((r) => r.status === 503)!;
    expect(refused.headers.get('retry-after')).toBe('1');
    expect((await refused.json()).error).toMatch(/queue is full/);
  });

  it('SIGTERM answers the request in flight, then exits 0', async () => {
    const { url, child } = await startServe(runs.stacked, '--max-queue-delay', '500');
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const pending = post(`${url}/v2/models/stacked-encoder/infer`, digits(0, 1));
    await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGTERM');
    const response = await pending;
    expect(response.status).toBe(200);
    expect((await response.json()).outputs[0].shape).toEqual([1, 10]);
    expect(await exited).toBe(0);
    expect(server.exitCode).toBe(null);
  });
});
