import { defineDenseVariant } from '../../families/dense-autoencoder.js';

/** The stacked autoencoder trained to remove noise from its inputs. */
export const denoisingVariant = defineDenseVariant({
  name: 'denoising',
  title: 'Denoising autoencoder',
  description:
    'A stacked autoencoder trained on noisy inputs (--noise gaussian --noise-std, or --noise dropout --noise-rate) to give back the clean ones; `aekit reconstruct` then denoises.',
  constraints: ['denoising'],
});

export { corrupt, NOISES } from '../../families/constraints/denoising.js';
