import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { SUPPORTED_LAYERS } from './convert/registry.js';
import { layerChain, layersToOnnx } from './layers-to-onnx.js';
import { decodeOnnxModel, ONNX_IR_VERSION } from './onnx-model.js';
import { runOnnx, runOnnxOutputs } from './run-onnx.js';
import {
  compareWithTfjs,
  expectCode,
  maxAbsDiff,
  runTfjs,
  seedWeights,
  TOLERANCE,
  uniform,
  useCpuBackend,
} from './test-utils/index.js';

beforeAll(useCpuBackend);

function dims(v: { type?: { tensorType?: { shape?: { dim?: unknown[] } | null } | null } | null }) {
  return (v.type!.tensorType!.shape!.dim as { dimValue?: unknown; dimParam?: string }[]).map((d) =>
    d.dimParam ? d.dimParam : Number(d.dimValue),
  );
}

function denseNet(inputShape: number[], units: number, seed: number): tfl.Sequential {
  return seedWeights(
    tfl.sequential({
      layers: [tfl.layers.dense({ units, inputShape, activation: 'relu' })],
    }),
    seed,
  ) as tfl.Sequential;
}

describe('model', () => {
  // Built in beforeAll: tensors made while tests are collected would miss the cpu backend.
  let encoder: tfl.Sequential;
  let decoder: tfl.Sequential;
  beforeAll(() => {
    encoder = denseNet([6], 3, 1);
    decoder = denseNet([3], 6, 2);
  });

  it('carries names, IR version, opset, producer, doc string and metadata', () => {
    const bytes = layersToOnnx({
      name: 'autoencoder',
      networks: [encoder, decoder],
      inputName: 'input',
      outputName: 'reconstruction',
      opset: 15,
      docString: 'a test graph',
      metadata: { 'aekit.variant': 'stacked', 'aekit.input_shape': '[6]' },
    });
    const model = decodeOnnxModel(bytes);
    expect(Number(model.irVersion)).toBe(ONNX_IR_VERSION);
    expect(model.producerName).toBe('aekit');
    expect(model.docString).toBe('a test graph');
    expect(model.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 15]]);
    expect(model.metadataProps.map((p) => [p.key, p.value])).toEqual([
      ['aekit.variant', 'stacked'],
      ['aekit.input_shape', '[6]'],
    ]);
    const graph = model.graph!;
    expect(graph.name).toBe('autoencoder');
    expect(graph.input.map((v) => v.name)).toEqual(['input']);
    expect(graph.output.map((v) => v.name)).toEqual(['reconstruction']);
    expect(dims(graph.input[0]!)).toEqual(['N', 6]);
    expect(dims(graph.output[0]!)).toEqual(['N', 6]);
    // The last node writes the output directly (no trailing Identity).
    expect(graph.node.at(-1)!.output).toEqual(['reconstruction']);
    expect(graph.node.map((n) => n.opType)).toEqual(['Gemm', 'Relu', 'Gemm', 'Relu']);
  });

  it.each([13, 14, 15, 16, 17])('runs at opset %i', async (opset) => {
    expect(
      await compareWithTfjs(`opset ${opset}`, [encoder, decoder], { opset }),
    ).toBeLessThanOrEqual(TOLERANCE);
  });

  it.each([12, 18, 13.5])('refuses opset %s', (opset) => {
    expectCode(
      () =>
        layersToOnnx({ name: 'g', networks: [encoder], inputName: 'a', outputName: 'b', opset }),
      'InvalidArgument',
    );
  });

  it('refuses clashing names, no networks, and networks whose shapes do not follow', () => {
    const spec = { name: 'g', networks: [encoder], inputName: 'x', outputName: 'x' };
    expectCode(() => layersToOnnx(spec), 'InvalidArgument');
    expectCode(() => layersToOnnx({ ...spec, outputName: 'y', networks: [] }), 'InvalidArgument');
    const err = expectCode(
      () => layersToOnnx({ ...spec, outputName: 'y', networks: [encoder, encoder] }),
      'InvalidArgument',
    );
    expect(err.message).toContain('takes inputs of shape [N,6]');
  });

  it('a network that is the identity at inference still has its output', async () => {
    const model = tfl.sequential({ layers: [tfl.layers.dropout({ rate: 0.3, inputShape: [4] })] });
    const bytes = layersToOnnx({ name: 'g', networks: [model], inputName: 'x', outputName: 'y' });
    expect(decodeOnnxModel(bytes).graph!.node.map((n) => n.opType)).toEqual(['Identity']);
    const x = uniform(8, 1);
    const out = await runOnnx(bytes, x, [2, 4]);
    expect(out.dims).toEqual([2, 4]);
    expect(Array.from(out.data)).toEqual(Array.from(x));
  });
});

