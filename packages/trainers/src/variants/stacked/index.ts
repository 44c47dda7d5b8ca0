import { defineDenseVariant } from '../../families/dense-autoencoder.js';

/** The stacked (deep) autoencoder: symmetric dense layers, no constraint of its own. */
export const stackedVariant = defineDenseVariant({
  name: 'stacked',
  title: 'Stacked (deep) autoencoder',
  description:
    'A symmetric stack of dense layers: the encoder narrows to the codings, the decoder mirrors it back to the input. Sigmoid output and binary cross-entropy suit data in [0, 1]. Add constraints with --with (tied, greedy, denoising, sparse, contractive).',
  constraints: [],
});
