import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { createRng } from '@aekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLAS, missing } from '../test-utils/requirements.js';
import {
  conv2dSharingPatches,
  conv2dTransposeSharingPatches,
  maxPoolSharingArgmax,
  useWasmConvSimd,
} from './wasm-conv.js';
import { installFastWasmKernels, useWasmBlas } from './wasm-kernels.js';

const rng = createRng(9, 'wasm-conv');
const random = (shape: number[]) =>
  Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng() * 2 - 1);

/** Runs `f` on the cpu and on the (patched) wasm backend; returns every output of both. */
async function both(f: () => tf.Tensor[]): Promise<[Float32Array[], Float32Array[]]> {
  await tf.setBackend('cpu');
  const cpu = tf.tidy(f).map((t) => t.dataSync() as Float32Array);
  await tf.setBackend('wasm');
  const wasm = tf.tidy(f).map((t) => t.dataSync() as Float32Array);
  return [cpu, wasm];
}

function relDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  let scale = 1e-6;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return m / scale;
}

beforeAll(async () => {
  await tf.setBackend('wasm');
  installFastWasmKernels();
});

// [batch, height, width, in channels, out channels, kernel, stride, padding]
type Case = [number, number, number, number, number, number, number, 'same' | 'valid'];
const CASES: Case[] = [
  [1, 5, 5, 1, 1, 3, 1, 'same'],
  [2, 7, 6, 3, 4, 3, 2, 'same'],
  [3, 9, 9, 2, 5, 3, 2, 'valid'],
  [2, 8, 8, 4, 3, 5, 1, 'valid'],
  [4, 6, 7, 1, 2, 3, 2, 'valid'],
  [2, 28, 28, 1, 16, 3, 1, 'same'],
  [2, 6, 5, 1, 21, 3, 2, 'same'],
  [2, 8, 9, 1, 3, 3, 2, 'same'],
  [1, 3, 4, 1, 2, 5, 1, 'same'],
  [2, 9, 10, 1, 16, 3, 2, 'same'],
  [1, 7, 9, 1, 32, 5, 2, 'valid'],
  // Four channels or more: the forward pass is a product too (with BLAS).
  [2, 14, 14, 16, 8, 3, 1, 'same'],
  [3, 7, 7, 8, 6, 3, 2, 'valid'],
  [2, 6, 7, 4, 3, 3, 2, 'same'],
];

const wasmBackend = () => tf.engine().findBackend('wasm');

