import { getVariant, parseVariantOptions } from '@aekit/core';
import { asTfjsPlugin, builtinVariants, DEFAULT_ONNX_GRAPHS } from '@aekit/trainers';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { SUPPORTED_LAYERS } from './convert/registry.js';
import { layerChain, layersToOnnx } from './layers-to-onnx.js';
import { decodeOnnxModel, ONNX_IR_VERSION } from './onnx-model.js';
import { runOnnx } from './run-onnx.js';
import {
  compareWithTfjs,
  expectCode,
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

describe('built-in variants', () => {
  it.each(builtinVariants.map((p) => p.name))(
    '%s: encoder, decoder and [encoder, decoder] on 28x28x1 images',
    async (variant) => {
      const plugin = asTfjsPlugin(getVariant(variant));
      const config = parseVariantOptions(plugin, {});
      const model = plugin.trainer.build({ config, inputShape: [28, 28, 1], seed: 7 });
      try {
        for (const graph of DEFAULT_ONNX_GRAPHS) {
          const networks = graph.networks.map((n) => model.networks[n]!);
          const diff = await compareWithTfjs(`${variant} ${graph.role}`, networks, {
            name: graph.role,
            inputName: graph.inputName,
            outputName: graph.outputName,
            range: [0, 1],
          });
          expect(diff).toBeLessThanOrEqual(TOLERANCE);
        }
        const bytes = layersToOnnx({
          name: 'autoencoder',
          networks: [model.networks.encoder!, model.networks.decoder!],
          inputName: 'input',
          outputName: 'reconstruction',
        });
        const graph = decodeOnnxModel(bytes).graph!;
        expect(dims(graph.input[0]!)).toEqual(['N', 28, 28, 1]);
        expect(dims(graph.output[0]!)).toEqual(['N', 28, 28, 1]);
      } finally {
        for (const net of Object.values(model.networks)) net.dispose();
      }
    },
  );
});

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

  it('refuses branches with a clear UnsupportedLayer error', () => {
    const input = tfl.input({ shape: [4] });
    const a = tfl.layers.dense({ units: 3 }).apply(input) as tfl.SymbolicTensor;
    const b = tfl.layers.dense({ units: 3 }).apply(input) as tfl.SymbolicTensor;
    const sum = tfl.layers.add({ name: 'merge' }).apply([a, b]) as tfl.SymbolicTensor;
    const merged = tfl.model({ inputs: input, outputs: sum });
    const spec = { name: 'g', inputName: 'x', outputName: 'y' };
    const err = expectCode(() => layersToOnnx({ ...spec, networks: [merged] }), 'UnsupportedLayer');
    expect(err.message).toContain('Layer "merge" is a Add with 2 inputs');

    const twoOutputs = tfl.model({ name: 'two_heads', inputs: input, outputs: [a, b] });
    const err2 = expectCode(
      () => layersToOnnx({ ...spec, networks: [twoOutputs] }),
      'UnsupportedLayer',
    );
    expect(err2.message).toContain('"two_heads"');
    expect(err2.message).toContain('1 inputs and 2 outputs');
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
