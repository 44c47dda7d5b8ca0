/**
 * The reference ONNX checker (Debian's python3-onnx) with full checking and strict shape
 * inference, on exported graphs covering every converter, at the lowest and highest opset.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing, PYTHON, PYTHON_ONNX } from '../../core/src/test-utils/requirements.js';
import type { Layer } from './convert/context.js';
import { layersToOnnx } from './layers-to-onnx.js';
import { MAX_OPSET, MIN_OPSET } from './onnx-model.js';
import { compareWithTfjs, seedWeights, TOLERANCE, useCpuBackend } from './test-utils/index.js';

const CHECK = `
import sys, onnx
for path in sys.argv[1:]:
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    outputs = ','.join(o.name for o in inferred.graph.output)
    print('ok', path, m.ir_version, m.opset_import[0].version, len(inferred.graph.value_info), outputs)
`;

/** Names of the further outputs of the graphs that have several (variational encoders). */
const EXTRA_OUTPUTS: Readonly<Record<string, readonly string[]>> = {
  twoHeads: ['log_variance'],
  convTwoHeads: ['log_variance'],
};

/** A variational encoder's shape: a trunk, then `mean` and `log_variance` heads. */
function twoHeads(trunk: Layer[], inputShape: number[]): tfl.LayersModel {
  const input = tfl.input({ shape: inputShape });
  const h = trunk.reduce<tfl.SymbolicTensor>(
    (t, layer) => layer.apply(t) as tfl.SymbolicTensor,
    input,
  );
  const mean = tfl.layers.dense({ units: 3, name: 'mean' }).apply(h) as tfl.SymbolicTensor;
  const logVar = tfl.layers
    .dense({ units: 3, name: 'log_variance' })
    .apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: [mean, logVar] });
}

function networks(): Record<string, tfl.LayersModel[]> {
  // The shape of the default stacked autoencoder: 784-100-30 SELU, and back to 28x28x1.
  const encoder = seedWeights(
    tfl.sequential({
      layers: [
        tfl.layers.flatten({ inputShape: [28, 28, 1] }),
        tfl.layers.dense({ units: 100, activation: 'selu' }),
        tfl.layers.dense({ units: 30, activation: 'selu' }),
      ],
    }),
    3,
  );
  const decoder = seedWeights(
    tfl.sequential({
      layers: [
        tfl.layers.dense({ units: 100, activation: 'selu', inputShape: [30] }),
        tfl.layers.dense({ units: 784, activation: 'sigmoid' }),
        tfl.layers.reshape({ targetShape: [28, 28, 1] }),
      ],
    }),
    4,
  );
  const convolutional = tfl.sequential({
    layers: [
      tfl.layers.zeroPadding2d({ padding: 1, inputShape: [12, 12, 1] }),
      tfl.layers.conv2d({
        filters: 4,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'elu',
      }),
      tfl.layers.batchNormalization(),
      tfl.layers.prelu({ sharedAxes: [1, 2] }),
      tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same' }),
      tfl.layers.separableConv2d({
        filters: 4,
        kernelSize: 3,
        padding: 'same',
        activation: 'swish',
      }),
      tfl.layers.maxPooling2d({ padding: 'same' }),
      tfl.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }),
      tfl.layers.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, activation: 'relu6' }),
      tfl.layers.upSampling2d({ interpolation: 'bilinear' }),
      tfl.layers.upSampling2d({}),
      tfl.layers.cropping2D({
        cropping: [
          [1, 2],
          [0, 3],
        ],
      }),
      tfl.layers.softmax({ axis: 3 }),
      tfl.layers.permute({ dims: [3, 1, 2] }),
      tfl.layers.flatten(),
    ],
  });
  const activations = tfl.sequential({
    layers: [
      tfl.layers.dense({ units: 8, inputShape: [5], activation: 'mish' }),
      ...(['gelu', 'gelu_new', 'hardSigmoid', 'softplus', 'softsign', 'logSoftmax'] as const).map(
        (activation) => tfl.layers.dense({ units: 8, activation }),
      ),
      tfl.layers.leakyReLU({}),
      tfl.layers.thresholdedReLU({}),
      tfl.layers.reLU({ maxValue: 2 }),
      tfl.layers.dropout({ rate: 0.2 }),
      tfl.layers.reshape({ targetShape: [2, 4] }),
      tfl.layers.dense({ units: 3, activation: 'selu' }),
      tfl.layers.softmax({ axis: [1, 2] }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 6 }),
      tfl.layers.reshape({ targetShape: [2, 3, 1] }),
      tfl.layers.globalAveragePooling2d({}),
    ],
  });
  const pooled = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ filters: 2, kernelSize: 3, inputShape: [6, 6, 1] }),
      tfl.layers.globalMaxPooling2d({}),
    ],
  });
  const denseTwoHeads = twoHeads(
    [tfl.layers.flatten(), tfl.layers.dense({ units: 16, activation: 'elu' })],
    [4, 4, 1],
  );
  const convTwoHeads = twoHeads(
    [
      tfl.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' }),
      tfl.layers.flatten(),
    ],
    [8, 8, 1],
  );
  const twoHeadDecoder = tfl.sequential({
    layers: [
      tfl.layers.dense({ units: 16, inputShape: [3], activation: 'sigmoid' }),
      tfl.layers.reshape({ targetShape: [4, 4, 1] }),
    ],
  });
  return {
    encoder: [encoder],
    decoder: [decoder],
    autoencoder: [encoder, decoder],
    convolutional: [seedWeights(convolutional, 1)],
    activations: [seedWeights(activations, 2)],
    pooled: [seedWeights(pooled, 3)],
    twoHeads: [seedWeights(denseTwoHeads, 4)],
    convTwoHeads: [seedWeights(convTwoHeads, 5)],
    twoHeadAutoencoder: [denseTwoHeads, seedWeights(twoHeadDecoder, 6)],
  };
}

