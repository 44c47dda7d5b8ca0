import { defineTfjsVariant } from '../../plugin.js';
import { buildStacked } from './model.js';
import { stackedOptions } from './spec.js';

/** The stacked (deep) autoencoder: symmetric dense layers. */
export const stackedVariant = defineTfjsVariant({
  name: 'stacked',
  title: 'Stacked (deep) autoencoder',
  description:
    'A symmetric stack of dense layers: the encoder narrows to the codings, the decoder mirrors it back to the input. Sigmoid output and binary cross-entropy suit data in [0, 1].',
  options: stackedOptions,
  capabilities: [],
  trainer: { build: buildStacked, outputActivation: (config) => config.outputActivation },
});

export type { StackedConfig } from './spec.js';
export { stackedOptions } from './spec.js';