describe('layouts', () => {
  it('transposes only where a convolutional block starts and ends', () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ filters: 2, kernelSize: 3, inputShape: [8, 8, 1], activation: 'relu' }),
        tfl.layers.batchNormalization(),
        tfl.layers.maxPooling2d({}),
        tfl.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'relu' }),
        tfl.layers.upSampling2d({}),
        tfl.layers.conv2dTranspose({ filters: 1, kernelSize: 3, activation: 'sigmoid' }),
      ],
    });
    const bytes = layersToOnnx({ name: 'g', networks: [model], inputName: 'x', outputName: 'y' });
    const ops = decodeOnnxModel(bytes).graph!.node.map((n) => n.opType);
    expect(ops.filter((op) => op === 'Transpose')).toHaveLength(2);
    expect(ops[0]).toBe('Transpose');
    expect(ops.at(-1)).toBe('Transpose');
  });
});

describe('model structure', () => {
  it('follows a functional single chain', async () => {
    const input = tfl.input({ shape: [5] });
    const h = tfl.layers.dense({ units: 4, activation: 'elu' }).apply(input) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 2 }).apply(h) as tfl.SymbolicTensor;
    const model = seedWeights(tfl.model({ inputs: input, outputs: out }), 4);
    expect(layerChain(model).map((l) => l.getClassName())).toEqual(['Dense', 'Dense']);
    expect(await compareWithTfjs('functional chain', [model])).toBeLessThanOrEqual(TOLERANCE);
  });

  it('inlines nested models', async () => {
    const inner = tfl.sequential({
      layers: [tfl.layers.dense({ units: 4, inputShape: [5], activation: 'tanh' })],
    });
    const outer = tfl.sequential({ layers: [inner, tfl.layers.dense({ units: 2 })] });
    seedWeights(outer, 5);
    expect(await compareWithTfjs('nested Sequential', [outer])).toBeLessThanOrEqual(TOLERANCE);

    const input = tfl.input({ shape: [5] });
    const out = tfl.layers.dense({ units: 3 }).apply(inner.apply(input)) as tfl.SymbolicTensor;
    const functional = seedWeights(tfl.model({ inputs: input, outputs: out }), 6);
    expect(
      await compareWithTfjs('Sequential in a functional model', [functional]),
    ).toBeLessThanOrEqual(TOLERANCE);
  });

  it('refuses layers with several inputs with a clear UnsupportedLayer error', () => {
    const input = tfl.input({ shape: [4] });
    const a = tfl.layers.dense({ units: 3 }).apply(input) as tfl.SymbolicTensor;
    const b = tfl.layers.dense({ units: 3 }).apply(input) as tfl.SymbolicTensor;
    const sum = tfl.layers.add({ name: 'merge' }).apply([a, b]) as tfl.SymbolicTensor;
    const merged = tfl.model({ inputs: input, outputs: sum });
    const spec = { name: 'g', inputName: 'x', outputName: 'y' };
    const err = expectCode(() => layersToOnnx({ ...spec, networks: [merged] }), 'UnsupportedLayer');
    expect(err.message).toContain('Layer "merge" is a Add with 2 inputs');
    expect(err.message).toContain('layers that take one input tensor');

    // Also behind a head: the two-input layer is found on the way back from any output.
    const head = tfl.layers.dense({ units: 2, name: 'head' }).apply(a) as tfl.SymbolicTensor;
    const joined = tfl.layers
      .concatenate({ name: 'join' })
      .apply([head, sum]) as tfl.SymbolicTensor;
    const twoHeads = tfl.model({ inputs: input, outputs: [head, joined] });
    const err2 = expectCode(
      () => layersToOnnx({ ...spec, networks: [twoHeads], extraOutputNames: ['z'] }),
      'UnsupportedLayer',
    );
    expect(err2.message).toContain('Layer "join" is a Concatenate with 2 inputs');
  });

  it('layerChain still refuses networks that are not a single chain', () => {
    const input = tfl.input({ shape: [4] });
    const a = tfl.layers.dense({ units: 3 }).apply(input) as tfl.SymbolicTensor;
    const b = tfl.layers.dense({ units: 3 }).apply(input) as tfl.SymbolicTensor;
    const twoOutputs = tfl.model({ name: 'two_heads', inputs: input, outputs: [a, b] });
    const err = expectCode(() => layerChain(twoOutputs), 'UnsupportedLayer');
    expect(err.message).toContain('"two_heads"');
    expect(err.message).toContain('1 inputs and 2 outputs');
  });
});

