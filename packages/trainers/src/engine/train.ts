import { resolve } from 'node:path';
import {
  aekitError,
  Dataset,
  type EpochMetrics,
  formatIssues,
  getVariant,
  parseVariantOptions,
  type RunManifest,
  toFlag,
} from '@aekit/core';
import { BUILTIN_DATASETS, loadDataset, RunDirectory } from '@aekit/core/node';
import { selectBackend } from '../backends/index.js';
import { drawRunFigures, FIGURE_SAMPLES } from '../figures/index.js';
import { networkDir } from '../model/io.js';
import { asTfjsPlugin, disposeNetworks, type TfjsVariantPlugin } from '../plugin.js';
import { type ResolvedTrainOptions, type TrainOptions, trainOptionsSchema } from './config.js';
import { checkInputRange, loadRunData } from './data.js';
import type { TrainListener } from './events.js';
import { type FitCallbacks, fitSchedule } from './fit.js';
import { buildWithinMemory } from './model-size.js';
import { createOptimizer, OPTIMIZERS } from './optimizers.js';
import { fitInRun } from './run-fit.js';
import { packageVersions } from './versions.js';

/** What {@link train} returns. */
export interface TrainResult {
  /** Absolute path of the run directory. */
  readonly run: string;
  readonly manifest: RunManifest;
  readonly metrics: readonly EpochMetrics[];
}

function resolveOptions(input: TrainOptions): ResolvedTrainOptions {
  const parsed = trainOptionsSchema.safeParse(input);
  if (!parsed.success) throw aekitError('InvalidTrainingOptions', formatIssues(parsed.error));
  return parsed.data;
}

/** The samples the figures show: the first test images when the data set has a test split. */
function figureSamples(manifest: RunManifest, validation: Dataset): Dataset {
  const { source, dataDir } = manifest.data;
  if (!(source in BUILTIN_DATASETS)) return validation;
  return loadDataset({
    source,
    split: 'test',
    limit: FIGURE_SAMPLES,
    normalization: manifest.normalization,
    ...(dataDir ? { dataDir } : {}),
  }).dataset;
}

/** The listener's progress events of a run (`phase`, `epoch-start`, `batch`) from `fit`'s. */
function progressCallbacks(
  listener: TrainListener,
  multiPhase: boolean,
): Omit<FitCallbacks, 'onEpochEnd'> {
  return {
    onPhaseStart: ({ phase, phases, name }) => {
      if (multiPhase) listener({ type: 'phase', phase, phases, name });
    },
    onEpochStart: ({ epoch, epochs }) => listener({ type: 'epoch-start', epoch, epochs }),
    onBatchEnd: (e) => listener({ type: 'batch', ...e }),
  };
}

/** A value as a user wrote it, for messages. */
const shown = (v: unknown): string => (typeof v === 'string' ? `"${v}"` : JSON.stringify(v));

/** The same value, compared as JSON (option arrays included). */
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * On resume, what the caller gave that differs from the run: settings a run keeps for its
 * whole life (variant and its options, data, batch size, optimiser, seed) fail with
 * `ResumeConflict` listing each; those that may change (epochs, early stopping, learning
 * rate, backend) are returned as `{ from, to }` for the manifest's history. A setting given
 * with the run's own value is no change.
 */
