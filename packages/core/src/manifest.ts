import { z } from 'zod';
import { CHECK_SAMPLE_SOURCES, PRECISIONS } from './exported-model.js';
import { NORMALIZATION_KINDS } from './normalization.js';

const normalizationSchema = z.object({
  kind: z.enum(NORMALIZATION_KINDS),
  scale: z.union([z.number(), z.array(z.number())]),
  offset: z.union([z.number(), z.array(z.number())]),
});

/** Where the training data came from, enough to load it again (and its test split). */
export const dataSourceSchema = z.object({
  /** Built-in name (`mnist`, `fashion-mnist`) or a file path. */
  source: z.string(),
  dataDir: z.string().optional(),
  limit: z.number().int().positive().optional(),
  validationSplit: z.number().min(0).lt(1),
  normalize: z.enum(NORMALIZATION_KINDS),
  header: z.enum(['yes', 'no']).optional(),
  /** Values above this threshold (after normalisation) became 1, the others 0. */
  binarize: z.number().gt(0).lt(1).optional(),
  /** sha256 of the training samples as read (before normalisation). */
  fingerprint: z.string(),
  trainCount: z.number().int().nonnegative(),
  validationCount: z.number().int().nonnegative(),
});

/**
 * Where the samples of an export's parity check came from (see `CHECK_SAMPLE_SOURCES` in
 * `exported-model.ts`).
 */
export const checkSampleSourceSchema = z.enum(CHECK_SAMPLE_SOURCES);

/** The parity check of an export: how many samples, where from, the largest difference. */
export const exportCheckSchema = z.object({
  samples: z.number().int().positive(),
  from: checkSampleSourceSchema,
  /** Largest |ONNX Runtime - TensorFlow.js| over every graph, sample and output. */
  maxAbsDiff: z.number().nonnegative(),
});

/** Summary of one epoch, one line of metrics.jsonl. */
export const epochMetricsSchema = z
  .object({
    epoch: z.number().int().positive(),
    loss: z.number(),
    valLoss: z.number().optional(),
    seconds: z.number(),
    samplesPerSecond: z.number(),
  })
  .catchall(z.number());

/** A file aekit wrote into a run: its sha256 (hex) and size, checked when it is read back. */
export const runFileSchema = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
});

/** One entry of {@link RunFileRecord}. */
export type RunFileRecord = z.infer<typeof runFileSchema>;

/**
 * A resumption of a run: when, from which epoch, and the settings it changed (each as
 * `{ from, to }`), e.g. `{ epochs: { from: 5, to: 10 } }`.
 */
export const resumeEntrySchema = z.object({
  at: z.string(),
  fromEpoch: z.number().int().nonnegative(),
  changed: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })),
});

/** The run manifest: everything needed to reload, evaluate, export and serve a run. */
export const manifestSchema = z.object({
  format: z.literal('aekit-run/1'),
  variant: z.string(),
  /** Plugin modules (package names or absolute paths) to import for the variant, if not built in. */
  plugins: z.array(z.string()).optional(),
  /** The variant's validated options. */
  options: z.record(z.string(), z.unknown()),
  training: z.object({
    epochs: z.number().int().positive(),
    batchSize: z.number().int().positive(),
    optimizer: z.string(),
    learningRate: z.number().positive(),
    seed: z.number().int(),
    backend: z.string(),
    earlyStoppingPatience: z.number().int().nonnegative().optional(),
    earlyStoppingMinDelta: z.number().nonnegative().optional(),
  }),
  inputShape: z.array(z.number().int().positive()),
  codingShape: z.array(z.number().int().positive()),
  normalization: normalizationSchema,
  data: dataSourceSchema,
  /** Model files, relative to the run directory, by network name (encoder, decoder, …). */
  networks: z.record(z.string(), z.string()),
  status: z.enum(['running', 'completed', 'stopped-early', 'interrupted', 'failed']),
  /** What `aekit export` wrote (onnx/), once it has run. */
  onnx: z
    .object({
      files: z.array(z.string()),
      opset: z.number().int().positive(),
      maxAbsDiff: z.number().nonnegative(),
      /** The samples the check ran on (absent in runs exported before it was recorded). */
      check: exportCheckSchema.optional(),
      /** The precision of the weights written (absent: fp32). */
      precision: z.enum(PRECISIONS).optional(),
      exportedAt: z.string(),
    })
    .optional(),
  epochsCompleted: z.number().int().nonnegative(),
  /** The phases of a training in phases (greedy layer-wise), in order, with their epochs. */
  phases: z
    .array(z.object({ name: z.string(), epochs: z.number().int().nonnegative() }))
    .optional(),
  metrics: z.record(z.string(), z.number()).optional(),
  /**
   * Set on a classifier run (`aekit classify`): the variant's encoder with a softmax head,
   * trained on labelled samples, starting from a pretrained run's weights or from scratch.
   */
  classifier: z
    .object({
      /** The run whose encoder was pretrained, or null when trained from scratch. */
      pretrained: z.string().nullable(),
      /** Which encoder layers kept their weights: all, none, or the first N. */
      freeze: z.union([z.literal('all'), z.literal('none'), z.number().int().nonnegative()]),
      labelsFraction: z.number().gt(0).max(1),
      /** Labelled training samples used. */
      labelled: z.number().int().positive(),
      /** The label of each output, in order. */
      classes: z.array(z.number().int()),
      /** Share of the labelled samples held out for the validation loss (absent: none). */
      validationSplit: z.number().gt(0).lt(1).optional(),
    })
    .optional(),
  versions: z.record(z.string(), z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
  /**
   * Every file aekit wrote into the run, relative to it, with its sha256: loading checks
   * them, and `--overwrite` removes these (never a file aekit did not write).
   */
  files: z.record(z.string(), runFileSchema).optional(),
  /** Each `--resume` of the run, in order. */
  history: z.array(resumeEntrySchema).optional(),
});

/** The run manifest (manifest.json). */
export type RunManifest = z.infer<typeof manifestSchema>;
/** One line of metrics.jsonl. */
export type EpochMetrics = z.infer<typeof epochMetricsSchema>;
/** The data description inside a manifest. */
export type DataSource = z.infer<typeof dataSourceSchema>;