/**
 * A variational encoder's shape: 28x28x1 images, a dense trunk (Flatten, Dense(500, elu)
 * twice) or a convolutional one (two strided Conv2D, Flatten, Dense(64, elu)), then two
 * heads on the same tensor, `mean` and `log_variance`, each Dense(`z`).
 */
function twoHeadEncoder(trunk: 'dense' | 'conv', z: number, seed: number): tfl.LayersModel {
  const input = tfl.input({ shape: [28, 28, 1] });
  let h: tfl.SymbolicTensor = input;
  const apply = (layer: { apply(t: tfl.SymbolicTensor): unknown }) => {
    h = layer.apply(h) as tfl.SymbolicTensor;
  };
  if (trunk === 'conv') {
    for (const filters of [8, 16]) {
      apply(
        tfl.layers.conv2d({
          filters,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          activation: 'elu',
        }),
      );
    }
    apply(tfl.layers.flatten());
    apply(tfl.layers.dense({ units: 64, activation: 'elu' }));
  } else {
    apply(tfl.layers.flatten());
    apply(tfl.layers.dense({ units: 500, activation: 'elu' }));
    apply(tfl.layers.dense({ units: 500, activation: 'elu' }));
  }
  const mean = tfl.layers.dense({ units: z, name: 'mean' }).apply(h) as tfl.SymbolicTensor;
  const logVar = tfl.layers
    .dense({ units: z, name: 'log_variance' })
    .apply(h) as tfl.SymbolicTensor;
  return seedWeights(
    tfl.model({ name: `${trunk}_encoder`, inputs: input, outputs: [mean, logVar] }),
    seed,
  );
}

/** Largest |ONNX Runtime - tfjs| of every graph output, by name (both run on `x`). */
async function diffsByOutput(
  bytes: Uint8Array,
  networks: readonly tfl.LayersModel[],
  x: Float32Array,
  shape: readonly number[],
): Promise<Record<string, number>> {
  const expected = runTfjs(networks, x, shape);
  const actual = await runOnnxOutputs(bytes, x, shape);
  expect(actual).toHaveLength(expected.length);
  return Object.fromEntries(
    actual.map((out, i) => {
      expect(out.dims, out.name).toEqual(expected[i]!.dims);
      return [out.name, maxAbsDiff(expected[i]!.data, out.data)];
    }),
  );
}

