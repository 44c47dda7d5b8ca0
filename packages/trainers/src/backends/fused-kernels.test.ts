import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng } from '@aekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FusedAdamOptimizer } from '../engine/optimizers.js';
import { sigmoidCrossEntropyWithLogits } from '../layers.js';
import { CLANG, missing } from '../test-utils/requirements.js';
import {
  biasActivation,
  registerFusedKernels,
  SELU_SCALE,
  SELU_SCALE_ALPHA,
  SIGMOID_BCE_KERNEL,
} from './fused-kernels.js';

const rng = createRng(11, 'fused-kernels');
const uniform = (n: number, lo: number, hi: number) =>
  Float32Array.from({ length: n }, () => lo + (hi - lo) * rng());

beforeAll(async () => {
  registerFusedKernels();
  await tf.setBackend('wasm');
});

/** The loss and gradient in double precision, straight from the definition. */
function reference(x: Float32Array, z: Float32Array): { loss: number; grad: number[] } {
  let sum = 0;
  const grad: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const p = 1 / (1 + Math.exp(-x[i]!));
    // -z log p - (1 - z) log(1 - p), with log(1 - p) = log p - x
    const logP = -Math.log1p(Math.exp(-Math.abs(x[i]!))) + Math.min(x[i]!, 0);
    sum += -z[i]! * logP - (1 - z[i]!) * (logP - x[i]!);
    grad.push((p - z[i]!) / x.length);
  }
  return { loss: sum / x.length, grad };
}

describe.each(['wasm', 'cpu'])('fused sigmoid cross-entropy on %s', (backend) => {
  // Lengths around the 4-lane SIMD width, logits from tiny to saturated (|x| up to 100).
  for (const [n, range] of [
    [1, 3],
    [3, 30],
    [5, 0.01],
    [1027, 100],
    [200_704, 8],
  ] as const) {
    it(`matches the definition on ${n} values in [-${range}, ${range}]`, async () => {
      await tf.setBackend(backend);
      expect(tf.getKernel(SIGMOID_BCE_KERNEL, backend)).toBeDefined();
      const x = uniform(n, -range, range);
      const z = uniform(n, 0, 1);
      const want = reference(x, z);
      const logits = tf.tensor1d(x);
      const target = tf.tensor1d(z);
      const { value, grads } = tf.valueAndGrads((l: tf.Tensor) =>
        sigmoidCrossEntropyWithLogits(target, l),
      )([logits]);
      // float32 arithmetic with exp and log1p good to a few ulp: 1e-6 relative on the mean,
      // and 1e-6 on each gradient value times n (sigmoid(x) - z lies in [-1, 1]).
      expect(Math.abs(value.dataSync()[0]! - want.loss) / want.loss).toBeLessThan(1e-6);
      const got = grads[0]!.dataSync();
      let worst = 0;
      for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(got[i]! - want.grad[i]!) * n);
      expect(worst).toBeLessThan(1e-6);
      tf.dispose([logits, target, value, ...grads]);
    });
  }
});

describe.each(['wasm', 'cpu'])('FusedAdamOptimizer on %s', (backend) => {
  afterAll(() => tf.disposeVariables());

  it("takes tfjs's Adam steps (10 steps, 4 variables of odd sizes)", async () => {
    await tf.setBackend(backend);
    const shapes = [[7, 5], [5], [1], [3, 3]];
    const start = shapes.map((s) =>
      uniform(
        s.reduce((a, b) => a * b, 1),
        -1,
        1,
      ),
    );
    const targets = shapes.map((s) =>
      tf.tensor(
        uniform(
          s.reduce((a, b) => a * b, 1),
          -2,
          2,
        ),
        s,
      ),
    );
    const run = (optimizer: tf.Optimizer, prefix: string) => {
      const vars = shapes.map((s, i) =>
        tf.variable(tf.tensor(start[i]!, s), true, `${prefix}${i}`),
      );
      for (let step = 0; step < 10; step++) {
        optimizer.minimize(() =>
          tf.addN(vars.map((v, i) => tf.sum(tf.square(tf.sub(v, targets[i]!))))),
        );
      }
      return vars.map((v) => Array.from(v.dataSync()));
    };
    const fused = run(new FusedAdamOptimizer(0.05), 'fused');
    const plain = run(tf.train.adam(0.05, 0.9, 0.999), 'plain');
    // Targets lie beyond every start, so no gradient nears 0 (where Adam's normalised step
    // m/sqrt(v) amplifies rounding). tfjs keeps beta2^t in float32, where 1 - 0.999 comes
    // out 1.3e-5 too small; the fused step computes the powers in double, as PyTorch does.
    // That moves each step by about 3e-7 (lr 0.05 x half of 1.3e-5): 1e-5 after 10 steps
    // leaves room for that and nothing else (a wrong term would be off by 1e-2 or more).
    for (let i = 0; i < shapes.length; i++) {
      for (let j = 0; j < fused[i]!.length; j++) {
        expect(Math.abs(fused[i]![j]! - plain[i]![j]!)).toBeLessThan(1e-5);
      }
    }
  });

  // tfjs treats a tensor's buffer as fixed once written, and kernels cache by tensor: each
  // step must give the variable a new buffer, even where nothing else holds the old one; a
  // tensor sharing the buffer (a reshape, made without a copy) keeps its values, and the
  // step leaves no tensors.
  it('gives the variable a new buffer each step, and keeps no tensors', async () => {
    await tf.setBackend(backend);
    const init = tf.tensor1d(uniform(9, -1, 1));
    const x = tf.variable(init, true, `alias-${backend}`);
    init.dispose();
    const optimizer = new FusedAdamOptimizer(0.1);
    const loss = () => tf.sum(tf.square(tf.sub(x, 3)));
    optimizer.minimize(loss);
    const buffer = x.dataId;
    optimizer.minimize(loss);
    expect(x.dataId === buffer).toBe(false);
    const alias = tf.reshape(x, [3, 3]);
    const before = Array.from(alias.dataSync());
    const tensors = tf.memory().numTensors;
    optimizer.minimize(loss);
    optimizer.minimize(loss);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(Array.from(alias.dataSync())).toEqual(before);
    // Two steps of 0.1 towards 3 since the alias was made: x moved by about 0.2.
    const after = x.dataSync();
    for (let i = 0; i < 9; i++) expect(after[i]! - before[i]!).toBeGreaterThan(0.15);
    alias.dispose();
    optimizer.dispose();
  });
});

