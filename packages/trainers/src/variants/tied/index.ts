import { defineDenseVariant } from '../../families/dense-autoencoder.js';

/** The stacked autoencoder with tied weights. */
export const tiedVariant = defineDenseVariant({
  name: 'tied',
  title: 'Tied-weights autoencoder',
  description:
    "A stacked autoencoder whose decoder layers use the transposes of the encoder's kernels (own biases): half the weights, same quality. Combine with --with denoising,sparse,...",
  constraints: ['tied'],
});

export { TiedDense } from '../../families/constraints/tied-dense.js';
