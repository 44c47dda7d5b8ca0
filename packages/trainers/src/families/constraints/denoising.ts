import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { defineConstraint } from '../constraint.js';

/** The kinds of input noise. */
export const NOISES = ['gaussian', 'dropout'] as const;

/**
 * Corrupts `x` as the denoising constraint does in training: Gaussian noise of standard
 * deviation `std` added to every value, or each value switched off (set to 0, no rescaling,
 * so corrupted inputs stay in the data's range) with probability `rate`. Seeded.
 */
export function corrupt(
  x: tf.Tensor,
  noise: { noise: (typeof NOISES)[number]; noiseStd: number; noiseRate: number },
  seed: number,
): tf.Tensor {
  return tf.tidy(() =>
    noise.noise === 'gaussian'
      ? tf.add(x, tf.randomNormal(x.shape, 0, noise.noiseStd, 'float32', seed))
      : tf.mul(
          x,
          tf.cast(
            tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, 'float32', seed), noise.noiseRate),
            'float32',
          ),
        ),
  );
}

/** Noise on the inputs during training; the loss compares with the clean inputs. */
export const denoisingConstraint = defineConstraint({
  name: 'denoising',
  title: 'Denoising',
  description:
    'Noise on the inputs during training only (Gaussian, or values switched off); the loss compares the reconstruction with the clean inputs, so the model learns to remove the noise. Inference is deterministic.',
  options: {
    noise: z
      .enum(NOISES)
      .default('gaussian')
      .describe(
        'denoising: gaussian (add N(0, noise-std)) or dropout (switch values off with probability noise-rate)',
      ),
    noiseStd: z
      .number()
      .positive()
      .default(0.2)
      .describe('denoising: standard deviation of the Gaussian noise'),
    noiseRate: z
      .number()
      .gt(0)
      .lt(1)
      .default(0.5)
      .describe('denoising: probability that dropout noise switches an input value off'),
  },
  corrupt: (x, config, seed) => corrupt(x, config, seed) as tf.Tensor2D,
});
