import type { ConstraintConfig } from '../../families/constraint.js';
import type { denoisingConstraint } from '../../families/constraints/denoising.js';
import { defineDenseVariant } from '../../families/dense-autoencoder.js';

/** Steps of the sampling chain when the caller gives none. */
export const GSN_CHAIN_STEPS = 30;

type NoiseConfig = ConstraintConfig<(typeof denoisingConstraint)['options']>;

/**
 * A generative stochastic network in the sense of Bengio et al. (2013): a denoising
 * autoencoder whose corruption-reconstruction process, run as a Markov chain, generates.
 */
export const gsnVariant = defineDenseVariant({
  name: 'gsn',
  title: 'Generative stochastic network',
  description:
    'A denoising autoencoder (--noise gaussian|dropout, as the denoising variant) used as a generator: `aekit sample` starts from uniform noise and runs the Markov chain the training defines, each step corrupting the current images with the training noise, reconstructing them and drawing binary pixels from the reconstruction (Bengio et al. 2013, generalised denoising autoencoders). The last reconstructions are the samples.',
  constraints: ['denoising'],
  capabilities: ['sample'],
  sampler: (config) => {
    const noise = config as unknown as NoiseConfig;
    return {
      kind: 'chain',
      noise: noise.noise,
      noiseStd: noise.noiseStd,
      noiseRate: noise.noiseRate,
      steps: GSN_CHAIN_STEPS,
    };
  },
});
