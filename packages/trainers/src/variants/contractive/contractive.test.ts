import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../backends/index.js';
import { jacobianNormSquared } from '../../families/constraints/contractive.js';
import { tempDir } from '../../test-utils/index.js';
import { mnistTest, runModel, trainMnist } from '../../test-utils/mnist.js';

const dir = tempDir();
beforeAll(() => selectBackend('wasm'));

/** ||J||² of `f` at each row of `x`, by central differences, averaged over the rows. */
function numericNorm(f: (x: tf.Tensor2D) => tf.Tensor, x: number[][], eps = 1e-2): number {
  let sum = 0;
  x.forEach((row, b) => {
    row.forEach((_, i) => {
      const plus = x.map((r) => [...r]);
      const minus = x.map((r) => [...r]);
      plus[b]![i]! += eps;
      minus[b]![i]! -= eps;
      const d = tf.tidy(() =>
        tf.div(tf.sub(f(tf.tensor2d(plus)), f(tf.tensor2d(minus))), 2 * eps).arraySync(),
      ) as number[][];
      for (const v of d[b]!) sum += v * v;
    });
  });
  return sum / x.length;
}

describe('contractive', () => {
  for (const [activation, depth] of [
    ['sigmoid', 1],
    ['sigmoid', 2],
    ['selu', 2],
    ['elu', 2],
    ['tanh', 3],
  ] as const) {
    it(`computes ||J||² exactly: ${depth} ${activation} layer(s) agree with finite differences`, () => {
      const layers = Array.from({ length: depth }, (_, i) =>
        tfl.layers.dense({
          units: [6, 4, 3][i]!,
          activation,
          kernelInitializer: tfl.initializers.glorotUniform({ seed: 5 + i }),
          biasInitializer: tfl.initializers.randomNormal({ stddev: 0.5, seed: 9 + i }),
          ...(i === 0 ? { inputShape: [7] } : {}),
        }),
      );
      tfl.sequential({ layers });
      const x = tf.randomNormal([3, 7], 0, 1, 'float32', 11).arraySync() as number[][];
      const exact = jacobianNormSquared(layers, tf.tensor2d(x)).dataSync()[0]!;
      const f = (t: tf.Tensor2D) =>
        layers.reduce((h, l) => l.apply(h) as tf.Tensor, t as tf.Tensor);
      // Central differences in float32 with step 1e-3: truncation ~1e-6 and rounding ~1e-4
      // relative; SELU's kink at 0 is a rare extra error (seeded weights keep it away).
      expect(Math.abs(exact - numericNorm(f, x, 1e-3)) / exact).toBeLessThan(2e-3);
    });
  }

  it('the penalty falls in training, and codings of nearby inputs move much less than without it', async () => {
    const settings = { limit: 5000, epochs: 3 };
    const cae = await trainMnist(`${dir}/cae`, 'contractive', settings);
    const plain = await trainMnist(`${dir}/plain`, 'stacked', settings);
    const penalty = cae.metrics.map((m) => m.contractive!);
    expect(penalty[2]).toBeLessThan(penalty[0]!);

    // Sensitivity: how far codings move when the input gets noise of std 0.05, relative to
    // how far apart the codings of different test digits are (relative, because the penalty
    // also shrinks the codings' overall scale: raw movement falls about 20x).
    const sensitivity = (run: string) => {
      const model = runModel(run);
      return tf.tidy(() => {
        const x = mnistTest(500);
        const codings = model.encode(x);
        const moved = tf.mean(
          tf.norm(
            tf.sub(
              model.encode(tf.add(x, tf.randomNormal(x.shape, 0, 0.05, 'float32', 3))),
              codings,
            ),
            'euclidean',
            1,
          ),
        );
        const other = tf.concat([
          tf.slice(codings, [250, 0]),
          tf.slice(codings, [0, 0], [250, -1]),
        ]);
        const apart = tf.mean(tf.norm(tf.sub(other, codings), 'euclidean', 1));
        return tf.div(moved, apart).dataSync()[0]!;
      });
    };
    const withPenalty = sensitivity(cae.run);
    const without = sensitivity(plain.run);
    console.log(
      `[contractive] relative coding movement ${withPenalty.toFixed(4)} vs ${without.toFixed(4)} without the penalty`,
    );
    // Measured 0.58 (0.019 vs 0.033) at the default weight 0.01, and 0.59-0.62 for weights
    // 0.003-0.03 on this data; 0.8 leaves room for run-to-run variation while still
    // requiring a clear reduction.
    expect(withPenalty / without).toBeLessThan(0.8);
  });
});
