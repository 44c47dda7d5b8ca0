import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareWithTfjs, seedWeights, TOLERANCE, useCpuBackend } from '../test-utils/index.js';

beforeAll(useCpuBackend);

async function check(label: string, layers: tfl.layers.Layer[], seed = 1): Promise<void> {
  const model = seedWeights(tfl.sequential({ layers }), seed);
  expect(await compareWithTfjs(label, [model], { seed })).toBeLessThanOrEqual(TOLERANCE);
}

describe('UpSampling2D', () => {
  it.each([
    ['nearest 2x2', [2, 2], 'nearest'],
    ['nearest 3x2', [3, 2], 'nearest'],
    ['bilinear 2x2', [2, 2], 'bilinear'],
    ['bilinear 2x3', [2, 3], 'bilinear'],
  ] as const)('%s', async (label, size, interpolation) => {
    await check(`UpSampling2D ${label}`, [
      tfl.layers.upSampling2d({ size: [...size], interpolation, inputShape: [3, 4, 2] }),
    ]);
  });

  it('between convolutions', async () => {
    await check('UpSampling2D between convolutions', [
      tfl.layers.conv2d({ filters: 3, kernelSize: 2, inputShape: [4, 4, 1] }),
      tfl.layers.upSampling2d({}),
      tfl.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same' }),
    ]);
  });
});

describe('Cropping2D', () => {
  it('symmetric and asymmetric', async () => {
    await check('Cropping2D 1', [tfl.layers.cropping2D({ cropping: 1, inputShape: [5, 6, 2] })]);
    await check('Cropping2D [[1,0],[2,1]]', [
      tfl.layers.cropping2D({
        cropping: [
          [1, 0],
          [2, 1],
        ],
        inputShape: [5, 6, 2],
      }),
    ]);
  });

  it('after a convolution (NCHW inside the graph)', async () => {
    await check('Cropping2D after Conv2D', [
      tfl.layers.conv2dTranspose({ filters: 2, kernelSize: 3, strides: 2, inputShape: [3, 3, 1] }),
      tfl.layers.cropping2D({
        cropping: [
          [0, 1],
          [1, 0],
        ],
      }),
    ]);
  });
});

describe('ZeroPadding2D', () => {
  it('default, symmetric and asymmetric', async () => {
    await check('ZeroPadding2D default', [tfl.layers.zeroPadding2d({ inputShape: [3, 4, 2] })]);
    await check('ZeroPadding2D [2,1]', [
      tfl.layers.zeroPadding2d({ padding: [2, 1], inputShape: [3, 4, 2] }),
    ]);
    await check('ZeroPadding2D [[1,0],[0,2]] after Conv2D', [
      tfl.layers.conv2d({ filters: 2, kernelSize: 2, inputShape: [4, 4, 1] }),
      tfl.layers.zeroPadding2d({
        padding: [
          [1, 0],
          [0, 2],
        ],
      }),
      tfl.layers.conv2d({ filters: 2, kernelSize: 2 }),
    ]);
  });
});