describe('python3-onnx checker', () => {
  let dir = '';
  let graphs: Record<string, tfl.LayersModel[]> = {};
  beforeAll(async () => {
    await useCpuBackend();
    dir = mkdtempSync(join(tmpdir(), 'aekit-onnx-check-'));
    graphs = networks();
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(missing(PYTHON_ONNX))(
    `accepts every exported graph at IR 8, opsets ${MIN_OPSET} and ${MAX_OPSET}, with strict shape inference`,
    () => {
      const files: string[] = [];
      for (const [name, nets] of Object.entries(graphs)) {
        for (const opset of [MIN_OPSET, MAX_OPSET]) {
          const file = join(dir, `${name}-${opset}.onnx`);
          const extraOutputNames = EXTRA_OUTPUTS[name];
          writeFileSync(
            file,
            layersToOnnx({
              name,
              networks: nets,
              inputName: 'input',
              outputName: 'output',
              ...(extraOutputNames ? { extraOutputNames } : {}),
              opset,
            }),
          );
          files.push(file);
        }
      }
      const run = spawnSync(PYTHON, ['-c', CHECK, ...files], { encoding: 'utf8' });
      expect(run.error, `cannot run ${PYTHON}`).toBeUndefined();
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const lines = run.stdout.trim().split('\n');
      expect(lines).toHaveLength(files.length);
      for (const [i, line] of lines.entries()) {
        const [ok, path, ir, opset, , outputs] = line.split(' ');
        expect([ok, path, ir]).toEqual(['ok', files[i], '8']);
        expect(Number(opset)).toBe(i % 2 === 0 ? MIN_OPSET : MAX_OPSET);
        const name = Object.keys(graphs)[Math.floor(i / 2)]!;
        expect(outputs, name).toBe(['output', ...(EXTRA_OUTPUTS[name] ?? [])].join(','));
      }
    },
  );

  it('the same graphs agree with tfjs', async () => {
    for (const [name, nets] of Object.entries(graphs)) {
      const extraOutputNames = EXTRA_OUTPUTS[name];
      const diff = await compareWithTfjs(`checked graph ${name}`, nets, {
        range: [0, 1],
        ...(extraOutputNames ? { extraOutputNames } : {}),
      });
      expect(diff, name).toBeLessThanOrEqual(TOLERANCE);
    }
  });
});
