import { defineTfjsVariant } from '../../plugin.js';
import { buildLinear } from './model.js';
import { linearOptions } from './spec.js';

/** The linear autoencoder: one linear layer each way, MSE. It learns the PCA subspace. */
export const linearVariant = defineTfjsVariant({
  name: 'linear',
  title: 'Linear autoencoder (PCA)',
  description:
    'A linear encoder and a linear decoder trained with mean squared error. Its codings span the same subspace as the top principal components, so it performs PCA.',
  options: linearOptions,
  capabilities: [],
  trainer: { build: buildLinear, outputActivation: () => 'linear' },
});

export type { LinearConfig } from './spec.js';
export { linearOptions } from './spec.js';
