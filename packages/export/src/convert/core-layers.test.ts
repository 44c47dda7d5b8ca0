import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { layersToOnnx } from '../layers-to-onnx.js';
import { decodeOnnxModel } from '../onnx-model.js';
import {
  compareWithTfjs,
  expectCode,
  seedWeights,
  TOLERANCE,
  useCpuBackend,
} from '../test-utils/index.js';

beforeAll(useCpuBackend);

async function check(label: string, layers: tfl.layers.Layer[], seed = 1): Promise<void> {
  const model = seedWeights(tfl.sequential({ layers }), seed);
  expect(await compareWithTfjs(label, [model], { seed })).toBeLessThanOrEqual(TOLERANCE);
}

function ops(model: tfl.LayersModel): string[] {
  const bytes = layersToOnnx({ name: 'g', networks: [model], inputName: 'x', outputName: 'y' });
  return decodeOnnxModel(bytes).graph!.node.map((n) => n.opType);
}

describe('Dense', () => {
  it('is a Gemm with the tfjs kernel as B (transB 0) and the bias as C', async () => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 4, inputShape: [6] })] });
    seedWeights(model, 1);
    const graph = decodeOnnxModel(
      layersToOnnx({ name: 'g', networks: [model], inputName: 'x', outputName: 'y' }),
    ).graph!;
    const gemm = graph.node[0]!;
    expect(gemm.opType).toBe('Gemm');
    expect(gemm.attribute).toEqual([]);
    const [, b, c] = gemm.input;
    expect(graph.initializer.find((t) => t.name === b)!.dims.map(Number)).toEqual([6, 4]);
    expect(graph.initializer.find((t) => t.name === c)!.dims.map(Number)).toEqual([4]);
    expect(await compareWithTfjs('Dense', [model])).toBeLessThanOrEqual(TOLERANCE);
  });

  it('without bias', async () => {
    await check('Dense without bias', [
      tfl.layers.dense({ units: 5, useBias: false, inputShape: [3], activation: 'tanh' }),
    ]);
  });

  it('on a rank-3 input (MatMul + Add on the last axis)', async () => {
    await check('Dense on rank 3', [tfl.layers.dense({ units: 5, inputShape: [4, 3] })]);
  });
});

describe('reshaping', () => {
  it('Flatten keeps tfjs (NHWC, C order) element order, also after a convolution', async () => {
    await check('Flatten', [tfl.layers.flatten({ inputShape: [3, 4, 2] })]);
    await check('Flatten after Conv2D', [
      tfl.layers.conv2d({ filters: 3, kernelSize: 2, inputShape: [5, 4, 2] }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 4 }),
    ]);
  });

  it('Reshape, with a -1 dimension', async () => {
    await check('Reshape', [
      tfl.layers.dense({ units: 12, inputShape: [5] }),
      tfl.layers.reshape({ targetShape: [-1, 3, 2] }),
    ]);
  });

  it('Permute', async () => {
    await check('Permute', [
      tfl.layers.dense({ units: 4, inputShape: [3, 2] }),
      tfl.layers.permute({ dims: [2, 1] }),
      tfl.layers.dense({ units: 2 }),
    ]);
    await check('Permute between convolutions', [
      tfl.layers.conv2d({ filters: 3, kernelSize: 2, inputShape: [5, 4, 2] }),
      tfl.layers.permute({ dims: [2, 1, 3] }),
      tfl.layers.conv2d({ filters: 2, kernelSize: 2 }),
    ]);
  });
});

describe('layers that vanish at inference', () => {
  it('Dropout, GaussianNoise, GaussianDropout, AlphaDropout are the identity', async () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.dense({ units: 6, inputShape: [4], activation: 'selu' }),
        tfl.layers.dropout({ rate: 0.5 }),
        tfl.layers.gaussianNoise({ stddev: 1 }),
        tfl.layers.gaussianDropout({ rate: 0.5 }),
        tfl.layers.alphaDropout({ rate: 0.5 }),
        tfl.layers.dense({ units: 3 }),
      ],
    });
    seedWeights(model, 2);
    expect(ops(model)).toEqual(['Gemm', 'Selu', 'Gemm']);
    expect(await compareWithTfjs('Dropout family', [model])).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe('BatchNormalization (inference form)', () => {
  it('on features', async () => {
    await check('BatchNormalization rank 2', [
      tfl.layers.dense({ units: 6, inputShape: [4] }),
      tfl.layers.batchNormalization({ epsilon: 0.01 }),
    ]);
  });

  it('without scale or center', async () => {
    await check('BatchNormalization no scale/center', [
      tfl.layers.dense({ units: 6, inputShape: [4] }),
      tfl.layers.batchNormalization({ scale: false, center: false }),
    ]);
  });

  it('on NHWC images, and between convolutions (NCHW inside the graph)', async () => {
    await check('BatchNormalization NHWC input', [
      tfl.layers.batchNormalization({ inputShape: [4, 3, 2] }),
    ]);
    await check('BatchNormalization between convolutions', [
      tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', inputShape: [5, 4, 2] }),
      tfl.layers.batchNormalization(),
      tfl.layers.reLU(),
      tfl.layers.conv2d({ filters: 2, kernelSize: 3 }),
    ]);
  });

  it('refuses another axis than the last (tfjs cpu and wasm compute it wrongly)', () => {
    const model = tfl.sequential({
      layers: [tfl.layers.batchNormalization({ axis: 1, inputShape: [3, 4] })],
    });
    const err = expectCode(() => ops(model), 'UnsupportedLayer');
    expect(err.message).toContain('is a BatchNormalization with axis 1');
  });
});