describe('the wasm Sum over leading axes (SIMD column sums)', () => {
  for (const [shape, axis, keepDims] of [
    [[256, 784], 0, false],
    [[7, 5], [0], true],
    [[3, 4, 5], [0, 1], false],
    [[3, 4, 5], [1, 0], true],
    [[2, 3, 6], 0, false],
    [[5, 3], 1, false],
    [[5, 3], [0, 1], false],
    [[4, 1, 3], -3, false],
  ] as [number[], number | number[], boolean][]) {
    it(`sum of ${shape.join('x')} over ${JSON.stringify(axis)}${keepDims ? ', keepDims' : ''} matches cpu`, async () => {
      const x = uniform(
        shape.reduce((a, b) => a * b, 1),
        -1,
        1,
      );
      const run = () => tf.sum(tf.tensor(x, shape), axis, keepDims);
      await tf.setBackend('cpu');
      const cpu = run();
      await tf.setBackend('wasm');
      const wasm = run();
      expect(wasm.shape).toEqual(cpu.shape);
      // Up to 256 float32 additions of values in [-1, 1] (partial sums up to about 16, where
      // float32 steps are 1e-6), in other orders: each addition may round by half a step.
      const [a, b] = [cpu.dataSync(), wasm.dataSync()];
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(2e-4);
    });
  }
});

// selu and elu and their slopes are at most 1.76 |x| and 1.76; exp is good to a few ulp: the
// values and dy times the slopes agree with the cpu backend to 1e-6 of max(1, |value|). Both
// gradients come from the output y (slope y + scale alpha where x <= 0), whose rounding (half
// a float32 step, 6e-8 for |y| < 2) is far inside that; they are also checked against the
// slope computed from x in float64 (scale alpha exp(x)), which does not use y at all.
describe.each([
  ['Selu', tf.selu, (x: number) => (x > 0 ? SELU_SCALE : SELU_SCALE_ALPHA * Math.exp(x))],
  ['Elu', tf.elu, (x: number) => (x > 0 ? 1 : Math.exp(x))],
] as const)('the wasm %s and its gradient (SIMD)', (_name, activation, slope) => {
  for (const [n, range] of [
    [1, 2],
    [7, 30],
    [1001, 5],
    [25_600, 100],
  ] as const) {
    it(`match cpu on ${n} values in [-${range}, ${range}]`, async () => {
      const x = uniform(n, -range, range);
      const dy = uniform(n, -1, 1);
      const run = () => {
        const { value, grads } = tf.valueAndGrads((t: tf.Tensor) =>
          tf.sum(tf.mul(activation(t), tf.tensor1d(dy))),
        )([tf.tensor1d(x)]);
        return [activation(tf.tensor1d(x)).dataSync(), grads[0]!.dataSync(), value.dataSync()];
      };
      await tf.setBackend('cpu');
      const cpu = run();
      await tf.setBackend('wasm');
      const wasm = run();
      for (const k of [0, 1]) {
        for (let i = 0; i < n; i++) {
          const scale = Math.max(1, Math.abs(cpu[k]![i]!));
          expect(Math.abs(cpu[k]![i]! - wasm[k]![i]!) / scale).toBeLessThan(1e-6);
        }
      }
      for (let i = 0; i < n; i++) {
        const exact = dy[i]! * slope(x[i]!);
        expect(Math.abs(wasm[1]![i]! - exact)).toBeLessThan(1e-6);
      }
    });
  }
});

