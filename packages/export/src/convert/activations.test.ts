import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { layersToOnnx } from '../layers-to-onnx.js';
import { decodeOnnxModel } from '../onnx-model.js';
import { compareWithTfjs, seedWeights, TOLERANCE, useCpuBackend } from '../test-utils/index.js';
import { SELU_ALPHA, SELU_GAMMA, SUPPORTED_ACTIVATIONS } from './activations.js';

beforeAll(useCpuBackend);

/**
 * The layer the converter knows as `Threshold` (in @aekit/trainers, the bits of a semantic
 * hash), as the exporter sees it: that class name, a `threshold` in its config, and 1 above
 * the threshold, else 0.
 */
class Threshold extends tfl.layers.Layer {
  static className = 'Threshold';
  constructor(readonly args: { threshold: number }) {
    super({});
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() =>
      tf.cast(
        tf.greater(Array.isArray(inputs) ? inputs[0]! : inputs, this.args.threshold),
        'float32',
      ),
    );
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), threshold: this.args.threshold };
  }
}

describe('activations inside Dense', () => {
  // Every name tfjs-layers 4.22 registers, as `getConfig()` reports it.
  const names = [
    'linear',
    'relu',
    'relu6',
    'elu',
    'selu',
    'sigmoid',
    'hardSigmoid',
    'tanh',
    'softplus',
    'softsign',
    'softmax',
    'logSoftmax',
    'swish',
    'mish',
    'gelu',
    'gelu_new',
  ];

  it('covers every supported activation', () => {
    expect([...SUPPORTED_ACTIVATIONS].sort()).toEqual([...names].sort());
  });

  it.each(names)('%s', async (activation) => {
    // Wide inputs so that relu6's and hardSigmoid's clipping and softplus's tails are used.
    const model = tfl.sequential({
      layers: [
        tfl.layers.dense({
          units: 7,
          inputShape: [5],
          // biome-ignore lint/suspicious/noExplicitAny: every tfjs activation name
          activation: activation as any,
        }),
      ],
    });
    seedWeights(model, 3);
    const diff = await compareWithTfjs(`activation ${activation}`, [model], { range: [-8, 8] });
    expect(diff).toBeLessThanOrEqual(TOLERANCE);
  });

  it('writes SELU with tfjs constants', () => {
    // tfjs-core selu_util: SELU_SCALEALPHA = 1.7580993408473768..., SELU_SCALE = 1.0507009873554805...
    // ONNX attributes are float32: alpha and gamma must round to the same float32 values.
    expect(Math.fround(SELU_ALPHA)).toBe(Math.fround(1.7580993408473768 / 1.0507009873554805));
    expect(Math.fround(SELU_GAMMA)).toBe(Math.fround(1.0507009873554805));
    const model = tfl.sequential({
      layers: [tfl.layers.dense({ units: 2, inputShape: [2], activation: 'selu' })],
    });
    const bytes = layersToOnnx({ name: 'g', networks: [model], inputName: 'x', outputName: 'y' });
    const selu = decodeOnnxModel(bytes).graph!.node.find((n) => n.opType === 'Selu')!;
    const attrs = Object.fromEntries(selu.attribute.map((a) => [a.name, a.f]));
    expect(attrs).toEqual({ alpha: Math.fround(SELU_ALPHA), gamma: Math.fround(SELU_GAMMA) });
  });
});

describe('activation layers', () => {
  const cases: [string, () => tfl.layers.Layer][] = [
    ['Activation(tanh)', () => tfl.layers.activation({ activation: 'tanh' })],
    ['ReLU', () => tfl.layers.reLU()],
    ['ReLU(maxValue 1.5)', () => tfl.layers.reLU({ maxValue: 1.5 })],
    ['LeakyReLU', () => tfl.layers.leakyReLU()],
    ['LeakyReLU(alpha 0.05)', () => tfl.layers.leakyReLU({ alpha: 0.05 })],
    ['ELU', () => tfl.layers.elu()],
    ['ThresholdedReLU(theta 0.5)', () => tfl.layers.thresholdedReLU({ theta: 0.5 })],
    ['PReLU', () => tfl.layers.prelu()],
    ['Softmax', () => tfl.layers.softmax()],
    // aekit's step layer (the bits of a semantic hash): exact 0s and 1s on both sides.
    ['Threshold(0.5)', () => new Threshold({ threshold: 0.5 })],
    ['Threshold(-1)', () => new Threshold({ threshold: -1 })],
  ];

  it.each(cases)('%s', async (label, make) => {
    const model = tfl.sequential({
      layers: [tfl.layers.dense({ units: 6, inputShape: [4] }), make()],
    });
    seedWeights(model, 5);
    const diff = await compareWithTfjs(label, [model], { range: [-3, 3] });
    expect(diff).toBeLessThanOrEqual(TOLERANCE);
  });

  it('PReLU with shared axes and Softmax on channels, inside a channels-first block', async () => {
    // The conv output is NCHW inside the graph: the slope and the softmax axis must follow.
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', inputShape: [5, 4, 2] }),
        tfl.layers.prelu({ sharedAxes: [1] }),
        tfl.layers.conv2d({ filters: 4, kernelSize: 1, activation: 'softmax' }),
        tfl.layers.softmax({ axis: 3 }),
      ],
    });
    seedWeights(model, 6);
    const diff = await compareWithTfjs('PReLU + softmax (NCHW block)', [model]);
    expect(diff).toBeLessThanOrEqual(TOLERANCE);
  });
});
