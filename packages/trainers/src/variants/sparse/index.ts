import { defineDenseVariant } from '../../families/dense-autoencoder.js';

/** The stacked autoencoder with a sparse coding layer. */
export const sparseVariant = defineDenseVariant({
  name: 'sparse',
  title: 'Sparse autoencoder',
  description:
    'A stacked autoencoder with a sigmoid coding layer whose units are pushed to be mostly off: a KL-divergence penalty towards --sparsity-target (default 0.1), or --sparsity l1.',
  constraints: ['sparse'],
});

export { klSparsity } from '../../families/constraints/sparse.js';