// Pre-activations in [-3, 3], biases in [-1, 1], output gradients in [-1, 1]: values and
// gradients of z agree with tfjs's ops on cpu to 1e-6 of max(1, |value|) (as above); the bias
// gradients are sums of up to 100 such values, in other orders: 1e-5.
describe('biasActivation on wasm (SIMD)', () => {
  const tfjsActivation = { linear: (t: tf.Tensor) => t, relu: tf.relu, elu: tf.elu, selu: tf.selu };
  const shapes = [
    [5, 1],
    [7, 3],
    [4, 4],
    [3, 2, 2, 16],
    [9, 100],
    [2, 3, 3, 1],
    [1, 6],
  ];
  for (const activation of ['linear', 'relu', 'elu', 'selu'] as const) {
    it.each(shapes)(
      `${activation} on [%s, ...]: values and both gradients match cpu`,
      async (...shape) => {
        const size = shape.reduce((a, b) => a * b);
        const cols = shape.at(-1)!;
        const [z, b, dy] = [uniform(size, -3, 3), uniform(cols, -1, 1), uniform(size, -1, 1)];
        const run = (fused: boolean) =>
          tf.tidy(() => {
            const f = (zt: tf.Tensor, bt: tf.Tensor) => {
              const y = fused
                ? biasActivation(zt, bt, activation)!
                : tfjsActivation[activation](tf.add(zt, bt));
              return tf.sum(tf.mul(y, tf.tensor(dy, shape)));
            };
            const zt = tf.tensor(z, shape);
            const bt = tf.tensor1d(b);
            const y = fused
              ? biasActivation(zt, bt, activation)!
              : tfjsActivation[activation](tf.add(zt, bt));
            const grads = tf.grads(f as (...t: tf.Tensor[]) => tf.Scalar)([zt, bt]);
            return [y, ...grads].map((t) => t.dataSync());
          });
        await tf.setBackend('cpu');
        expect(biasActivation(tf.zeros(shape), tf.zeros([cols]), activation)).toBeUndefined();
        const cpu = run(false);
        await tf.setBackend('wasm');
        const wasm = run(true);
        for (const [k, tolerance] of [
          [0, 1e-6],
          [1, 1e-6],
          [2, 1e-5],
        ] as const) {
          expect(wasm[k]!.length).toBe(cpu[k]!.length);
          for (let i = 0; i < cpu[k]!.length; i++) {
            const scale = Math.max(1, Math.abs(cpu[k]![i]!));
            expect(Math.abs(cpu[k]![i]! - wasm[k]![i]!) / scale).toBeLessThan(tolerance);
          }
        }
      },
    );
  }

  it('takes one kernel forward and one backward, where tfjs takes an addition, the activation, its gradient and a sum', async () => {
    await tf.setBackend('wasm');
    const z = tf.tensor(uniform(8 * 5, -3, 3), [8, 5]);
    const b = tf.tensor1d(uniform(5, -1, 1));
    const profile = await tf.profile(() => {
      tf.dispose(
        tf.grads((zt: tf.Tensor, bt: tf.Tensor) => biasActivation(zt, bt, 'selu')!)(
          [z, b],
          tf.onesLike(z),
        ),
      );
    });
    const names = profile.kernels.map((k) => k.name);
    expect(names).toContain('AekitBiasActivation');
    expect(names).toContain('AekitBiasActivationGrad');
    for (const name of ['Add', 'Selu', 'AekitSeluGrad', 'Sum']) expect(names).not.toContain(name);
    tf.dispose([z, b]);
  });

  it('leaves activations whose gradient needs the input, and biases that are not one per channel, to tfjs', async () => {
    await tf.setBackend('wasm');
    const z = tf.zeros([2, 3]);
    expect(biasActivation(z, tf.zeros([3]), 'sigmoid')).toBeUndefined();
    expect(biasActivation(z, tf.zeros([1, 3]), 'relu')).toBeUndefined();
    expect(biasActivation(z, tf.zeros([2]), 'relu')).toBeUndefined();
    expect(biasActivation(tf.zeros([3]), tf.zeros([3]), 'relu')).toBeUndefined();
  });
});

describe('kernels.wasm', () => {
  const here = fileURLToPath(new URL('.', import.meta.url));
  // The committed binary is what kernels.c compiles to.
  it.skipIf(missing(CLANG))('is built from kernels.c as committed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aekit-wasm-'));
    try {
      execFileSync('node', [join(here, '../../scripts/build-wasm.mjs'), dir], { stdio: 'pipe' });
      for (const name of ['kernels.wasm', 'kernels-shared.wasm']) {
        expect(readFileSync(join(dir, name)).equals(readFileSync(join(here, 'simd', name)))).toBe(
          true,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
