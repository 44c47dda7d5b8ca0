import { Dataset } from '@aekit/core';
import { z } from 'zod';
import { BACKEND_NAMES } from '../backends/index.js';
import { OPTIMIZERS } from './optimizers.js';

/** Training options common to every variant (the variant's own go in `options`). */
export const trainOptionsSchema = z
  .object({
    variant: z
      .string()
      .min(1)
      .optional()
      .describe('variant name, e.g. stacked (not needed with `resume`)'),
    options: z.record(z.string(), z.unknown()).default({}).describe("the variant's options"),
    data: z
      .union([z.string().min(1), z.instanceof(Dataset)])
      .optional()
      .describe(
        'built-in data set name, a data file path, or an in-memory Dataset (not needed with `resume`)',
      ),
    dataDir: z.string().optional().describe("folder holding a built-in data set's files"),
    limit: z.number().int().positive().optional().describe('use only the first N training samples'),
    validationSplit: z
      .number()
      .min(0)
      .lt(1)
      .default(0.1)
      .describe('fraction held out for validation'),
    normalize: z
      .enum(['auto', 'none', 'unit', 'minmax', 'standard'])
      .default('auto')
      .describe('input normalisation'),
    header: z
      .enum(['yes', 'no', 'auto'])
      .default('auto')
      .describe(
        "whether a CSV file's first row is a header (auto: when none of its cells is a number)",
      ),
    binarize: z
      .number()
      .gt(0)
      .lt(1)
      .optional()
      .describe('set values above this threshold (after normalisation) to 1, the others to 0'),
    epochs: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        "epochs to train; with `resume`, the total to reach (default: 10, or the run's own)",
      ),
    batchSize: z.number().int().positive().default(32),
    optimizer: z.enum(Object.keys(OPTIMIZERS) as [keyof typeof OPTIMIZERS]).default('adam'),
    learningRate: z
      .number()
      .positive()
      .optional()
      .describe("defaults to the optimiser's usual rate"),
    seed: z.number().int().default(42),
    backend: z.enum(BACKEND_NAMES).default('auto'),
    patience: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe('early stopping: epochs without validation improvement (0: off)'),
    minDelta: z
      .number()
      .nonnegative()
      .default(0)
      .describe('early stopping: smallest improvement that counts'),
    out: z.string().min(1).describe('run directory'),
    resume: z
      .boolean()
      .default(false)
      .describe('continue the run in `out` from its last checkpoint'),
    overwrite: z.boolean().default(false).describe('replace a run already in `out`'),
    figures: z
      .boolean()
      .default(true)
      .describe('draw figures/reconstructions.png and figures/loss.png'),
    plugins: z
      .array(z.string())
      .optional()
      .describe(
        'modules that registered the variant (recorded in the manifest, so that later commands import them)',
      ),
  })
  .strict();

/** Options of {@link train} as a caller writes them. */
export type TrainOptions = z.input<typeof trainOptionsSchema>;
/** Options of {@link train} with defaults filled in. */
export type ResolvedTrainOptions = z.output<typeof trainOptionsSchema>;