describe('several outputs', () => {
  const spec = { name: 'encoder', inputName: 'input', outputName: 'mean' };
  const extra = { extraOutputNames: ['log_variance'] };
  const image = [28, 28, 1];

  it.each(['dense', 'conv'] as const)(
    'converts a two-head encoder with a %s trunk: both outputs named, shaped and equal to tfjs',
    async (trunk) => {
      const encoder = twoHeadEncoder(trunk, 4, 11);
      const bytes = layersToOnnx({ ...spec, ...extra, networks: [encoder] });
      const graph = decodeOnnxModel(bytes).graph!;
      expect(graph.output.map((v) => v.name)).toEqual(['mean', 'log_variance']);
      expect(graph.output.map(dims)).toEqual([
        ['N', 4],
        ['N', 4],
      ]);
      // The trunk is converted once; each head's last node writes its output.
      const ops = graph.node.map((n) => n.opType);
      expect(ops.filter((op) => op === 'Gemm')).toHaveLength(trunk === 'dense' ? 4 : 3);
      expect(ops.filter((op) => op === 'Conv')).toHaveLength(trunk === 'conv' ? 2 : 0);
      expect(ops).not.toContain('Identity');

      for (const batch of [1, 5]) {
        const shape = [batch, ...image];
        const x = uniform(batch * 784, batch, 0, 1);
        const diffs = await diffsByOutput(bytes, [encoder], x, shape);
        expect(Object.keys(diffs)).toEqual(['mean', 'log_variance']);
        expect(diffs.mean).toBeLessThanOrEqual(TOLERANCE);
        expect(diffs.log_variance).toBeLessThanOrEqual(TOLERANCE);
        // The heads differ, so outputs swapped or duplicated would not pass.
        const [mean, logVar] = runTfjs([encoder], x, shape);
        expect(maxAbsDiff(mean!.data, logVar!.data)).toBeGreaterThan(0.01);
      }
      expect(
        await compareWithTfjs(`${trunk} two-head encoder`, [encoder], {
          ...spec,
          ...extra,
          range: [0, 1],
        }),
      ).toBeLessThanOrEqual(TOLERANCE);
      encoder.dispose();
    },
  );

  it('a chain [twoHeadEncoder, decoder] decodes head 0 and leaves the other head out', async () => {
    const encoder = twoHeadEncoder('dense', 4, 12);
    const decoder = seedWeights(
      tfl.sequential({
        layers: [
          tfl.layers.dense({ units: 500, inputShape: [4], activation: 'elu' }),
          tfl.layers.dense({ units: 784, activation: 'sigmoid' }),
          tfl.layers.reshape({ targetShape: image }),
        ],
      }),
      13,
    );
    const bytes = layersToOnnx({
      name: 'autoencoder',
      networks: [encoder, decoder],
      inputName: 'input',
      outputName: 'reconstruction',
    });
    const graph = decodeOnnxModel(bytes).graph!;
    expect(graph.output.map((v) => v.name)).toEqual(['reconstruction']);
    expect(dims(graph.output[0]!)).toEqual(['N', 28, 28, 1]);
    expect(graph.node.filter((n) => n.name!.startsWith('log_variance/'))).toEqual([]);

    const x = uniform(3 * 784, 21, 0, 1);
    const shape = [3, ...image];
    const expected = tf.tidy(() => {
      const [mean] = encoder.predict(tf.tensor(x, shape)) as tf.Tensor[];
      return decoder.predict(mean!) as tf.Tensor;
    });
    const out = await runOnnx(bytes, x, shape);
    expect(out.dims).toEqual(expected.shape);
    expect(maxAbsDiff(expected.dataSync() as Float32Array, out.data)).toBeLessThanOrEqual(
      TOLERANCE,
    );
    expected.dispose();
    // The decoder alone, fed the encoder's mean (as the export self-check does).
    const [mean] = runTfjs([encoder], x, shape);
    const decoded = await runOnnx(
      layersToOnnx({ name: 'd', networks: [decoder], inputName: 'codings', outputName: 'y' }),
      mean!.data,
      [3, 4],
    );
    expect(maxAbsDiff(decoded.data, out.data)).toBeLessThanOrEqual(TOLERANCE);
    encoder.dispose();
    decoder.dispose();
  });

  it('refuses a number of output names other than the outputs, and clashing names', () => {
    const encoder = twoHeadEncoder('dense', 2, 14);
    const networks = [encoder];
    const none = expectCode(() => layersToOnnx({ ...spec, networks }), 'InvalidArgument');
    expect(none.message).toContain('network "dense_encoder" has 2 outputs');
    expect(none.message).toContain('the graph names 1');
    expect(none.message).toContain('extraOutputNames');
    const two = expectCode(
      () => layersToOnnx({ ...spec, networks, extraOutputNames: ['a', 'b'] }),
      'InvalidArgument',
    );
    expect(two.message).toContain('has 2 outputs, but the graph names 3');
    expect(two.message).toContain('["a", "b"]');
    const single = expectCode(
      () => layersToOnnx({ ...spec, networks: [denseNet([3], 2, 1)], extraOutputNames: ['b'] }),
      'InvalidArgument',
    );
    expect(single.message).toContain('has 1 outputs, but the graph names 2');
    for (const names of [['mean'], ['input'], ['']]) {
      const err = expectCode(
        () => layersToOnnx({ ...spec, networks, extraOutputNames: names }),
        'InvalidArgument',
      );
      expect(err.message).toContain('distinct, non-empty input and output names');
    }
    encoder.dispose();
  });

  it('an output that also feeds another, in a convolutional layout', async () => {
    // The feature map is an output (back to NHWC) and, channels-first, feeds the head.
    const input = tfl.input({ shape: [6, 6, 2] });
    const features = tfl.layers
      .conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh' })
      .apply(input) as tfl.SymbolicTensor;
    const pooled = tfl.layers.maxPooling2d({}).apply(features) as tfl.SymbolicTensor;
    const head = tfl.layers
      .dense({ units: 2 })
      .apply(tfl.layers.flatten().apply(pooled)) as tfl.SymbolicTensor;
    const model = seedWeights(tfl.model({ inputs: input, outputs: [head, features] }), 15);
    const options = { outputName: 'head', extraOutputNames: ['features'] };
    expect(await compareWithTfjs('output feeding a head', [model], options)).toBeLessThanOrEqual(
      TOLERANCE,
    );
    const graph = decodeOnnxModel(layersToOnnx({ ...spec, ...options, networks: [model] })).graph!;
    expect(graph.output.map(dims)).toEqual([
      ['N', 2],
      ['N', 6, 6, 3],
    ]);
  });

  it('a nested two-head model inside a functional model', async () => {
    const inner = twoHeadEncoder('conv', 3, 16);
    const input = tfl.input({ shape: image });
    const [mean, logVar] = inner.apply(input) as tfl.SymbolicTensor[];
    const scaled = tfl.layers.dense({ units: 2 }).apply(logVar!) as tfl.SymbolicTensor;
    const outer = tfl.model({ inputs: input, outputs: [mean!, scaled, logVar!] });
    seedWeights(outer, 17);
    const options = { outputName: 'mean', extraOutputNames: ['scaled', 'log_variance'] };
    expect(
      await compareWithTfjs('nested two-head model', [outer], { ...options, range: [0, 1] }),
    ).toBeLessThanOrEqual(TOLERANCE);
    const graph = decodeOnnxModel(layersToOnnx({ ...spec, ...options, networks: [outer] })).graph!;
    // The inner model is converted once, though two of its outputs are used.
    expect(graph.node.filter((n) => n.opType === 'Conv')).toHaveLength(2);
    inner.dispose();
  });
});

