import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareWithTfjs, seedWeights, TOLERANCE, useCpuBackend } from '../test-utils/index.js';
import { deconvLength, samePadding } from './conv.js';

beforeAll(useCpuBackend);

type Padding = 'same' | 'valid';

async function check(label: string, layers: tfl.layers.Layer[], seed = 1): Promise<void> {
  const model = seedWeights(tfl.sequential({ layers }), seed);
  expect(await compareWithTfjs(label, [model], { seed })).toBeLessThanOrEqual(TOLERANCE);
}

describe('padding arithmetic', () => {
  it('splits TF same padding with the odd pixel at the end', () => {
    expect(samePadding(5, 3, 1)).toEqual([1, 1]);
    expect(samePadding(6, 3, 2)).toEqual([0, 1]);
    expect(samePadding(7, 4, 2)).toEqual([1, 2]);
    expect(samePadding(5, 1, 2)).toEqual([0, 0]);
    expect(samePadding(9, 3, 1, 2)).toEqual([2, 2]);
  });

  it('sizes transposed convolutions like tfjs', () => {
    expect(deconvLength(7, 3, 2, 'same')).toBe(14);
    expect(deconvLength(7, 3, 2, 'valid')).toBe(15);
    expect(deconvLength(7, 1, 2, 'valid')).toBe(14);
  });
});

describe('Conv2D', () => {
  const cases: [string, number, number, Padding, number, number[]][] = [
    // label, kernel, stride, padding, dilation, input [h, w, c]
    ['3x3 s1 same', 3, 1, 'same', 1, [6, 5, 2]],
    ['3x3 s1 valid', 3, 1, 'valid', 1, [6, 5, 2]],
    ['3x3 s2 same (even)', 3, 2, 'same', 1, [8, 6, 3]],
    ['3x3 s2 same (odd)', 3, 2, 'same', 1, [7, 5, 3]],
    ['3x3 s2 valid (odd)', 3, 2, 'valid', 1, [7, 5, 3]],
    ['4x4 s2 same', 4, 2, 'same', 1, [7, 6, 1]],
    ['2x2 s3 same', 2, 3, 'same', 1, [8, 7, 2]],
    ['1x1 s2 valid', 1, 2, 'valid', 1, [5, 5, 4]],
    ['3x3 dilation 2 same', 3, 1, 'same', 2, [9, 8, 2]],
    ['3x3 dilation 2 valid', 3, 1, 'valid', 2, [9, 8, 2]],
  ];

  it.each(cases)('%s', async (label, kernelSize, strides, padding, dilationRate, inputShape) => {
    await check(`Conv2D ${label}`, [
      tfl.layers.conv2d({
        filters: 4,
        kernelSize,
        strides,
        padding,
        dilationRate,
        inputShape,
        activation: 'relu',
      }),
    ]);
  });

  it('rectangular kernel and strides, no bias', async () => {
    await check('Conv2D 3x2 kernel, strides [2,1], no bias', [
      tfl.layers.conv2d({
        filters: 3,
        kernelSize: [3, 2],
        strides: [2, 1],
        padding: 'same',
        useBias: false,
        inputShape: [7, 6, 2],
      }),
    ]);
  });

  it('channels-first', async () => {
    await check('Conv2D channelsFirst', [
      tfl.layers.conv2d({
        filters: 3,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        dataFormat: 'channelsFirst',
        inputShape: [2, 7, 6],
      }),
      tfl.layers.flatten({ dataFormat: 'channelsFirst' }),
    ]);
  });
});

describe('Conv2DTranspose', () => {
  const cases: [string, number, number, Padding, number[]][] = [
    ['3x3 s1 same', 3, 1, 'same', [5, 4, 2]],
    ['3x3 s1 valid', 3, 1, 'valid', [5, 4, 2]],
    ['3x3 s2 same', 3, 2, 'same', [4, 5, 3]],
    ['3x3 s2 valid', 3, 2, 'valid', [4, 5, 3]],
    ['2x2 s2 same', 2, 2, 'same', [3, 4, 2]],
    ['4x4 s2 same', 4, 2, 'same', [3, 4, 2]],
    ['5x5 s2 same', 5, 2, 'same', [3, 3, 2]],
    ['1x1 s2 same (kernel < stride)', 1, 2, 'same', [3, 4, 2]],
    ['2x2 s3 valid (kernel < stride)', 2, 3, 'valid', [3, 2, 2]],
    ['3x3 s3 same', 3, 3, 'same', [3, 4, 1]],
  ];

  it.each(cases)('%s', async (label, kernelSize, strides, padding, inputShape) => {
    await check(`Conv2DTranspose ${label}`, [
      tfl.layers.conv2dTranspose({
        filters: 3,
        kernelSize,
        strides,
        padding,
        inputShape,
        activation: 'sigmoid',
      }),
    ]);
  });

  it('rectangular kernel and strides, no bias', async () => {
    await check('Conv2DTranspose 3x2 kernel, strides [2,1]', [
      tfl.layers.conv2dTranspose({
        filters: 2,
        kernelSize: [3, 2],
        strides: [2, 1],
        padding: 'same',
        useBias: false,
        inputShape: [4, 3, 2],
      }),
    ]);
  });
});

