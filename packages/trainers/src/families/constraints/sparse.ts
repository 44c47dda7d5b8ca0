import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { defineConstraint } from '../constraint.js';

/** Default weight of each sparsity penalty. */
const DEFAULT_WEIGHT = { kl: 0.2, l1: 1e-3 } as const;

/**
 * KL divergence between a target activation `rho` and the mean activation of each coding
 * unit over the batch, summed over the units: sum_j rho log(rho / m_j) + (1 - rho) log((1 -
 * rho) / (1 - m_j)), with m_j clipped to [1e-7, 1 - 1e-7].
 */
export function klSparsity(codings: tf.Tensor2D, rho: number): tf.Scalar {
  return tf.tidy(() => {
    const m = tf.clipByValue(tf.mean(codings, 0), 1e-7, 1 - 1e-7);
    const kl = tf.add(
      tf.mul(rho, tf.log(tf.div(rho, m))),
      tf.mul(1 - rho, tf.log(tf.div(1 - rho, tf.sub(1, m)))),
    );
    return tf.sum(kl) as tf.Scalar;
  });
}

/** A sparsity penalty on the coding layer: KL divergence towards a target activation, or L1. */
export const sparseConstraint = defineConstraint({
  name: 'sparse',
  title: 'Sparse',
  description:
    'A sigmoid coding layer pushed towards a low mean activation: a KL-divergence penalty towards --sparsity-target (or an L1 penalty on the codings), logged apart from the reconstruction loss.',
  options: {
    sparsity: z
      .enum(['kl', 'l1'])
      .default('kl')
      .describe('sparse: kl (divergence from the target activation) or l1 (on the codings)'),
    sparsityTarget: z
      .number()
      .gt(0)
      .lt(1)
      .default(0.1)
      .describe('sparse: mean activation of each coding unit the KL penalty aims at'),
    sparsityWeight: z
      .number()
      .min(0)
      .optional()
      .describe('sparse: weight of the penalty (default 0.2 for kl, 0.001 for l1)'),
  },
  check: (config) =>
    config.sparsity === 'kl' &&
    config.codingActivation !== 'auto' &&
    config.codingActivation !== 'sigmoid'
      ? `the KL sparsity penalty needs a sigmoid coding layer (activations in (0, 1)), not --coding-activation ${config.codingActivation}.`
      : undefined,
  architecture: (arch) => ({ ...arch, codingActivation: 'sigmoid' }),
  penalties: (pass, config): Record<string, tf.Scalar> => {
    if (!pass.isCodingLayer) return {};
    const weight = config.sparsityWeight ?? DEFAULT_WEIGHT[config.sparsity];
    const penalty =
      config.sparsity === 'kl'
        ? klSparsity(pass.codings, config.sparsityTarget)
        : tf.div(tf.sum(tf.abs(pass.codings)), pass.codings.shape[0]);
    return { sparsity: tf.mul(weight, penalty) as tf.Scalar };
  },
});
