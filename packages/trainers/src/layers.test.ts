import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerFusedKernels } from './backends/fused-kernels.js';
import { installFastWasmKernels } from './backends/wasm-kernels.js';
import {
  binaryCrossEntropy,
  conv2dLayer,
  conv2dTransposeLayer,
  denseLayer,
  maxPooling2dLayer,
  sigmoidCrossEntropyWithLogits,
} from './layers.js';
import { BLAS, missing } from './test-utils/requirements.js';

// Before the describe blocks build their inputs (wasm, also loaded, would be the default).
await tf.setBackend('cpu');

describe('sigmoidCrossEntropyWithLogits', () => {
  const z = tf.tensor2d([
    [-4, -1, 0, 0.5],
    [1, 2.5, 3, -0.2],
  ]);
  const t = tf.tensor2d([
    [0, 0.2, 1, 0.5],
    [1, 0.9, 0, 0.3],
  ]);

  it('equals binary cross-entropy of sigmoid(z)', () => {
    // Away from saturation the clipped form is exact too; float32 rounding differs by ~1e-7.
    const a = sigmoidCrossEntropyWithLogits(t, z).dataSync()[0]!;
    const b = binaryCrossEntropy(t, tf.sigmoid(z)).dataSync()[0]!;
    expect(Math.abs(a - b)).toBeLessThan(1e-6);
  });

  it('has the gradient of binary cross-entropy of sigmoid(z)', () => {
    const fused = tf
      .grad((logits: tf.Tensor) => sigmoidCrossEntropyWithLogits(t, logits))(z)
      .dataSync();
    const plain = tf
      .grad((logits: tf.Tensor) => binaryCrossEntropy(t, tf.sigmoid(logits)))(z)
      .dataSync();
    for (let i = 0; i < fused.length; i++)
      expect(Math.abs(fused[i]! - plain[i]!)).toBeLessThan(1e-6);
  });

  it('has its gradient when the target is made inside the loss', () => {
    // The function differentiated frees what it made once its forward pass ends: the
    // gradient must not read such a target (an adversarial discriminator's ones).
    const inside = tf
      .grad((logits: tf.Tensor) => sigmoidCrossEntropyWithLogits(tf.onesLike(logits), logits))(z)
      .dataSync();
    const ones = tf.onesLike(z);
    const outside = tf
      .grad((logits: tf.Tensor) => sigmoidCrossEntropyWithLogits(ones, logits))(z)
      .dataSync();
    expect(Array.from(inside)).toEqual(Array.from(outside));
  });

  it('stays finite where sigmoid saturates', () => {
    const big = tf.tensor1d([-200, 200]);
    const v = sigmoidCrossEntropyWithLogits(tf.tensor1d([1, 0]), big).dataSync()[0]!;
    expect(v).toBeCloseTo(200, 4); // mean of 200 and 200: the exact loss, not a clipped one
  });
});

/** Sets every weight of `model` to fixed values (a cosine over its index). */
function fixWeights(model: tfl.Sequential): tfl.Sequential {
  model.setWeights(
    model
      .getWeights()
      .map((w, i) =>
        tf.tidy(() =>
          tf.reshape(tf.cos(tf.mul(tf.add(tf.range(0, w.size), i * 7), 0.37)), w.shape),
        ),
      ),
  );
  return model;
}

/**
 * The gradients of sum(model(x)^2) for every weight, and how many times each of
 * `kernelNames` ran for them.
 */
async function weightGradients(model: tfl.Sequential, x: tf.Tensor, kernelNames: string[]) {
  let grads: tf.Tensor[] = [];
  const profile = await tf.profile(() => {
    grads = Object.values(
      tf.variableGrads(
        () => tf.sum(tf.square(model.apply(x) as tf.Tensor)) as tf.Scalar,
        model.trainableWeights.map((w) => w.read() as tf.Variable),
      ).grads,
    );
  });
  const values = grads.map((g) => Array.from(g.dataSync()));
  tf.dispose(grads);
  const runs = profile.kernels.filter((k) => kernelNames.includes(k.name)).length;
  return { values, runs };
}