function resumeChanges(
  root: string,
  input: TrainOptions,
  opts: ResolvedTrainOptions,
  previous: RunManifest,
  plugin: TfjsVariantPlugin,
): Record<string, { from: unknown; to: unknown }> {
  const conflicts: string[] = [];
  const fixed = (flag: string, given: unknown, recorded: unknown) => {
    if (given !== undefined && !same(given, recorded)) {
      conflicts.push(`${flag} ${shown(given)}: the run has ${shown(recorded ?? 'none')}`);
    }
  };
  const src = previous.data;
  fixed('--variant', input.variant, previous.variant);
  const given = input.options ?? {};
  if (Object.keys(given).length > 0) {
    // Compared after parsing, so that "--layers 100,30" matches the recorded [100, 30].
    const parsed = parseVariantOptions(plugin, { ...previous.options, ...given }) as Record<
      string,
      unknown
    >;
    for (const key of Object.keys(given)) {
      fixed(`--${toFlag(key)}`, parsed[key], previous.options[key]);
    }
  }
  if (input.data instanceof Dataset) fixed('data', `memory:${input.data.name}`, src.source);
  else if (input.data !== undefined) {
    const file = (p: string) => (p in BUILTIN_DATASETS ? p : resolve(p));
    if (file(input.data) !== file(src.source)) fixed('--data', input.data, src.source);
  }
  if (input.dataDir !== undefined && resolve(input.dataDir) !== resolve(src.dataDir ?? '')) {
    fixed('--data-dir', input.dataDir, src.dataDir);
  }
  // A limit at or above the data's size cut nothing, as no limit did.
  const total = src.trainCount + src.validationCount;
  if (!(src.limit === undefined && input.limit !== undefined && input.limit >= total)) {
    fixed('--limit', input.limit, src.limit);
  }
  fixed('--validation-split', input.validationSplit, src.validationSplit);
  if (input.normalize !== 'auto') fixed('--normalize', input.normalize, src.normalize);
  fixed('--binarize', input.binarize, src.binarize);
  // Recorded for CSV files only (whether their first row was a header).
  if (input.header !== 'auto' && src.header !== undefined)
    fixed('--header', input.header, src.header);
  fixed('--batch-size', input.batchSize, previous.training.batchSize);
  fixed('--optimizer', input.optimizer, previous.training.optimizer);
  fixed('--seed', input.seed, previous.training.seed);
  if (conflicts.length > 0) throw aekitError('ResumeConflict', root, conflicts);

  const changed: Record<string, { from: unknown; to: unknown }> = {};
  const may = (name: string, given: unknown, recorded: unknown) => {
    if (given !== undefined && !same(given, recorded))
      changed[name] = { from: recorded, to: given };
  };
  may('epochs', opts.epochs, previous.training.epochs);
  may('learningRate', input.learningRate, previous.training.learningRate);
  may('patience', input.patience, previous.training.earlyStoppingPatience ?? 0);
  may('minDelta', input.minDelta, previous.training.earlyStoppingMinDelta ?? 0);
  may('backend', input.backend === 'auto' ? undefined : input.backend, previous.training.backend);
  return changed;
}

/**
 * The training settings of a run: a new run's from the options; a resumed run's are those
 * it recorded, with the changes {@link resumeChanges} allowed applied (so resuming reads
 * the run once instead of merging each setting with the caller's).
 */
function trainingSettings(
  opts: ResolvedTrainOptions,
  previous: RunManifest | undefined,
  changed: Readonly<Record<string, { from: unknown; to: unknown }>>,
): RunManifest['training'] {
  const early = (patience: number, minDelta: number) => ({
    ...(patience > 0 ? { earlyStoppingPatience: patience } : {}),
    ...(patience > 0 && minDelta > 0 ? { earlyStoppingMinDelta: minDelta } : {}),
  });
  if (!previous) {
    return {
      epochs: opts.epochs ?? 10,
      batchSize: opts.batchSize,
      optimizer: opts.optimizer,
      learningRate: opts.learningRate ?? OPTIMIZERS[opts.optimizer].defaultLearningRate,
      seed: opts.seed,
      backend: opts.backend,
      ...early(opts.patience, opts.minDelta),
    };
  }
  const { earlyStoppingPatience, earlyStoppingMinDelta, ...t } = previous.training;
  const to = <T>(name: string, recorded: T): T =>
    name in changed ? (changed[name]!.to as T) : recorded;
  return {
    ...t,
    epochs: to('epochs', t.epochs),
    learningRate: to('learningRate', t.learningRate),
    backend: opts.backend,
    ...early(
      to('patience', earlyStoppingPatience ?? 0),
      to('minDelta', earlyStoppingMinDelta ?? 0),
    ),
  };
}

