import { describe, expect, it } from 'vitest';
import { loadWithPlatform } from './autoencoder.js';
import { DeviceFailure } from './devices.js';
import { createQueue } from './queue.js';
import type { ModelFiles, OrtModule, RuntimePlatform } from './session.js';
import { expectRejection } from './test-utils/errors.js';

// A fake ONNX Runtime: a model's bytes are JSON describing its one input and output; running
// it doubles the input (encoder 4 -> 2 averages pairs instead), so the plumbing of devices,
// names, shapes, queueing and errors is tested without a real runtime.
interface FakeGraph {
  inputs: { name: string; type?: string; shape: (number | string)[] }[];
  outputs: { name: string; type?: string; shape: (number | string)[] }[];
}

const graph = (g: FakeGraph): Uint8Array => new TextEncoder().encode(JSON.stringify(g));
const ENCODER = graph({
  inputs: [{ name: 'pixels', shape: ['n', 4] }],
  outputs: [{ name: 'code', shape: ['n', 2] }],
});
const DECODER = graph({
  inputs: [{ name: 'code', shape: ['n', 2] }],
  outputs: [{ name: 'pixels', shape: ['n', 4] }],
});

class FakeTensor {
  constructor(
    readonly type: string,
    readonly data: Float32Array,
    readonly dims: readonly number[],
  ) {}
  dispose(): void {}
}

interface FakeOrt {
  ort: OrtModule;
  creates: string[];
  maxConcurrentRuns: number;
}

function fakeOrt(failWith?: (ep: string) => Error | undefined): FakeOrt {
  const state = { creates: [] as string[], maxConcurrentRuns: 0 };
  let running = 0;
  const ort = {
    env: { wasm: {} },
    Tensor: FakeTensor,
    InferenceSession: {
      create: async (bytes: Uint8Array, options: { executionProviders: string[] }) => {
        const ep = options.executionProviders[0]!;
        state.creates.push(ep);
        const error = failWith?.(ep);
        if (error) throw error;
        let g: FakeGraph;
        try {
          g = JSON.parse(new TextDecoder().decode(bytes)) as FakeGraph;
        } catch {
          throw new Error('Failed to load model because protobuf parsing failed.');
        }
        const meta = (v: FakeGraph['inputs'][number]) => ({
          name: v.name,
          isTensor: true,
          type: v.type ?? 'float32',
          shape: v.shape,
        });
        return {
          inputNames: g.inputs.map((v) => v.name),
          outputNames: g.outputs.map((v) => v.name),
          inputMetadata: g.inputs.map(meta),
          outputMetadata: g.outputs.map(meta),
          release: async () => {},
          run: async (feeds: Record<string, FakeTensor>, fetches: string[]) => {
            running++;
            state.maxConcurrentRuns = Math.max(state.maxConcurrentRuns, running);
            await new Promise((r) => setTimeout(r, 2));
            running--;
            const x = Object.values(feeds)[0]!;
            const n = x.dims[0]!;
            const outSize = g.outputs[0]!.shape[1] as number;
            const inSize = x.data.length / n;
            const out = new Float32Array(n * outSize);
            for (let i = 0; i < out.length; i++) {
              const row = Math.floor(i / outSize);
              const col = i % outSize;
              out[i] =
                outSize < inSize
                  ? (x.data[row * inSize + 2 * col]! + x.data[row * inSize + 2 * col + 1]!) / 2
                  : 2 * x.data[row * inSize + Math.floor(col / 2)]!;
            }
            return { [fetches[0]!]: new FakeTensor('float32', out, [n, outSize]) };
          },
        };
      },
    },
  } as unknown as OrtModule;
  return {
    ort,
    get creates() {
      return state.creates;
    },
    get maxConcurrentRuns() {
      return state.maxConcurrentRuns;
    },
  };
}

function platform(
  fake: FakeOrt,
  options: { gpuMissing?: boolean; queue?: boolean } = {},
): RuntimePlatform {
  return {
    devices: Object.freeze({ cpu: ['cpu'], webgpu: ['webgpu'] }),
    autoOrder: ['webgpu', 'cpu'],
    ortFor: async (device) => {
      if (device === 'webgpu' && options.gpuMissing) throw new DeviceFailure(device, 'no adapter.');
      return fake.ort;
    },
    ...(options.queue ? { enqueue: createQueue() } : {}),
  };
}

const files = (extra: Partial<ModelFiles> = {}): ModelFiles => ({
  source: 'test',
  encoder: ENCODER,
  decoder: DECODER,
  ...extra,
});