/**
 * Checks that `ours` gives the outputs and weight gradients of `theirs` (4 weights) on `x` to
 * `digits` decimals, disposes both, and returns how often `kernelNames` ran for the
 * gradients of each.
 */
async function compareModels(
  ours: tfl.Sequential,
  theirs: tfl.Sequential,
  x: tf.Tensor,
  kernelNames: string[],
  digits: number,
): Promise<[number, number]> {
  const a = (ours.predict(x) as tf.Tensor).dataSync();
  const b = (theirs.predict(x) as tf.Tensor).dataSync();
  for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]!, digits);
  const g = await weightGradients(ours, x, kernelNames);
  const h = await weightGradients(theirs, x, kernelNames);
  expect(g.values.length).toBe(4);
  for (const [i, grad] of g.values.entries()) {
    for (const [j, v] of grad.entries()) expect(v).toBeCloseTo(h.values[i]![j]!, digits);
  }
  ours.dispose();
  theirs.dispose();
  return [g.runs, h.runs];
}

describe('denseLayer', () => {
  /** Two dense layers 6-5-3 built with `make`, with fixed weights, as one model. */
  const twoLayers = (make: typeof denseLayer, activation: 'selu' | 'relu' | 'linear') =>
    fixWeights(
      tfl.sequential({
        layers: [
          make({ units: 5, activation, inputShape: [6] }),
          make({ units: 3, activation: 'sigmoid' }),
        ],
      }),
    );
  const x = tf.tidy(() => tf.reshape(tf.cos(tf.mul(tf.range(0, 4 * 6), 0.91)), [4, 6]));

  it.each(['selu', 'relu', 'linear'] as const)(
    'gives the outputs and weight gradients of tf.layers.dense (%s)',
    async (activation) => {
      const [ours, theirs] = await compareModels(
        twoLayers(denseLayer, activation),
        twoLayers((args) => tfl.layers.dense(args), activation),
        x,
        ['BatchMatMul', '_FusedMatMul'],
        6,
      );
      // Forward 2 products; backward both kernels' gradients and the second layer's input
      // gradient. tfjs's Dense, where it multiplies with the fused op (any activation but
      // relu, elu and the like, which it applies itself while recording gradients), also
      // multiplies out the gradient of the model's input, which nothing uses.
      expect(ours).toBe(5);
      expect(theirs).toBe(activation === 'relu' ? 5 : 6);
    },
  );

  it('serialises as a plain Dense layer', async () => {
    const model = twoLayers(denseLayer, 'selu');
    const json = model.toJSON(null, false) as { config: { layers: { class_name: string }[] } };
    expect(json.config.layers.map((l) => l.class_name)).toEqual(['Dense', 'Dense']);
    const copy = await tfl.models.modelFromJSON({ modelTopology: model.toJSON(null, false) });
    copy.setWeights(model.getWeights());
    const a = (model.predict(x) as tf.Tensor).dataSync();
    const b = (copy.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    model.dispose();
    copy.dispose();
  });
});

describe('conv2dLayer', () => {
  /** Two 3x3 convolutions 6x6x2 -> 4 -> 3 channels built with `make`, with fixed weights. */
  const twoConvs = (make: typeof conv2dLayer, padding: 'same' | 'valid') =>
    fixWeights(
      tfl.sequential({
        layers: [
          make({ filters: 4, kernelSize: 3, padding, activation: 'selu', inputShape: [6, 6, 2] }),
          make({ filters: 3, kernelSize: 3, strides: 2, padding, activation: 'relu' }),
        ],
      }),
    );
  const x = tf.tidy(() =>
    tf.reshape(tf.sin(tf.mul(tf.range(0, 2 * 6 * 6 * 2), 0.77)), [2, 6, 6, 2]),
  );

  it.each(['same', 'valid'] as const)(
    'gives the outputs and weight gradients of tf.layers.conv2d (%s padding)',
    async (padding) => {
      // Both on the cpu backend, the plain and the fused ops add the same float32 products
      // in other orders: agreement to 5e-6.
      const [ours, theirs] = await compareModels(
        twoConvs(conv2dLayer, padding),
        twoConvs((args) => tfl.layers.conv2d(args), padding),
        x,
        ['Conv2DBackpropInput'],
        5,
      );
      // Only the second layer's input gradient is needed; tfjs's fused Conv2D also computes
      // the first one's.
      expect(ours).toBe(1);
      expect(theirs).toBe(2);
    },
  );

  it('serialises as a plain Conv2D layer', () => {
    const model = twoConvs(conv2dLayer, 'same');
    const json = model.toJSON(null, false) as { config: { layers: { class_name: string }[] } };
    expect(json.config.layers.map((l) => l.class_name)).toEqual(['Conv2D', 'Conv2D']);
    model.dispose();
  });
});

/** Two 3x3 transposed convolutions 3x3x2 -> 6x6x4 -> 12x12x1 (stride 2) built with `make`. */
const twoDeconvs = (
  make: typeof conv2dTransposeLayer,
  padding: 'same' | 'valid',
  activation: 'selu' | 'elu' = 'selu',
) =>
  fixWeights(
    tfl.sequential({
      layers: [
        make({ filters: 4, kernelSize: 3, strides: 2, padding, activation, inputShape: [3, 3, 2] }),
        make({ filters: 1, kernelSize: 3, strides: 2, padding, activation: 'linear' }),
      ],
    }),
  );
const deconvInput = () =>
  tf.tidy(() => tf.reshape(tf.sin(tf.mul(tf.range(0, 2 * 3 * 3 * 2), 0.53)), [2, 3, 3, 2]));

describe('conv2dTransposeLayer', () => {
  it.each(['same', 'valid'] as const)(
    'gives the outputs and weight gradients of tf.layers.conv2dTranspose (%s padding)',
    async (padding) => {
      const x = deconvInput();
      await compareModels(
        twoDeconvs(conv2dTransposeLayer, padding),
        twoDeconvs((args) => tfl.layers.conv2dTranspose(args), padding),
        x,
        [],
        5,
      );
      x.dispose();
    },
  );

  it('has maxPooling2dLayer serialise as a plain MaxPooling2D layer', () => {
    const model = tfl.sequential({
      layers: [maxPooling2dLayer({ poolSize: 2, inputShape: [4, 4, 1] })],
    });
    const json = model.toJSON(null, false) as { config: { layers: { class_name: string }[] } };
    expect(json.config.layers.map((l) => l.class_name)).toEqual(['MaxPooling2D']);
    model.dispose();
  });

  it('serialises as a plain Conv2DTranspose layer', () => {
    const model = twoDeconvs(conv2dTransposeLayer, 'same');
    const json = model.toJSON(null, false) as { config: { layers: { class_name: string }[] } };
    expect(json.config.layers.map((l) => l.class_name)).toEqual([
      'Conv2DTranspose',
      'Conv2DTranspose',
    ]);
    model.dispose();
  });
});

// On wasm with SIMD the layers add the bias and apply the activation in one kernel, and take
// both gradients in one more; tfjs's layers compose an addition, the activation, its
// gradient and a sum. Same float32 operations, other summation orders for the bias
// gradients: agreement to 5e-6.
describe('the layers on wasm, bias and activation fused', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    installFastWasmKernels();
    registerFusedKernels();
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });
  const fused = ['AekitBiasActivation', 'AekitBiasActivationGrad'];

  it.each(['selu', 'relu', 'linear'] as const)('dense (%s)', async (activation) => {
    const x = tf.tidy(() => tf.reshape(tf.cos(tf.mul(tf.range(0, 4 * 6), 0.91)), [4, 6]));
    const dense = (make: typeof denseLayer) =>
      fixWeights(
        tfl.sequential({
          layers: [
            make({ units: 5, activation, inputShape: [6] }),
            make({ units: 3, activation: 'elu' }),
          ],
        }),
      );
    const [ours, theirs] = await compareModels(
      dense(denseLayer),
      dense((args) => tfl.layers.dense(args)),
      x,
      fused,
      5,
    );
    expect(ours).toBeGreaterThan(0);
    expect(theirs).toBe(0);
    x.dispose();
  });

  it('conv2d and conv2dTranspose', async () => {
    const x = deconvInput();
    const model = (conv: typeof conv2dLayer, deconv: typeof conv2dTransposeLayer) =>
      fixWeights(
        tfl.sequential({
          layers: [
            conv({
              filters: 4,
              kernelSize: 3,
              padding: 'same',
              activation: 'selu',
              inputShape: [3, 3, 2],
            }),
            deconv({ filters: 2, kernelSize: 3, strides: 2, padding: 'same', activation: 'elu' }),
          ],
        }),
      );
    const [ours, theirs] = await compareModels(
      model(conv2dLayer, conv2dTransposeLayer),
      model(
        (args) => tfl.layers.conv2d(args),
        (args) => tfl.layers.conv2dTranspose(args),
      ),
      x,
      fused,
      // Filter gradients up to about 17, where float32 steps are 2e-6.
      4,
    );
    expect(ours).toBeGreaterThan(0);
    expect(theirs).toBe(0);
    x.dispose();
  });

  // Max pooling keeps where each window's largest value was; tfjs's gradient finds it again.
  // The same routing: with relu the gradients agree to 4 decimals (they reach about 75, where
  // float32 steps are 7.6e-6, and the products may sum in another order: BLAS or XNNPACK);
  // with selu to 3 (the SIMD kernel's exp and tfjs's differ in the last bits, and the filter
  // gradients reach about 370, where float32 steps are 3e-5: a few steps). A gradient routed
  // to the wrong input of a window is off by whole units.
  it.each([
    ['relu', 4],
    ['selu', 3],
  ] as const)(
    'conv2d, maxPooling2d, conv2d (%s): pooling by its own kernels',
    async (activation, digits) => {
      const x = tf.tidy(() =>
        tf.reshape(tf.sin(tf.mul(tf.range(0, 2 * 9 * 9 * 2), 0.71)), [2, 9, 9, 2]),
      );
      const model = (
        conv: typeof conv2dLayer,
        pool: (args: { poolSize: number }) => tfl.layers.Layer,
      ) =>
        fixWeights(
          tfl.sequential({
            layers: [
              conv({
                filters: 6,
                kernelSize: 3,
                padding: 'same',
                activation,
                inputShape: [9, 9, 2],
              }),
              pool({ poolSize: 2 }),
              conv({ filters: 3, kernelSize: 2, padding: 'valid', activation: 'linear' }),
            ],
          }),
        );
      const [ours, theirs] = await compareModels(
        model(conv2dLayer, maxPooling2dLayer),
        model(
          (args) => tfl.layers.conv2d(args),
          (args) => tfl.layers.maxPooling2d(args),
        ),
        x,
        ['AekitMaxPool', 'AekitMaxPoolGrad'],
        digits,
      );
      expect(ours).toBe(2);
      expect(theirs).toBe(0);
      x.dispose();
    },
  );

  // Four channels or more (with BLAS products): the convolution keeps its patch matrix for
  // the filter gradient, the transposed one builds its output gradient's once for both.
  it.skipIf(missing(BLAS)).each(['same', 'valid'] as const)(
    'conv2d and conv2dTranspose on four channels, sharing patch matrices (%s)',
    async (padding) => {
      const x = tf.tidy(() =>
        tf.reshape(tf.sin(tf.mul(tf.range(0, 2 * 7 * 7 * 4), 0.53)), [2, 7, 7, 4]),
      );
      const model = (conv: typeof conv2dLayer, deconv: typeof conv2dTransposeLayer) =>
        fixWeights(
          tfl.sequential({
            layers: [
              conv({
                filters: 5,
                kernelSize: 3,
                padding,
                activation: 'selu',
                inputShape: [7, 7, 4],
              }),
              deconv({ filters: 4, kernelSize: 3, strides: 2, padding, activation: 'elu' }),
            ],
          }),
        );
      const [ours, theirs] = await compareModels(
        model(conv2dLayer, conv2dTransposeLayer),
        model(
          (args) => tfl.layers.conv2d(args),
          (args) => tfl.layers.conv2dTranspose(args),
        ),
        x,
        ['AekitPatches'],
        // Filter gradients up to about 2800, where float32 steps are 2.4e-4; the products
        // are tfjs's own in the same order (equal in practice), 5e-4 allows another order.
        3,
      );
      expect(ours).toBe(2);
      expect(theirs).toBe(0);
      x.dispose();
    },
  );
});