// Products through BLAS or XNNPACK; patch matrices by the SIMD kernel or in JavaScript (the
// fallback where kernels.wasm cannot load).
for (const [name, blas, simd] of [
  ['BLAS products, SIMD patches', true, true],
  ['XNNPACK products, SIMD patches', false, true],
  ['BLAS products, JavaScript patches', true, false],
] as const) {
  describe.skipIf(blas && missing(BLAS))(
    `wasm convolution gradients (${name}) agree with the cpu backend`,
    () => {
      beforeAll(() => {
        useWasmBlas(blas);
        expect(useWasmConvSimd(simd, wasmBackend())).toBe(simd);
      });
      afterAll(() => {
        useWasmBlas(true);
        useWasmConvSimd(true, wasmBackend());
      });

      // Sums of at most 5*5*4*... products of values in [-1, 1], float32 in other orders: 1e-5
      // of the largest value is ample.
      it.each(CASES)(
        'conv2d %i x %ix%ix%i -> %i, kernel %i, stride %i, %s: input and filter gradients',
        async (n, h, w, ci, co, k, s, pad) => {
          const x = random([n, h, w, ci]);
          const filter = random([k, k, ci, co]);
          const [cpu, wasm] = await both(() => {
            const xt = tf.tensor4d(x, [n, h, w, ci]);
            const ft = tf.tensor4d(filter, [k, k, ci, co]);
            const f = (a: tf.Tensor4D, b: tf.Tensor4D) =>
              tf.sum(tf.square(tf.conv2d(a, b, s, pad)));
            const grads = tf.grads(f as (...t: tf.Tensor[]) => tf.Scalar)([xt, ft]);
            return [tf.conv2d(xt, ft, s, pad), ...grads];
          });
          for (let i = 0; i < 3; i++) expect(relDiff(cpu[i]!, wasm[i]!)).toBeLessThan(1e-5);
        },
      );

      it.each(
        CASES.flatMap((c, i) => [[...c, (['linear', 'relu', 'elu'] as const)[i % 3]!] as const]),
      )(
        'fused conv2d %i x %ix%ix%i -> %i, kernel %i, stride %i, %s, bias, %s: output',
        async (n, h, w, ci, co, k, s, pad, activation) => {
          const x = random([n, h, w, ci]);
          const filter = random([k, k, ci, co]);
          const bias = random([co]);
          const [cpu, wasm] = await both(() => [
            tf.fused.conv2d({
              x: tf.tensor4d(x, [n, h, w, ci]),
              filter: tf.tensor4d(filter, [k, k, ci, co]),
              strides: s,
              pad,
              bias: tf.tensor1d(bias),
              activation,
            }),
          ]);
          expect(relDiff(cpu[0]!, wasm[0]!)).toBeLessThan(1e-5);
        },
      );

      // Dilated filters (tfjs has no gradient for them, so the forward pass only; stride 1, as
      // tfjs requires with dilation): the patch matrix skips input positions.
      it.each([
        [2, 14, 14, 16, 8, 3, 1, 'same'],
        [2, 9, 9, 4, 3, 3, 1, 'valid'],
        [1, 6, 7, 5, 2, 2, 1, 'same'],
        [1, 9, 8, 1, 20, 3, 1, 'same'],
        [2, 11, 10, 1, 32, 3, 1, 'valid'],
      ] as Case[])(
        'conv2d %i x %ix%ix%i -> %i, kernel %i, stride %i, %s, dilation 2: output',
        async (n, h, w, ci, co, k, s, pad) => {
          const x = random([n, h, w, ci]);
          const filter = random([k, k, ci, co]);
          const [cpu, wasm] = await both(() => [
            tf.conv2d(
              tf.tensor4d(x, [n, h, w, ci]),
              tf.tensor4d(filter, [k, k, ci, co]),
              s,
              pad,
              'NHWC',
              2,
            ),
          ]);
          expect(relDiff(cpu[0]!, wasm[0]!)).toBeLessThan(1e-5);
        },
      );

      it.each(CASES)(
        'conv2dTranspose %i x %ix%ix%i <- %i, kernel %i, stride %i, %s: output and gradients',
        async (n, h, w, ci, co, k, s, pad) => {
          // The transposed convolution whose input is the output of conv2d(x, filter).
          const outH = pad === 'same' ? Math.ceil(h / s) : Math.ceil((h - k + 1) / s);
          const outW = pad === 'same' ? Math.ceil(w / s) : Math.ceil((w - k + 1) / s);
          const y = random([n, outH, outW, co]);
          const filter = random([k, k, ci, co]);
          const [cpu, wasm] = await both(() => {
            const yt = tf.tensor4d(y, [n, outH, outW, co]);
            const ft = tf.tensor4d(filter, [k, k, ci, co]);
            const f = (a: tf.Tensor4D, b: tf.Tensor4D) =>
              tf.sum(tf.square(tf.conv2dTranspose(a, b, [n, h, w, ci], s, pad)));
            const grads = tf.grads(f as (...t: tf.Tensor[]) => tf.Scalar)([yt, ft]);
            return [tf.conv2dTranspose(yt, ft, [n, h, w, ci], s, pad), ...grads];
          });
          for (let i = 0; i < 3; i++) expect(relDiff(cpu[i]!, wasm[i]!)).toBeLessThan(1e-5);
        },
      );
    },
  );
}

describe.each([
  ['SIMD', true],
  ['JavaScript', false],
] as const)('wasm max pooling gradient (%s) agrees with the cpu backend', (_n, simd) => {
  beforeAll(() => {
    expect(useWasmConvSimd(simd, wasmBackend())).toBe(simd);
  });
  afterAll(() => {
    useWasmConvSimd(true, wasmBackend());
  });
  it.each([
    [2, 28, 28, 3, 2, 2, 'valid'],
    [1, 7, 7, 4, 2, 2, 'valid'],
    [2, 7, 7, 2, 2, 2, 'same'],
    [3, 9, 8, 2, 3, 2, 'same'],
    [1, 6, 6, 1, 3, 1, 'valid'],
  ] as const)('%i x %ix%ix%i, pool %i, stride %i, %s', async (n, h, w, c, size, stride, pad) => {
    const x = random([n, h, w, c]);
    const out = (d: number) =>
      pad === 'same' ? Math.ceil(d / stride) : Math.ceil((d - size + 1) / stride);
    const weights = random([n, out(h), out(w), c]);
    const [cpu, wasm] = await both(() => {
      const xt = tf.tensor4d(x, [n, h, w, c]);
      const wt = tf.tensor4d(weights, [n, out(h), out(w), c]);
      const g = tf.grad((a: tf.Tensor4D) => tf.sum(tf.mul(tf.maxPool(a, size, stride, pad), wt)));
      return [g(xt)];
    });
    // Each input receives whole output gradients; where windows overlap (pool 3, stride 2)
    // it adds two or three of them, in another order than the cpu backend.
    expect(relDiff(cpu[0]!, wasm[0]!)).toBeLessThan(1e-6);
  });
});