describe('loadWithPlatform (fake ONNX Runtime)', () => {
  it('reads shapes and names from the sessions and runs the graphs', async () => {
    const fake = fakeOrt();
    const ae = await loadWithPlatform(platform(fake), files(), { device: 'cpu' });
    expect(ae.info).toMatchObject({
      inputShape: [4],
      codingShape: [2],
      inputName: 'pixels',
      codingName: 'code',
      device: 'cpu',
    });
    const z = await ae.encode([[1, 3, 5, 7]]);
    expect(Array.from(z.data)).toEqual([2, 6]);
    const r = await ae.reconstruct([[1, 3, 5, 7]]);
    expect(Array.from(r.data)).toEqual([4, 4, 12, 12]);
    expect(r.shape).toEqual([1, 4]);
  });

  it("'auto' falls back past a device that cannot start, and remembers it", async () => {
    const fake = fakeOrt((ep) =>
      ep === 'webgpu'
        ? new Error('Failed to get a WebGPU adapter: No supported adapters')
        : undefined,
    );
    const p = platform(fake);
    const ae = await loadWithPlatform(p, files());
    expect(ae.info.device).toBe('cpu');
    expect(ae.info.skippedDevices).toEqual([
      'webgpu: Failed to get a WebGPU adapter: No supported adapters',
    ]);
    expect(fake.creates).toEqual(['webgpu', 'cpu', 'cpu']);
    await loadWithPlatform(p, files());
    expect(fake.creates).toEqual(['webgpu', 'cpu', 'cpu', 'cpu', 'cpu']); // webgpu not tried again
  });

  it('a named device that cannot start is DeviceUnavailable, listing the devices that work', async () => {
    const p = platform(fakeOrt(), { gpuMissing: true });
    const err = await expectRejection(
      loadWithPlatform(p, files(), { device: 'webgpu' }),
      'DeviceUnavailable',
    );
    expect(err.message).toBe(
      'Device "webgpu" cannot run here: no adapter. Devices that work here: "cpu".',
    );
  });

  it('when no device starts, auto says why for each', async () => {
    const fake = fakeOrt(
      () => new Error('no available backend found. ERR: [wasm] failed to fetch'),
    );
    const err = await expectRejection(
      loadWithPlatform(platform(fake), files()),
      'DeviceUnavailable',
    );
    expect(err.message).toContain('webgpu: no available backend found');
    expect(err.message).toContain('cpu: no available backend found');
    expect(err.message).toContain('Devices that work here: (none)');
  });

  it('a broken model is ModelLoadFailed naming the file, without trying other devices', async () => {
    const fake = fakeOrt();
    const err = await expectRejection(
      loadWithPlatform(platform(fake), files({ decoder: new Uint8Array([1, 2]) }), {
        device: 'cpu',
      }),
      'ModelLoadFailed',
    );
    expect(err.message).toBe(
      'Cannot load "test": decoder.onnx: Failed to load model because protobuf parsing failed.',
    );
    expect(fake.creates).toEqual(['cpu', 'cpu']);
  });

  it('checks the graphs: one float input, a fixed sample shape, pairs that fit', async () => {
    const fake = fakeOrt();
    const load = (encoder: FakeGraph) =>
      expectRejection(
        loadWithPlatform(platform(fake), files({ encoder: graph(encoder) }), { device: 'cpu' }),
        'ModelLoadFailed',
      );
    const out = [{ name: 'code', shape: ['n', 2] }];
    expect(
      (await load({ inputs: [{ name: 'ids', type: 'int64', shape: ['n', 4] }], outputs: out }))
        .message,
    ).toContain('input "ids" is int64');
    expect(
      (await load({ inputs: [{ name: 'x', shape: ['n', 'h'] }], outputs: out })).message,
    ).toContain('without aekit.json the runtime needs [batch, ...fixed sizes]');
    expect(
      (
        await load({
          inputs: [
            { name: 'a', shape: ['n', 4] },
            { name: 'b', shape: ['n', 4] },
          ],
          outputs: out,
        })
      ).message,
    ).toContain('has 2 inputs ("a", "b")');
    expect(
      (
        await load({
          inputs: [{ name: 'x', shape: ['n', 4] }],
          outputs: [{ name: 'code', shape: ['n', 3] }],
        })
      ).message,
    ).toContain('the files do not belong together');
    // an aekit-style encoder with extra outputs: 'codings' is the one used
    const ae = await loadWithPlatform(
      platform(fake),
      files({
        encoder: graph({
          inputs: [{ name: 'input', shape: ['n', 4] }],
          outputs: [
            { name: 'mean', shape: ['n', 2] },
            { name: 'codings', shape: ['n', 2] },
          ],
        }),
      }),
      { device: 'cpu' },
    );
    expect(ae.info.codingName).toBe('codings');
  });

  it('sends every run through the platform queue', async () => {
    const fake = fakeOrt();
    const ae = await loadWithPlatform(platform(fake, { queue: true }), files(), { device: 'cpu' });
    await Promise.all(Array.from({ length: 6 }, () => ae.reconstruct(new Float32Array(8))));
    expect(fake.maxConcurrentRuns).toBe(1);
    const free = fakeOrt();
    const unqueued = await loadWithPlatform(platform(free), files(), { device: 'cpu' });
    await Promise.all(Array.from({ length: 6 }, () => unqueued.encode(new Float32Array(4))));
    expect(free.maxConcurrentRuns).toBeGreaterThan(1);
  });

  it('uses the lazily loaded autoencoder graph for reconstruct, once', async () => {
    const fake = fakeOrt();
    let loads = 0;
    const whole = graph({
      inputs: [{ name: 'pixels', shape: ['n', 4] }],
      outputs: [{ name: 'pixels_out', shape: ['n', 4] }],
    });
    const ae = await loadWithPlatform(
      platform(fake),
      files({
        autoencoder: async () => {
          loads++;
          return whole;
        },
      }),
      { device: 'cpu' },
    );
    expect(fake.creates).toHaveLength(2);
    // The fake "autoencoder" doubles each value (4 -> 4), unlike encoder-then-decoder.
    const r = await ae.reconstruct([[1, 2, 3, 4]]);
    expect(Array.from(r.data)).toEqual([2, 2, 4, 4]);
    await ae.reconstruct([[1, 2, 3, 4]]);
    expect(loads).toBe(1);
    expect(fake.creates).toHaveLength(3);
  });
});
