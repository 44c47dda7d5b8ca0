import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelSource, ServedModel } from './models.js';
import { FP32 } from './protocol.js';
import { type AekitServer, createServer } from './server.js';

/** A model that doubles its `x` `[-1, 2]` into `y` and negates it into `z`: no ONNX Runtime. */
const doubler: ServedModel = {
  name: 'double',
  versions: ['1'],
  platform: 'onnxruntime_onnx',
  inputs: [{ name: 'x', datatype: FP32, shape: [-1, 2] }],
  outputs: [
    { name: 'y', datatype: FP32, shape: [-1, 2] },
    { name: 'z', datatype: FP32, shape: [-1, 2] },
  ],
  valuesPerSample: 2,
  async run(inputs) {
    const x = inputs.x!;
    return {
      y: { data: x.data.map((v) => 2 * v), shape: x.shape },
      z: { data: x.data.map((v) => -v), shape: x.shape },
    };
  },
};
const source: ModelSource = {
  description: 'a test model',
  load: async () => ({ models: [doubler], close: async () => {} }),
};

let server: AekitServer;
beforeAll(async () => {
  server = await createServer({ models: [source], maxBatchSize: 4, logLevel: 'silent' });
});
afterAll(() => server.close());

const URL = '/v2/models/double/infer';

/** A binary-extension body: the JSON header, then `floats` as little-endian float32 bytes. */
function binaryRequest(header: unknown, floats: number[]) {
  const json = Buffer.from(JSON.stringify(header));
  const bytes = Buffer.from(new Float32Array(floats).buffer);
  return {
    payload: Buffer.concat([json, bytes]),
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(json.length),
    },
  };
}

/** Splits a binary-extension response into its JSON header and its float32 values. */
function readBinary(body: Buffer, headerLength: string) {
  const n = Number(headerLength);
  const floats = new Float32Array(new Uint8Array(body.subarray(n)).buffer);
  return { header: JSON.parse(body.subarray(0, n).toString('utf8')), floats: Array.from(floats) };
}

describe('createServer: the binary tensor data extension', () => {
  it('lists the extension in the server metadata', async () => {
    const meta = await server.app.inject({ method: 'GET', url: '/v2' });
    expect(meta.json().extensions).toEqual(['binary_tensor_data']);
  });

  it('takes binary inputs and answers binary outputs, the JSON ones in between as JSON', async () => {
    const res = await server.app.inject({
      method: 'POST',
      url: URL,
      ...binaryRequest(
        {
          id: 'b1',
          inputs: [
            { name: 'x', shape: [2, 2], datatype: FP32, parameters: { binary_data_size: 16 } },
          ],
          outputs: [{ name: 'y', parameters: { binary_data: true } }, { name: 'z' }],
        },
        [1, 2, 3, 4.5],
      ),
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    const { header, floats } = readBinary(
      res.rawPayload,
      res.headers['inference-header-content-length'] as string,
    );
    expect(header).toEqual({
      model_name: 'double',
      model_version: '1',
      id: 'b1',
      outputs: [
        { name: 'y', shape: [2, 2], datatype: FP32, parameters: { binary_data_size: 16 } },
        { name: 'z', shape: [2, 2], datatype: FP32, data: [-1, -2, -3, -4.5] },
      ],
    });
    expect(floats).toEqual([2, 4, 6, 9]);
  });

  it('answers every output as bytes with binary_data_output, and JSON inputs still work', async () => {
    const json = await server.app.inject({
      method: 'POST',
      url: URL,
      payload: {
        parameters: { binary_data_output: true },
        inputs: [{ name: 'x', shape: [1, 2], datatype: FP32, data: [[1, -1]] }],
      },
    });
    const { header, floats } = readBinary(
      json.rawPayload,
      json.headers['inference-header-content-length'] as string,
    );
    expect(header.outputs.map((o: { name: string }) => o.name)).toEqual(['y', 'z']);
    expect(floats).toEqual([2, -2, -1, 1]);
  });

  it('answers plain JSON to a binary request that asks for no binary output', async () => {
    const res = await server.app.inject({
      method: 'POST',
      url: URL,
      ...binaryRequest(
        {
          inputs: [
            { name: 'x', shape: [1, 2], datatype: FP32, parameters: { binary_data_size: 8 } },
          ],
        },
        [0.25, 8],
      ),
    });
    expect(res.headers['inference-header-content-length']).toBeUndefined();
    expect(res.json().outputs[0]).toEqual({
      name: 'y',
      shape: [1, 2],
      datatype: FP32,
      data: [0.5, 16],
    });
  });

  it.each([
    [
      'a header length past the body',
      { 'inference-header-content-length': '999' },
      Buffer.from('{}'),
      /Inference-Header-Content-Length/,
    ],
    [
      'a header that is not JSON',
      { 'inference-header-content-length': '3' },
      Buffer.from('{x}'),
      /not JSON/,
    ],
  ])('refuses %s with 400', async (_what, headers, payload, message) => {
    const res = await server.app.inject({ method: 'POST', url: URL, headers, payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(message);
  });

  it.each([
    ['a byte size that does not fit the shape', 12, [1, 2, 3], /binary_data_size 12/],
    ['bytes the inputs do not account for', 8, [1, 2, 3], /holds 12 bytes/],
  ])('refuses %s with 400', async (_what, size, floats, message) => {
    const res = await server.app.inject({
      method: 'POST',
      url: URL,
      ...binaryRequest(
        {
          inputs: [
            { name: 'x', shape: [1, 2], datatype: FP32, parameters: { binary_data_size: size } },
          ],
        },
        floats,
      ),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(message);
  });
});

describe('createServer: metrics', () => {
  it('counts requests by model, route and status, and reports the queue depth', async () => {
    await server.app.inject({
      method: 'POST',
      url: URL,
      payload: { inputs: [{ name: 'x', shape: [1, 2], datatype: FP32, data: [1, 2] }] },
    });
    const text = (await server.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(
      /aekit_requests_total\{model="double",route="\/v2\/models\/:name\/infer",status="200"\} \d+/,
    );
    expect(text).toContain('aekit_queue_depth{model="double"} 0');
    expect(text).toMatch(/aekit_batch_size_count\{model="double"\} \d+/);
  });
});