// Patch matrices are shared only where the products run on BLAS.
describe.skipIf(missing(BLAS))('convolutions that share their patch matrix between passes', () => {
  const wide = CASES.filter(([, , , ci]) => ci >= 4);
  const outSize = (d: number, k: number, s: number, pad: 'same' | 'valid') =>
    pad === 'same' ? Math.ceil(d / s) : Math.ceil((d - k + 1) / s);

  beforeAll(async () => {
    await tf.setBackend('wasm');
    useWasmBlas(true);
  });

  /**
   * The output of `op(a, b)`, the value of sum(square(...)) and its gradients for a and b:
   * `reference` on the cpu backend against `ours` on wasm (which must leave no tensor behind),
   * to 1e-5 of the largest value (the same products as tfjs's kernels, in other orders).
   */
  async function compareWithCpu(
    [a, aShape]: [Float32Array, number[]],
    [b, bShape]: [Float32Array, number[]],
    reference: (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor4D,
    ours: (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor4D,
  ): Promise<void> {
    const run = (op: typeof ours) => () => {
      const at = tf.tensor4d(a, aShape as [number, number, number, number]);
      const bt = tf.tensor4d(b, bShape as [number, number, number, number]);
      const f = (x: tf.Tensor4D, y: tf.Tensor4D) => tf.sum(tf.square(op(x, y)));
      const { value, grads } = tf.valueAndGrads(f as (...t: tf.Tensor[]) => tf.Scalar)([at, bt]);
      return [op(at, bt), value, ...grads];
    };
    await tf.setBackend('cpu');
    const cpu = tf.tidy(run(reference)).map((t) => t.dataSync() as Float32Array);
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const wasm = tf.tidy(run(ours));
    expect(tf.memory().numTensors - before).toBe(wasm.length);
    for (let i = 0; i < 4; i++) {
      expect(relDiff(cpu[i]!, wasm[i]!.dataSync() as Float32Array)).toBeLessThan(1e-5);
    }
    tf.dispose(wasm);
  }

  it.each(wide)(
    'conv2d %i x %ix%ix%i -> %i, kernel %i, stride %i, %s: output and both gradients',
    (n, h, w, ci, co, k, s, pad) =>
      compareWithCpu(
        [random([n, h, w, ci]), [n, h, w, ci]],
        [random([k, k, ci, co]), [k, k, ci, co]],
        (a, b) => tf.conv2d(a, b, s, pad),
        (a, b) => conv2dSharingPatches(a, b, [s, s], pad)!,
      ),
  );

  it.each(wide)(
    'conv2dTranspose %i x %ix%ix%i <- %i, kernel %i, stride %i, %s: output and both gradients',
    (n, h, w, ci, co, k, s, pad) => {
      const [oh, ow] = [outSize(h, k, s, pad), outSize(w, k, s, pad)];
      const shape: [number, number, number, number] = [n, h, w, ci];
      return compareWithCpu(
        [random([n, oh, ow, co]), [n, oh, ow, co]],
        [random([k, k, ci, co]), [k, k, ci, co]],
        (a, b) => tf.conv2dTranspose(a, b, shape, s, pad),
        (a, b) => conv2dTransposeSharingPatches(a, b, shape, [s, s], pad)!,
      );
    },
  );

  it('builds each patch matrix once per training step', async () => {
    const x = tf.tensor4d(random([2, 14, 14, 16]), [2, 14, 14, 16]);
    const f1 = tf.tensor4d(random([3, 3, 16, 8]), [3, 3, 16, 8]);
    const f2 = tf.tensor4d(random([3, 3, 16, 8]), [3, 3, 16, 8]);
    const step = () =>
      tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
        const h = conv2dSharingPatches(a as tf.Tensor4D, b as tf.Tensor4D, [2, 2], 'same')!;
        const back = conv2dTransposeSharingPatches(
          h,
          c as tf.Tensor4D,
          [2, 14, 14, 16],
          [2, 2],
          'same',
        )!;
        return tf.sum(tf.square(back));
      })([x, f1, f2]);
    const { kernels } = await tf.profile(() => tf.dispose(step()));
    const count = (name: string) => kernels.filter((k) => k.name === name).length;
    // One in the forward convolution, one for the transposed one's gradient; no kernel that
    // builds another.
    expect(count('AekitPatches')).toBe(2);
    expect(count('Conv2D')).toBe(0);
    expect(count('Conv2DBackpropFilter')).toBe(0);
    tf.dispose([x, f1, f2]);
  });

  it('leaves grayscale images, other backends and products off BLAS to tfjs', async () => {
    const gray = tf.zeros([1, 6, 6, 1]) as tf.Tensor4D;
    const f = tf.zeros([3, 3, 1, 4]) as tf.Tensor4D;
    expect(conv2dSharingPatches(gray, f, [1, 1], 'same')).toBeUndefined();
    const back = tf.zeros([3, 3, 1, 4]) as tf.Tensor4D;
    const codes = tf.zeros([1, 3, 3, 4]) as tf.Tensor4D;
    expect(
      conv2dTransposeSharingPatches(codes, back, [1, 6, 6, 1], [2, 2], 'same'),
    ).toBeUndefined();
    const wide = tf.zeros([1, 6, 6, 4]) as tf.Tensor4D;
    const g = tf.zeros([3, 3, 4, 4]) as tf.Tensor4D;
    useWasmBlas(false);
    expect(conv2dSharingPatches(wide, g, [1, 1], 'same')).toBeUndefined();
    useWasmBlas(true);
    const y = conv2dSharingPatches(wide, g, [1, 1], 'same');
    expect(y?.shape).toEqual([1, 6, 6, 4]);
    // A patch matrix over 8M values (64 x 64 positions x 9 taps x 256 channels) is not kept.
    const large = tf.zeros([1, 64, 64, 256]) as tf.Tensor4D;
    const h = tf.zeros([3, 3, 256, 4]) as tf.Tensor4D;
    expect(conv2dSharingPatches(large, h, [1, 1], 'same')).toBeUndefined();
    const strided = conv2dSharingPatches(large, h, [2, 2], 'same');
    expect(strided?.shape).toEqual([1, 32, 32, 4]);
    tf.dispose([large, h, strided!]);
    tf.dispose([gray, f, back, codes, wide, g, y!]);
    await tf.setBackend('cpu');
    const onCpu = tf.zeros([1, 6, 6, 4]) as tf.Tensor4D;
    expect(conv2dSharingPatches(onCpu, tf.zeros([3, 3, 4, 4]), [1, 1], 'same')).toBeUndefined();
    await tf.setBackend('wasm');
  });
});