/**
 * Trains a variant and writes its run directory: manifest.json, metrics.jsonl (one line per
 * epoch), checkpoints/last.ckpt (every epoch), model/ (tfjs layers artifacts of each
 * network) and figures/. With `resume`, continues from the last checkpoint of `out` and
 * ends where an uninterrupted run with the same seed would.
 */
export async function train(
  input: TrainOptions,
  listener: TrainListener = () => {},
  signal?: AbortSignal,
): Promise<TrainResult> {
  const opts = resolveOptions(input);
  if (opts.resume && opts.overwrite) {
    throw aekitError(
      'InvalidTrainingOptions',
      '  resume, overwrite: give one: --resume continues the run in --out, --overwrite replaces it.',
    );
  }
  const run = new RunDirectory(opts.out);
  // One writer per run: a second `aekit train` (or a resume, or an export) on the same
  // folder fails with RunLocked while this one runs.
  const release = run.lock();
  try {
    return await trainLocked(run, input, opts, listener, signal);
  } finally {
    release();
  }
}

async function trainLocked(
  run: RunDirectory,
  input: TrainOptions,
  opts: ResolvedTrainOptions,
  listener: TrainListener,
  signal: AbortSignal | undefined,
): Promise<TrainResult> {
  let previous: RunManifest | undefined;
  if (opts.resume) {
    if (!run.exists()) throw aekitError('NothingToResume', run.root);
    previous = run.readManifest();
    // Temporary files of writes that a killed run left behind.
    run.removeLeftovers();
  } else {
    // Before the data is read: a folder that cannot take the run says so at once.
    run.checkCreate(opts.overwrite);
  }
  const variantName = previous?.variant ?? opts.variant;
  if (!variantName)
    throw aekitError('InvalidTrainingOptions', '  variant: required when not resuming a run.');
  if (!previous && opts.data === undefined)
    throw aekitError('InvalidTrainingOptions', '  data: required when not resuming a run.');
  const plugin = asTfjsPlugin(getVariant(variantName));
  const config = parseVariantOptions(plugin, previous?.options ?? opts.options);
  const changed = previous ? resumeChanges(run.root, input, opts, previous, plugin) : {};
  const data = loadRunData(opts, previous);
  for (const message of data.notices) listener({ type: 'notice', message });
  checkInputRange(data, plugin.name, plugin.trainer.inputRange?.(config));
  const training = trainingSettings(opts, previous, changed);
  const patience = training.earlyStoppingPatience ?? 0;
  const minDelta = training.earlyStoppingMinDelta ?? 0;
  if (patience > 0 && data.validation.count === 0) {
    throw aekitError(
      'InvalidTrainingOptions',
      '  --patience: early stopping watches the validation loss; give a --validation-split above 0.',
    );
  }
  if (data.train.count < 1) throw aekitError('EmptyDataset', 'The training split is empty.');
  if (previous && 'learningRate' in changed) {
    listener({
      type: 'notice',
      message: `The learning rate changes from ${previous.training.learningRate} to ${training.learningRate} from epoch ${previous.epochsCompleted + 1} on (recorded in manifest.json's history).`,
    });
  }
  const backend = await selectBackend(opts.backend);

  const inputShape = [...data.train.sampleShape];
  const model = buildWithinMemory(
    plugin,
    { config, inputShape, seed: training.seed },
    backend.name,
  );
  if (model.steps && model.phases) {
    throw new TypeError(`Variant "${plugin.name}" gives both phases and steps; give one.`);
  }
  const networkEntries = Object.entries(model.networks);
  const codingShape = (model.networks.encoder.outputs[0]!.shape.slice(1) as number[]).map(
    (d) => d ?? 1,
  );
  // Only now, with the data read and the model built, does a new run touch the folder.
  if (!opts.resume) {
    try {
      run.create(opts.overwrite);
    } catch (err) {
      disposeNetworks(model.networks);
      throw err;
    }
  }
  const now = new Date().toISOString();
  const manifest: RunManifest = {
    format: 'aekit-run/1',
    variant: plugin.name,
    ...((previous?.plugins ?? opts.plugins)?.length
      ? { plugins: previous?.plugins ?? opts.plugins }
      : {}),
    options: config as Record<string, unknown>,
    training: { ...training, backend: backend.name },
    inputShape,
    codingShape,
    normalization: data.train.normalization as RunManifest['normalization'],
    data: data.source,
    networks: Object.fromEntries(networkEntries.map(([name]) => [name, networkDir(name)])),
    status: 'running',
    epochsCompleted: 0,
    versions: packageVersions(),
    createdAt: previous?.createdAt ?? now,
    updatedAt: now,
    ...(previous?.files ? { files: previous.files } : {}),
    ...(previous
      ? {
          history: [
            ...(previous.history ?? []),
            { at: now, fromEpoch: previous.epochsCompleted, changed },
          ],
        }
      : {}),
  };

  // The phases of a training in phases (greedy layer-wise), each with its epochs.
  const schedule = fitSchedule(model, training.epochs);
  const multiPhase = model.phases !== undefined;
  if (multiPhase && patience > 0) {
    throw aekitError(
      'InvalidTrainingOptions',
      `  --patience: early stopping watches one validation loss; variant "${plugin.name}" trains in ${schedule.length} phases.`,
    );
  }
  const totalEpochs = schedule.reduce((n, p) => n + p.epochs, 0);
  if (multiPhase) manifest.phases = schedule.map((p) => ({ name: p.name, epochs: p.epochs }));

  try {
    const { lines: metrics } = await fitInRun(
      run,
      manifest,
      model,
      previous !== undefined,
      {
        data: data.train,
        validation: data.validation,
        epochs: training.epochs,
        batchSize: training.batchSize,
        seed: training.seed,
        optimizer: () => createOptimizer(training.optimizer, training.learningRate),
        patience,
        minDelta,
        ...(signal ? { signal } : {}),
      },
      {
        callbacks: progressCallbacks(listener, multiPhase),
        started: (from) =>
          listener({
            type: 'start',
            backend: backend.name,
            detail: backend.detail,
            trainCount: data.train.count,
            validationCount: data.validation.count,
            batchesPerEpoch: data.train.batchCount(training.batchSize),
            startEpoch: (from?.epoch ?? 0) + 1,
            epochs: totalEpochs,
          }),
        line: (e): EpochMetrics => ({
          epoch: e.epoch,
          loss: e.loss,
          ...(e.valLoss !== undefined ? { valLoss: e.valLoss } : {}),
          ...e.terms,
          ...(multiPhase ? { phase: e.phase } : {}),
          seconds: e.seconds,
          samplesPerSecond: e.samplesPerSecond,
        }),
        saved: (_, e) =>
          listener({
            type: 'epoch-end',
            epoch: e.epoch,
            epochs: e.epochs,
            loss: e.loss,
            terms: e.terms,
            valLoss: e.valLoss,
            seconds: e.seconds,
            samplesPerSecond: e.samplesPerSecond,
            improved: e.improved,
          }),
        finish: async (result, lines) => {
          if (result.status === 'stopped-early') {
            const { epoch, bestValLoss } = result.state;
            listener({ type: 'early-stop', epoch, bestValLoss: bestValLoss! });
          }
          if (!opts.figures) return;
          const paths = await drawRunFigures(
            run,
            manifest,
            model,
            figureSamples(manifest, data.validation),
            lines,
            plugin.trainer.sampler?.(config),
          );
          listener({ type: 'figures', paths });
        },
      },
    );
    listener({ type: 'done', run: run.root, epochsCompleted: manifest.epochsCompleted });
    return { run: run.root, manifest, metrics };
  } finally {
    disposeNetworks(model.networks);
  }
}
