import { resolve } from 'node:path';
import {
  aekitError,
  Dataset,
  type EpochMetrics,
  formatIssues,
  getVariant,
  isAekitError,
  parseVariantOptions,
  type RunManifest,
  toFlag,
} from '@aekit/core';
import { BUILTIN_DATASETS, loadDataset, RunDirectory } from '@aekit/core/node';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../backends/index.js';
import { drawRunFigures, FIGURE_SAMPLES } from '../figures/index.js';
import {
  type AutoencoderModel,
  asTfjsPlugin,
  disposeNetworks,
  type LossValue,
  lossParts,
  type TfjsVariantPlugin,
  type TrainingPhase,
} from '../plugin.js';
import { registerBuiltinVariants } from '../register-all.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { type ResolvedTrainOptions, type TrainOptions, trainOptionsSchema } from './config.js';
import { checkInputRange, loadRunData } from './data.js';
import type { TrainListener } from './events.js';
import { evaluateLoss, toBatchTensor } from './loss.js';
import { networkDir, saveNetwork } from './model-io.js';
import { buildWithinMemory } from './model-size.js';
import { createOptimizer, OPTIMIZERS } from './optimizers.js';
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

function trainableVariables(model: AutoencoderModel): tf.Variable[] {
  const seen = new Set<tf.Variable>();
  for (const net of Object.values(model.networks)) {
    for (const w of net.trainableWeights) seen.add(w.read() as tf.Variable);
  }
  return [...seen];
}

/** One update of every batch: a loss, the variables it changes and its optimiser. */
interface EpochStep {
  readonly name: string;
  readonly loss: (x: tf.Tensor, training: boolean) => LossValue;
  readonly optimizer: tf.Optimizer;
  readonly variables: tf.Variable[];
}

/** What one epoch of training needs. */
interface EpochContext {
  /** The updates of each batch, in order; the epoch's loss is the first one's. */
  readonly steps: readonly EpochStep[];
  readonly data: Dataset;
  readonly inputShape: readonly number[];
  readonly batchSize: number;
  readonly seed: number;
  readonly listener: TrainListener;
  /** Called before each batch; throwing stops the epoch (the batch loss tensors are freed). */
  readonly onBatch: () => void;
}

/**
 * One optimiser step on batch `x`: returns the loss and keeps the loss terms in `terms`
 * (with several steps, the loss itself under the step's name, and the terms whose names
 * are not a step's).
 */
function optimizerStep(
  step: EpochStep,
  x: tf.Tensor,
  terms: Record<string, tf.Tensor>,
  stepNames: ReadonlySet<string> | undefined,
): tf.Scalar {
  return tf.tidy(
    () =>
      step.optimizer.minimize(
        () => {
          const parts = lossParts(step.loss(x, true));
          // A term may be the total itself (a loss logged with a metric beside it): keep
          // a clone then, as the term is disposed apart from the cost.
          const keep = (t: tf.Scalar) => tf.keep(t === parts.total ? tf.clone(t) : t);
          for (const [name, t] of Object.entries(parts.terms)) {
            if (!stepNames?.has(name)) terms[name] = keep(t);
          }
          if (stepNames) terms[step.name] = keep(parts.total);
          return parts.total;
        },
        true,
        step.variables,
      )!,
  );
}

/**
 * One pass over `data` in seeded shuffled batches, each step of `ctx.steps` once per
 * batch. Returns the mean training loss; reports `batch` events with the loss read a few
 * times a second.
 */