describe('depthwise and separable convolutions', () => {
  it('DepthwiseConv2D, depth multiplier 2, stride 2, same', async () => {
    await check('DepthwiseConv2D', [
      tfl.layers.depthwiseConv2d({
        kernelSize: 3,
        depthMultiplier: 2,
        strides: 2,
        padding: 'same',
        inputShape: [7, 6, 3],
      }),
    ]);
  });

  it('SeparableConv2D, depth multiplier 2, valid, relu', async () => {
    await check('SeparableConv2D', [
      tfl.layers.separableConv2d({
        filters: 4,
        kernelSize: 3,
        depthMultiplier: 2,
        padding: 'valid',
        activation: 'relu',
        inputShape: [7, 6, 3],
      }),
    ]);
  });
});

describe('pooling', () => {
  const cases: [string, 'max' | 'avg', number, number | undefined, Padding, number[]][] = [
    ['2x2 valid', 'max', 2, undefined, 'valid', [6, 6, 2]],
    ['2x2 same (odd)', 'max', 2, undefined, 'same', [7, 5, 2]],
    ['3x3 s2 same', 'max', 3, 2, 'same', [7, 6, 2]],
    ['3x3 s1 valid', 'max', 3, 1, 'valid', [5, 6, 2]],
    ['2x2 valid', 'avg', 2, undefined, 'valid', [6, 6, 2]],
    ['2x2 same (odd)', 'avg', 2, undefined, 'same', [7, 5, 2]],
    ['3x3 s2 same', 'avg', 3, 2, 'same', [7, 6, 2]],
    ['3x3 s1 same', 'avg', 3, 1, 'same', [5, 6, 2]],
  ];

  it.each(cases)('%s %s', async (label, kind, poolSize, strides, padding, inputShape) => {
    const pool = kind === 'max' ? tfl.layers.maxPooling2d : tfl.layers.averagePooling2d;
    await check(`${kind === 'max' ? 'MaxPooling2D' : 'AveragePooling2D'} ${label}`, [
      pool({ poolSize, padding, inputShape, ...(strides ? { strides } : {}) }),
    ]);
  });

  it('GlobalAveragePooling2D and GlobalMaxPooling2D after a convolution', async () => {
    await check('GlobalAveragePooling2D', [
      tfl.layers.conv2d({ filters: 3, kernelSize: 3, inputShape: [6, 5, 2] }),
      tfl.layers.globalAveragePooling2d({}),
    ]);
    await check('GlobalMaxPooling2D', [
      tfl.layers.conv2d({ filters: 3, kernelSize: 3, inputShape: [6, 5, 2] }),
      tfl.layers.globalMaxPooling2d({}),
      tfl.layers.dense({ units: 2 }),
    ]);
  });
});

describe('convolutional autoencoder', () => {
  it('encoder and decoder chained, 28x28x1 in and out', async () => {
    const encoder = tfl.sequential({
      name: 'conv_encoder',
      layers: [
        tfl.layers.conv2d({
          filters: 4,
          kernelSize: 3,
          padding: 'same',
          activation: 'selu',
          inputShape: [28, 28, 1],
        }),
        tfl.layers.maxPooling2d({ poolSize: 2 }),
        tfl.layers.conv2d({
          filters: 8,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          activation: 'selu',
        }),
        tfl.layers.batchNormalization(),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 10, activation: 'selu' }),
      ],
    });
    const decoder = tfl.sequential({
      name: 'conv_decoder',
      layers: [
        tfl.layers.dense({ units: 7 * 7 * 8, activation: 'selu', inputShape: [10] }),
        tfl.layers.reshape({ targetShape: [7, 7, 8] }),
        tfl.layers.conv2dTranspose({
          filters: 4,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          activation: 'selu',
        }),
        tfl.layers.upSampling2d({ size: [2, 2] }),
        tfl.layers.conv2d({ filters: 1, kernelSize: 3, padding: 'same', activation: 'sigmoid' }),
      ],
    });
    seedWeights(encoder, 11);
    seedWeights(decoder, 12);
    const opts = { range: [0, 1] as const };
    expect(await compareWithTfjs('conv encoder', [encoder], opts)).toBeLessThanOrEqual(TOLERANCE);
    expect(await compareWithTfjs('conv decoder', [decoder], opts)).toBeLessThanOrEqual(TOLERANCE);
    expect(await compareWithTfjs('conv autoencoder', [encoder, decoder], opts)).toBeLessThanOrEqual(
      TOLERANCE,
    );
  });
});
