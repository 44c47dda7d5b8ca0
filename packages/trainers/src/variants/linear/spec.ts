import { z } from 'zod';

/** Options of the linear autoencoder. */
export const linearOptions = z
  .object({
    codingSize: z
      .number()
      .int()
      .positive()
      .default(2)
      .describe('number of codings (principal components learned)'),
  })
  .strict();

/** Validated options of the linear autoencoder. */
export type LinearConfig = z.output<typeof linearOptions>;