async function trainEpoch(
  epoch: number,
  ctx: EpochContext,
): Promise<{ loss: number; terms: Record<string, number>; samples: number; seconds: number }> {
  const { steps, inputShape, listener } = ctx;
  const stepNames = steps.length > 1 ? new Set(steps.map((s) => s.name)) : undefined;
  const batches = ctx.data.batchCount(ctx.batchSize);
  const epochStart = performance.now();
  let lossSum: tf.Tensor = tf.scalar(0);
  const termSums = new Map<string, tf.Tensor>();
  let samples = 0;
  let batch = 0;
  let lastRead = 0;
  let lastLoss: number | undefined;
  try {
    // The wasm backend copies a batch into its heap when the tensor is made, so one buffer
    // serves every batch (other backends may keep the array itself, or upload it later).
    const reuseBuffer = tf.getBackend() === 'wasm';
    for (const b of ctx.data.batches(ctx.batchSize, {
      shuffle: true,
      seed: ctx.seed,
      epoch,
      reuseBuffer,
    })) {
      ctx.onBatch();
      const x = toBatchTensor(b, inputShape);
      let cost: tf.Tensor | undefined;
      const terms: Record<string, tf.Tensor> = {};
      try {
        for (const step of steps) {
          const stepCost = optimizerStep(step, x, terms, stepNames);
          if (cost) stepCost.dispose();
          else cost = stepCost;
        }
      } catch (err) {
        cost?.dispose();
        tf.dispose(Object.values(terms));
        throw err;
      } finally {
        x.dispose();
      }
      const next = tf.tidy(() => tf.add(lossSum, tf.mul(cost!, b.size)));
      lossSum.dispose();
      lossSum = next;
      for (const [name, t] of Object.entries(terms)) {
        const sum = termSums.get(name);
        termSums.set(
          name,
          tf.tidy(() => (sum ? tf.add(sum, tf.mul(t, b.size)) : tf.mul(t, b.size))),
        );
        sum?.dispose();
        t.dispose();
      }
      samples += b.size;
      batch++;
      const t = performance.now();
      // Reading a value waits for the device; do it a few times a second, not every batch.
      if (t - lastRead > 250 || batch === batches) {
        lastLoss = (await cost!.data())[0];
        // Let timers and signals (progress bars, Ctrl-C) run between batches.
        await new Promise((resolve) => setTimeout(resolve, 0));
        lastRead = t;
      }
      cost!.dispose();
      listener({
        type: 'batch',
        epoch,
        batch,
        batches,
        samples,
        loss: lastLoss,
        samplesPerSecond: samples / ((t - epochStart) / 1000),
      });
    }
    const loss = (await lossSum.data())[0]! / samples;
    const terms: Record<string, number> = {};
    for (const [name, sum] of termSums) terms[name] = (await sum.data())[0]! / samples;
    return { loss, terms, samples, seconds: (performance.now() - epochStart) / 1000 };
  } finally {
    lossSum.dispose();
    for (const sum of termSums.values()) sum.dispose();
  }
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
  registerBuiltinVariants();
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
  const patience = input.patience ?? previous?.training.earlyStoppingPatience ?? 0;
  const minDelta = input.minDelta ?? previous?.training.earlyStoppingMinDelta ?? opts.minDelta;
  if (patience > 0 && data.validation.count === 0) {
    throw aekitError(
      'InvalidTrainingOptions',
      '  --patience: early stopping watches the validation loss; give a --validation-split above 0.',
    );
  }
  if (data.train.count < 1) throw aekitError('EmptyDataset', 'The training split is empty.');
  const training: RunManifest['training'] = {
    epochs: opts.epochs ?? previous?.training.epochs ?? 10,
    batchSize: previous?.training.batchSize ?? opts.batchSize,
    optimizer: previous?.training.optimizer ?? opts.optimizer,
    learningRate:
      opts.learningRate ??
      previous?.training.learningRate ??
      OPTIMIZERS[opts.optimizer].defaultLearningRate,
    seed: previous?.training.seed ?? opts.seed,
    backend: opts.backend,
    ...(patience > 0 ? { earlyStoppingPatience: patience } : {}),
    ...(patience > 0 && minDelta > 0 ? { earlyStoppingMinDelta: minDelta } : {}),
  };
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
  // One optimiser per step of a batch (one, for one step), each checkpointed in its group.
  const optimizerGroups = (model.steps ?? [{ name: '' }]).map((step, i) =>
    i === 0 ? 'optimizer' : `optimizer:${step.name}`,
  );
  const newOptimizers = () =>
    optimizerGroups.map(() => createOptimizer(training.optimizer, training.learningRate));
  let optimizers = newOptimizers();
  const namedOptimizers = () =>
    Object.fromEntries(optimizerGroups.map((group, i) => [group, optimizers[i]!]));
  const variables = trainableVariables(model);
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

  // One phase (the model's loss on the samples) unless the model trains in phases.
  const phases: readonly TrainingPhase[] = model.phases ?? [
    { name: '', loss: (x, t) => model.loss(x, t) },
  ];
  const multiPhase = model.phases !== undefined;
  if (multiPhase && patience > 0) {
    throw aekitError(
      'InvalidTrainingOptions',
      `  --patience: early stopping watches one validation loss; variant "${plugin.name}" trains in ${phases.length} phases.`,
    );
  }
  const phaseEnds: number[] = [];
  for (const phase of phases) {
    phaseEnds.push((phaseEnds[phaseEnds.length - 1] ?? 0) + (phase.epochs ?? training.epochs));
  }
  const totalEpochs = phaseEnds[phaseEnds.length - 1]!;
  const phaseOf = (epoch: number) => phaseEnds.findIndex((end) => epoch <= end);
  if (multiPhase) {
    manifest.phases = phases.map((p, i) => ({
      name: p.name,
      epochs: phaseEnds[i]! - (phaseEnds[i - 1] ?? 0),
    }));
  }

  let metrics: EpochMetrics[] = [];
  let startEpoch = 1;
  let bestValLoss: number | null = null;
  let epochsWithoutImprovement = 0;
  let started = false;
  try {
    if (previous) {
      const state = await readCheckpoint(run, model.networks, namedOptimizers());
      startEpoch = state.epoch + 1;
      bestValLoss = state.bestValLoss;
      epochsWithoutImprovement = state.epochsWithoutImprovement;
      metrics = run.readMetrics().filter((m) => m.epoch <= state.epoch);
      manifest.epochsCompleted = state.epoch;
    }
    run.writeManifest(manifest);
    started = true;
    const batches = data.train.batchCount(training.batchSize);
    listener({
      type: 'start',
      backend: backend.name,
      detail: backend.detail,
      trainCount: data.train.count,
      validationCount: data.validation.count,
      batchesPerEpoch: batches,
      startEpoch,
      epochs: totalEpochs,
    });

    let stoppedEarly = false;
    let current:
      | { index: number; train: Dataset; validation: Dataset; variables: tf.Variable[] }
      | undefined;
    for (let epoch = startEpoch; epoch <= totalEpochs; epoch++) {
      const index = phaseOf(epoch);
      const phase = phases[index]!;
      if (current?.index !== index) {
        // A new phase: its inputs once, its variables, a fresh optimiser (not when resuming
        // inside the phase whose optimiser state the checkpoint restored).
        const resumedHere = current === undefined && previous && phaseOf(epoch - 1) === index;
        if (current !== undefined || (previous && !resumedHere)) {
          for (const o of optimizers) o.dispose();
          optimizers = newOptimizers();
          bestValLoss = null;
          epochsWithoutImprovement = 0;
        }
        current = {
          index,
          train: phase.inputs ? await phase.inputs(data.train) : data.train,
          validation:
            phase.inputs && data.validation.count > 0
              ? await phase.inputs(data.validation)
              : data.validation,
          variables: phase.variables?.() ?? variables,
        };
        if (multiPhase) {
          listener({ type: 'phase', phase: index + 1, phases: phases.length, name: phase.name });
        }
      }
      listener({ type: 'epoch-start', epoch, epochs: totalEpochs });
      const phaseShape = [...current.train.sampleShape];
      const steps: EpochStep[] = model.steps
        ? model.steps.map((step, i) => ({
            name: step.name,
            loss: step.loss,
            optimizer: optimizers[i]!,
            variables: step.variables(),
          }))
        : [
            {
              name: phase.name,
              loss: phase.loss,
              optimizer: optimizers[0]!,
              variables: current.variables,
            },
          ];
      const { loss, terms, samples, seconds } = await trainEpoch(epoch, {
        steps,
        data: current.train,
        inputShape: phaseShape,
        batchSize: training.batchSize,
        seed: training.seed,
        listener,
        onBatch: () => {
          // Stopping mid-epoch loses only that epoch: the last checkpoint stays as it was.
          if (signal?.aborted) {
            throw aekitError('TrainingInterrupted', run.root, manifest.epochsCompleted);
          }
        },
      });
      if (!Number.isFinite(loss)) throw aekitError('TrainingDiverged', epoch, loss);
      const valLoss =
        current.validation.count > 0
          ? await evaluateLoss(phase.loss, current.validation, phaseShape)
          : undefined;
      // Without validation data nothing is counted: early stopping needs a validation split.
      let improved = false;
      if (valLoss !== undefined) {
        if (bestValLoss === null || valLoss < bestValLoss - minDelta) {
          bestValLoss = valLoss;
          epochsWithoutImprovement = 0;
          improved = true;
        } else {
          epochsWithoutImprovement++;
        }
      }
      const line: EpochMetrics = {
        epoch,
        loss,
        ...(valLoss !== undefined ? { valLoss } : {}),
        ...terms,
        ...(multiPhase ? { phase: index + 1 } : {}),
        seconds,
        samplesPerSecond: samples / seconds,
      };
      metrics.push(line);
      run.writeMetrics(metrics);
      await writeCheckpoint(
        run,
        { epoch, bestValLoss, epochsWithoutImprovement },
        model.networks,
        namedOptimizers(),
      );
      manifest.epochsCompleted = epoch;
      manifest.updatedAt = new Date().toISOString();
      run.writeManifest(manifest);
      listener({
        type: 'epoch-end',
        epoch,
        epochs: totalEpochs,
        loss,
        terms,
        valLoss,
        seconds,
        samplesPerSecond: samples / seconds,
        improved,
      });
      if (patience > 0 && valLoss !== undefined && epochsWithoutImprovement >= patience) {
        stoppedEarly = true;
        listener({ type: 'early-stop', epoch, bestValLoss: bestValLoss ?? valLoss });
        break;
      }
    }

    for (const [name, net] of networkEntries) await saveNetwork(run, networkDir(name), net);
    const last = metrics[metrics.length - 1];
    manifest.metrics = {
      ...(last ? { loss: last.loss } : {}),
      ...(last?.valLoss !== undefined ? { valLoss: last.valLoss } : {}),
      ...(bestValLoss !== null ? { bestValLoss } : {}),
    };
    manifest.updatedAt = new Date().toISOString();
    run.writeManifest(manifest);
    if (opts.figures) {
      const paths = await drawRunFigures(
        run,
        manifest,
        model,
        figureSamples(manifest, data.validation),
        metrics,
        plugin.trainer.sampler?.(config),
      );
      listener({ type: 'figures', paths });
    }
    // Completed only once everything the run promises (weights, figures) is on disk.
    manifest.status = stoppedEarly ? 'stopped-early' : 'completed';
    manifest.updatedAt = new Date().toISOString();
    run.writeManifest(manifest);
    listener({ type: 'done', run: run.root, epochsCompleted: manifest.epochsCompleted });
    return { run: run.root, manifest, metrics };
  } catch (err) {
    if (started) {
      manifest.status = isAekitError(err, 'TrainingInterrupted') ? 'interrupted' : 'failed';
      manifest.updatedAt = new Date().toISOString();
      run.writeManifest(manifest);
    }
    throw err;
  } finally {
    for (const o of optimizers) o.dispose();
    disposeNetworks(model.networks);
  }
}
