import { z } from 'zod';
import { denseOptionFields, LOSSES } from '../../layers.js';

/** Options of the stacked autoencoder. */
export const stackedOptions = z
  .object({
    layers: z
      .array(z.number().int().positive())
      .min(1)
      .default([100, 30])
      .describe(
        'encoder layer sizes, the last is the coding size; 100,30 means 784-100-30-100-784',
      ),
    ...denseOptionFields,
    loss: z
      .enum(LOSSES)
      .default('bce')
      .describe('reconstruction loss: bce for data in [0, 1], mse otherwise'),
    outputActivation: z
      .enum(['sigmoid', 'linear'])
      .default('sigmoid')
      .describe('activation of the reconstruction: sigmoid for data in [0, 1], linear otherwise'),
  })
  .strict();

/** Validated options of the stacked autoencoder. */
export type StackedConfig = z.output<typeof stackedOptions>;