describe('unsupported layers', () => {
  it('throws UnsupportedLayer naming the layer, its class and the supported ones', () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.dense({ units: 4, inputShape: [3] }),
        tfl.layers.repeatVector({ n: 2, name: 'repeat' }),
        tfl.layers.layerNormalization({}),
      ],
    });
    const err = expectCode(
      () => layersToOnnx({ name: 'g', networks: [model], inputName: 'x', outputName: 'y' }),
      'UnsupportedLayer',
    );
    expect(err.message).toContain('Layer "repeat" is a RepeatVector');
    for (const name of SUPPORTED_LAYERS) expect(err.message).toContain(`"${name}"`);
    expect(err.hint).toContain('@aekit/export');
  });
});

describe('input and output maps (normalisation folded into the graph)', () => {
  it('maps raw samples in and out as rows, matching tfjs on the mapped values', async () => {
    // A conv net on [4, 4, 1] samples: the maps must reshape around the 4-D tensors.
    const net = seedWeights(
      tfl.sequential({
        layers: [
          tfl.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', inputShape: [4, 4, 1] }),
          tfl.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid' }),
        ],
      }),
      5,
    );
    const scale = Array.from({ length: 16 }, (_, i) => 1 / (i + 1));
    const offset = -0.5;
    const bytes = layersToOnnx({
      name: 'mapped',
      networks: [net],
      inputName: 'input',
      outputName: 'output',
      inputAffine: { scale, offset },
      outputAffine: { scale: 255, offset: 0 },
    });
    const rows = 3;
    const raw = uniform(rows * 16, 9, 0, 255);
    const mapped = raw.map((v, i) => v * scale[i % 16]! + offset);
    const [expected] = runTfjs([net], mapped, [rows, 4, 4, 1]);
    const out = await runOnnx(bytes, raw, [rows, 4, 4, 1]);
    expect(out.dims).toEqual([rows, 4, 4, 1]);
    expect(
      maxAbsDiff(
        expected!.data.map((v) => v * 255),
        out.data,
      ),
    ).toBeLessThanOrEqual(255 * TOLERANCE);
    // Mul and Add run on [N, 16] rows (ONNX Runtime's broadcast over a last axis of 1 is slow).
    const graph = decodeOnnxModel(bytes).graph!;
    const ops = graph.node.map((n) => n.opType);
    expect(ops.slice(0, 4)).toEqual(['Reshape', 'Mul', 'Add', 'Reshape']);
    expect(ops.slice(-3)).toEqual(['Reshape', 'Mul', 'Reshape']);
    const init = (name: string) => graph.initializer.find((t) => t.name === name)!;
    expect(init('input_map/scale').dims.map(Number)).toEqual([16]);
    expect(init('input_map/offset').dims.map(Number)).toEqual([]);
    net.dispose();
  });
});
