import { defineDenseVariant } from '../../families/dense-autoencoder.js';

/** The stacked autoencoder trained greedily, one layer at a time. */
export const greedyVariant = defineDenseVariant({
  name: 'greedy',
  title: 'Greedy layer-wise autoencoder',
  description:
    'A stacked autoencoder trained one shallow autoencoder at a time (--epochs each; layer k learns the cached codings of the layers before it), then stacked and optionally fine-tuned (--fine-tune-epochs).',
  constraints: ['greedy'],
});