describe('max pooling that keeps where each largest value was', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });

  // [batch, height, width, channels, pool height, pool width]; odd sides leave inputs out
  // ('valid'), channel counts off multiples of 4 take the scalar tail.
  it.each([
    [2, 28, 28, 16, 2, 2],
    [3, 7, 7, 5, 2, 2],
    [1, 9, 8, 3, 3, 2],
    [2, 6, 6, 8, 3, 3],
    [1, 5, 7, 1, 1, 2],
    [2, 4, 4, 4, 4, 4],
  ] as const)(
    '%i x %ix%ix%i, window %ix%i: output and gradient as the cpu backend',
    async (n, h, w, c, ph, pw) => {
      // Values from a set of 5, so that windows hold ties: the first largest takes dy.
      const x = Float32Array.from(random([n, h, w, c]), (v) => Math.round(v * 2));
      const dyShape = [n, Math.floor(h / ph), Math.floor(w / pw), c];
      const weights = random(dyShape);
      const run = (pool: (a: tf.Tensor4D) => tf.Tensor4D) => () => {
        const xt = tf.tensor4d(x, [n, h, w, c]);
        const wt = tf.tensor(weights, dyShape);
        const g = tf.grad((a: tf.Tensor4D) => tf.sum(tf.mul(pool(a), wt)));
        return [pool(xt), g(xt)];
      };
      await tf.setBackend('cpu');
      const cpu = tf.tidy(run((a) => tf.maxPool(a, [ph, pw], [ph, pw], 'valid')));
      const expected = cpu.map((t) => t.dataSync() as Float32Array);
      tf.dispose(cpu);
      await tf.setBackend('wasm');
      const before = tf.memory().numTensors;
      const ours = tf.tidy(run((a) => maxPoolSharingArgmax(a, [ph, pw])!));
      expect(tf.memory().numTensors - before).toBe(2);
      // The largest values and whole dy values moved: equal, not close.
      expect(ours[0]!.dataSync()).toEqual(expected[0]);
      expect(ours[1]!.dataSync()).toEqual(expected[1]);
      tf.dispose(ours);
    },
  );

  it('runs its own kernels and no MaxPoolGrad; leaves other cases to tfjs', async () => {
    const x = tf.tensor4d(random([2, 6, 6, 4]), [2, 6, 6, 4]);
    const { kernels } = await tf.profile(() =>
      tf.dispose(tf.grad((a: tf.Tensor4D) => tf.sum(maxPoolSharingArgmax(a, [2, 2])!))(x)),
    );
    const names = kernels.map((k) => k.name);
    expect(names).toContain('AekitMaxPool');
    expect(names).toContain('AekitMaxPoolGrad');
    expect(names).not.toContain('MaxPool');
    expect(names).not.toContain('MaxPoolGrad');
    expect(maxPoolSharingArgmax(x, [7, 2])).toBeUndefined();
    await tf.setBackend('cpu');
    const onCpu = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
    expect(maxPoolSharingArgmax(onCpu, [2, 2])).toBeUndefined();
    onCpu.dispose();
    await tf.setBackend('wasm');
    x.dispose();
  });
});
