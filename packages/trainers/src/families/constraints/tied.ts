import { defineConstraint } from '../constraint.js';
import { TiedDense } from './tied-dense.js';

/** Tied weights: each decoder layer multiplies by its mirror encoder layer's kernel, transposed. */
export const tiedConstraint = defineConstraint({
  name: 'tied',
  title: 'Tied weights',
  description:
    "The decoder's weights are the transposes of the encoder's (each decoder layer keeps its own bias): about half the weights, and a decoder that cannot drift from the encoder.",
  options: {},
  architecture: (arch) => ({
    ...arch,
    decoderLayer: ({ units, activation, name, mirror, inputShape }) =>
      new TiedDense({ units, activation, name, mirror, ...(inputShape ? { inputShape } : {}) }),
  }),
});
