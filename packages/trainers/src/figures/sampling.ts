/**
 * Samples for figures/samples.png, drawn as the variant's {@link SamplerSpec} says: codings
 * from the prior decoded, or the Markov chain of a generative stochastic network. Runtimes
 * sample the same way from the exported graphs (`aekit sample`).
 */
import { createRng, type SamplerSpec } from '@aekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { corrupt } from '../families/constraints/denoising.js';
import type { AutoencoderModel } from '../plugin.js';

/** Where samples come from, as a figure's title says it. */
export function samplerCaption(sampler: SamplerSpec): string {
  if (sampler.kind === 'prior') return 'codings drawn from the prior N(0, I), decoded';
  const noise =
    sampler.noise === 'gaussian'
      ? `Gaussian noise σ = ${sampler.noiseStd}`
      : `dropout noise p = ${sampler.noiseRate}`;
  return `last reconstructions of a ${sampler.steps}-step chain from uniform noise (${noise})`;
}

/**
 * `n` samples `[n * size(inputShape)]`, seeded: for a `prior` sampler, codings drawn from
 * N(0, I) and decoded; for a `chain` sampler, `n` images of uniform noise, then `steps` times:
 * corrupt them with the training noise, reconstruct, and (but for the last step) draw each
 * pixel from the Bernoulli distribution of its reconstruction. The last reconstructions are
 * the samples.
 */
export async function drawSamples(
  model: AutoencoderModel,
  sampler: SamplerSpec,
  n: number,
  shapes: { readonly inputShape: readonly number[]; readonly codingShape: readonly number[] },
  seed: number,
): Promise<Float32Array> {
  let out: tf.Tensor;
  if (sampler.kind === 'prior') {
    out = tf.tidy(() =>
      model.networks.decoder.predict(
        tf.randomNormal([n, ...shapes.codingShape], 0, 1, 'float32', seed),
      ),
    ) as tf.Tensor;
  } else {
    const rng = createRng(seed, 'chain');
    const next = () => Math.floor(rng() * 2 ** 31);
    let x = tf.randomUniform([n, ...shapes.inputShape], 0, 1, 'float32', next());
    for (let step = 1; step <= sampler.steps; step++) {
      const current = x;
      x = tf.tidy(() => {
        const reconstructed = model.reconstruct(corrupt(current, sampler, next()));
        if (step === sampler.steps) return reconstructed;
        const u = tf.randomUniform(reconstructed.shape, 0, 1, 'float32', next());
        return tf.cast(tf.less(u, reconstructed), 'float32');
      });
      current.dispose();
    }
    out = x;
  }
  const data = (await out.data()) as Float32Array;
  out.dispose();
  return data;
}
