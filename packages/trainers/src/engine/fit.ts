import { aekitError, type Batch, type Dataset } from '@aekit/core';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { evaluateLoss, toBatchTensor } from '../model/batches.js';
import { type LossValue, lossParts } from '../plugin.js';
import { createOptimizer } from './optimizers.js';

/**
 * The loss of a batch: of samples `x` and, for a {@link FitModel.supervised} model, their
 * `labels` (int32, one per sample). A variant's `loss(x, training)` is one.
 */
export type FitLoss = (x: tf.Tensor, training: boolean, labels?: tf.Tensor1D) => LossValue;

/** One update of every batch, by its own optimiser over its own variables. */
export interface FitStep {
  /** Names the step's loss in the epoch's terms (when there are several steps). */
  readonly name: string;
  variables(): tf.Variable[];
  readonly loss: FitLoss;
}

/** One phase of a training in phases: its own epochs, variables, inputs and optimiser. */
export interface FitPhase {
  readonly name: string;
  /** Epochs of the phase (default: {@link FitOptions.epochs}). */
  readonly epochs?: number;
  /** The variables it trains (default: the model's). */
  variables?(): tf.Variable[];
  readonly loss: FitLoss;
  /** Its inputs, computed once from the samples when the phase starts (default: the samples). */
  inputs?(data: Dataset): Promise<Dataset>;
}

/**
 * What {@link fit} trains. A variant's built model (`plugin.trainer.build(...)`) is one: its
 * `loss`, `phases` and `steps` are trained as they are declared.
 */
export interface FitModel {
  /** Networks whose trainable weights are trained, unless {@link variables} says otherwise. */
  readonly networks?: Readonly<Record<string, LayersModel>>;
  /** The variables trained (default: every trainable weight of every network). */
  variables?(): tf.Variable[];
  /** The loss minimised, and the validation loss (that of each phase, with phases). */
  loss(x: tf.Tensor, training: boolean, labels?: tf.Tensor1D): LossValue;
  /** Phases trained one after the other instead of {@link loss}. Not with {@link steps}. */
  readonly phases?: readonly FitPhase[];
  /**
   * Several updates on every batch, each with its own optimiser; the epoch's loss is the
   * first one's and {@link loss} stays the validation loss. Not with {@link phases}.
   */
  readonly steps?: readonly FitStep[];
  /** Its losses take the batch's labels (third argument): the data must have labels. */
  readonly supervised?: boolean;
}

/**
 * Where a training stands after an epoch: all {@link fit} needs, with the model's weights
 * and its optimisers' (see {@link FitRestore}), to go on as if it had not stopped. The
 * shuffles are a function of the seed and the epoch, so the epoch is their state too.
 */
export interface FitState {
  /** Last completed epoch, counted over every phase (0: none yet). */
  readonly epoch: number;
  /** The best validation loss of the current phase so far (null: none yet). */
  readonly bestValLoss: number | null;
  /** Epochs since the validation loss last improved by more than `minDelta`. */
  readonly epochsWithoutImprovement: number;
}

/** One saved tensor of an optimiser, as plain data. */
export interface SavedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/**
 * A state to start from (e.g. read from a checkpoint): the state of the last completed
 * epoch, and the optimisers' weights by name ({@link FitEpoch.optimizers}' names). The
 * model's weights are restored by the caller, since the model is theirs. Optimisers whose
 * weights are absent, or those of a phase that starts now, start fresh.
 */
export interface FitRestore extends FitState {
  readonly optimizers?: Readonly<Record<string, readonly SavedTensor[]>>;
}

/** What {@link FitCallbacks.onEpochEnd} receives. */
export interface FitEpoch {
  /** The epoch just completed (1-based, counted over every phase). */
  readonly epoch: number;
  /** Epochs of the whole training, every phase included. */
  readonly epochs: number;
  /** The phase it belongs to (1-based). */
  readonly phase: number;
  /** Mean training loss over the epoch's samples (the first step's, with several). */
  readonly loss: number;
  /** Mean of each named loss term (and, with several steps, of each step's loss). */
  readonly terms: Readonly<Record<string, number>>;
  /** Loss on the validation samples, when there are any. */
  readonly valLoss: number | undefined;
  /** Whether the validation loss improved on the best by more than `minDelta`. */
  readonly improved: boolean;
  readonly samples: number;
  readonly seconds: number;
  readonly samplesPerSecond: number;
  /** The state after this epoch, to checkpoint with the model's and optimisers' weights. */
  readonly state: FitState;
  /** The optimisers, by the names {@link FitRestore.optimizers} takes. */
  readonly optimizers: Readonly<Record<string, tf.Optimizer>>;
}

/** What {@link FitCallbacks.onBatchEnd} receives. */
export interface FitBatchEnd {
  readonly epoch: number;
  /** Batches done in the epoch, and their number. */
  readonly batch: number;
  readonly batches: number;
  readonly samples: number;
  /** The loss of a recent batch: read from the device a few times a second, not every batch. */
  readonly loss: number | undefined;
  /**
   * The mean loss of the epoch's batches so far (weighted by their samples), read with
   * `loss`: after the last batch it is the epoch's loss.
   */
  readonly meanLoss: number | undefined;
  readonly samplesPerSecond: number;
}

/** Hooks of {@link fit}; it awaits each but `onBatchEnd`. */
export interface FitCallbacks {
  /** A phase starts (1-based), its inputs computed; called for the one phase of a plain training too. */
  onPhaseStart?(phase: {
    readonly phase: number;
    readonly phases: number;
    readonly name: string;
  }): void | Promise<void>;
  onEpochStart?(epoch: { readonly epoch: number; readonly epochs: number }): void | Promise<void>;
  /** After every batch, for progress. */
  onBatchEnd?(batch: FitBatchEnd): void;
  /** After every epoch: where checkpoints and metrics are written. */
  onEpochEnd?(epoch: FitEpoch): void | Promise<void>;
}

/** Options of {@link fit}. */
export interface FitOptions {
  /** The training samples (with labels, for a supervised model). */
  readonly data: Dataset;
  /** Samples for the validation loss, which early stopping watches (none: no validation). */
  readonly validation?: Dataset;
  /** Epochs of the training, or of each phase that does not give its own. */
  readonly epochs: number;
  readonly batchSize: number;
  /** Seed of the shuffles: epoch `e` sees the order `Dataset.batches` gives for (seed, e). */
  readonly seed: number;
  /** Makes each optimiser: one per step, again at each phase (default: Adam, rate 0.001). */
  readonly optimizer?: () => tf.Optimizer;
  /** Stop after this many epochs without improvement of the validation loss (0: never). */
  readonly patience?: number;
  /** The smallest fall of the validation loss that counts as an improvement (default 0). */
  readonly minDelta?: number;
  /**
   * Stops the training before the next batch: {@link fit} then returns `aborted`, with the
   * state of the last completed epoch (the model keeps the updates of the batches since).
   */
  readonly signal?: AbortSignal;
  readonly callbacks?: FitCallbacks;
  /** Go on from this state instead of starting at epoch 1. */
  readonly from?: FitRestore;
  /**
   * The sample order of epoch `epoch` (a permutation of 0..count-1), in place of the seeded
   * shuffle. A restore reproduces the training only if it is a function of the epoch.
   */
  readonly order?: (epoch: number, count: number) => ArrayLike<number>;
}

/** The summary of one epoch in {@link FitResult.history}. */
export type FitHistoryEntry = Omit<FitEpoch, 'optimizers' | 'state' | 'epochs'>;

/** What {@link fit} returns. */
export interface FitResult {
  /** `stopped-early` by patience, `aborted` by the signal, else `completed`. */
  readonly status: 'completed' | 'stopped-early' | 'aborted';
  /** The state of the last completed epoch. */
  readonly state: FitState;
  /** The epochs this call trained. */
  readonly history: readonly FitHistoryEntry[];
}

/** A phase of {@link fitSchedule}: its name and epochs. */
export interface ScheduledPhase {
  readonly name: string;
  readonly epochs: number;
}

/**
 * The phases {@link fit} runs for `model` with `epochs` per phase: the model's phases, or
 * one unnamed phase. Their epochs add up to the training's.
 */
export function fitSchedule(model: Pick<FitModel, 'phases'>, epochs: number): ScheduledPhase[] {
  const phases: readonly Pick<FitPhase, 'name' | 'epochs'>[] = model.phases ?? [{ name: '' }];
  return phases.map((p) => ({
    name: p.name,
    epochs: p.epochs ?? epochs,
  }));
}

/** The name of optimiser `i` of a batch's steps: `optimizer`, then `optimizer:STEP`. */
function optimizerName(steps: readonly { name: string }[] | undefined, i: number): string {
  return i === 0 ? 'optimizer' : `optimizer:${steps![i]!.name}`;
}

function modelVariables(model: FitModel): tf.Variable[] {
  if (model.variables) return model.variables();
  const seen = new Set<tf.Variable>();
  for (const net of Object.values(model.networks ?? {})) {
    for (const w of net.trainableWeights) seen.add(w.read() as tf.Variable);
  }
  return [...seen];
}

/** One update of every batch, resolved for an epoch. */
interface EpochStep {
  readonly name: string;
  readonly loss: FitLoss;
  readonly optimizer: tf.Optimizer;
  readonly variables: tf.Variable[];
}

/**
 * One optimiser step on a batch: returns the loss and keeps the loss terms in `terms` (with
 * several steps, the loss itself under the step's name, and the terms not named as a step).
 */
function optimizerStep(
  step: EpochStep,
  x: tf.Tensor,
  labels: tf.Tensor1D | undefined,
  terms: Record<string, tf.Tensor>,
  stepNames: ReadonlySet<string> | undefined,
): tf.Scalar {
  return tf.tidy(
    () =>
      step.optimizer.minimize(
        () => {
          const parts = lossParts(step.loss(x, true, labels));
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

/** The batches of `data` in the order `order` gives, as `Dataset.batches` makes them. */
function* orderedBatches(
  data: Dataset,
  batchSize: number,
  order: ArrayLike<number>,
): Generator<Batch> {
  const f = data.featureCount;
  for (let start = 0; start < data.count; start += batchSize) {
    const size = Math.min(batchSize, data.count - start);
    const x = new Float32Array(size * f);
    const labels = data.labels ? new Int32Array(size) : undefined;
    for (let i = 0; i < size; i++) {
      const j = order[start + i]!;
      x.set(data.x.subarray(j * f, (j + 1) * f), i * f);
      if (labels) labels[i] = data.labels![j]!;
    }
    yield { x, size, ...(labels ? { labels } : {}) };
  }
}

/** What one epoch needs. */
interface EpochContext {
  readonly steps: readonly EpochStep[];
  readonly data: Dataset;
  readonly options: FitOptions;
  readonly supervised: boolean;
}

/** What one epoch gave: its means, or `aborted` when the signal stopped it. */
type EpochOutcome =
  | { loss: number; terms: Record<string, number>; samples: number; seconds: number }
  | 'aborted';

/**
 * One pass over the data in seeded shuffled batches, each step once per batch. Returns the
 * mean training loss and terms; the sums stay on the device until the end of the epoch.
 */
async function trainEpoch(epoch: number, ctx: EpochContext): Promise<EpochOutcome> {
  const { steps, data, options } = ctx;
  const sampleShape = data.sampleShape;
  const stepNames = steps.length > 1 ? new Set(steps.map((s) => s.name)) : undefined;
  const batches = data.batchCount(options.batchSize);
  const epochStart = performance.now();
  let lossSum: tf.Tensor = tf.scalar(0);
  const termSums = new Map<string, tf.Tensor>();
  let samples = 0;
  let batch = 0;
  let lastRead = 0;
  let lastLoss: number | undefined;
  let lastMeanLoss: number | undefined;
  try {
    // The wasm backend copies a batch into its heap when the tensor is made, so one buffer
    // serves every batch (other backends may keep the array itself, or upload it later).
    const reuseBuffer = tf.getBackend() === 'wasm';
    const all = options.order
      ? orderedBatches(data, options.batchSize, options.order(epoch, data.count))
      : data.batches(options.batchSize, { shuffle: true, seed: options.seed, epoch, reuseBuffer });
    for (const b of all) {
      // Stopping mid-epoch loses only that epoch: its state is the last completed one's.
      if (options.signal?.aborted) return 'aborted';
      const x = toBatchTensor(b, sampleShape);
      const labels = ctx.supervised ? tf.tensor1d(b.labels!, 'int32') : undefined;
      let cost: tf.Tensor | undefined;
      const terms: Record<string, tf.Tensor> = {};
      try {
        for (const step of steps) {
          const stepCost = optimizerStep(step, x, labels, terms, stepNames);
          if (cost) stepCost.dispose();
          else cost = stepCost;
        }
      } catch (err) {
        cost?.dispose();
        tf.dispose(Object.values(terms));
        throw err;
      } finally {
        x.dispose();
        labels?.dispose();
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
        lastMeanLoss = (await lossSum.data())[0]! / samples;
        // Let timers and signals (progress bars, Ctrl-C) run between batches.
        await new Promise((resolve) => setTimeout(resolve, 0));
        lastRead = t;
      }
      cost!.dispose();
      options.callbacks?.onBatchEnd?.({
        epoch,
        batch,
        batches,
        samples,
        loss: lastLoss,
        meanLoss: lastMeanLoss,
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

/** Restores an optimiser's saved weights (fresh when there are none). */
async function restoreOptimizer(
  optimizer: tf.Optimizer,
  saved: readonly SavedTensor[] | undefined,
): Promise<void> {
  if (!saved) return;
  const weights = saved.map((w) => ({ name: w.name, tensor: tf.tensor(w.values, [...w.shape]) }));
  try {
    await optimizer.setWeights(weights);
  } finally {
    tf.dispose(weights.map((w) => w.tensor));
  }
}

function checkFit(model: FitModel, o: FitOptions): void {
  const fail = (what: string) => aekitError('InvalidTrainingOptions', `  ${what}`);
  if (model.steps && model.phases) {
    throw new TypeError('A model gives both phases and steps; give one.');
  }
  if (!(Number.isInteger(o.epochs) && o.epochs >= 0)) {
    throw fail(`epochs: a non-negative integer, not ${o.epochs}.`);
  }
  if (!(Number.isInteger(o.batchSize) && o.batchSize > 0)) {
    throw fail(`batchSize: a positive integer, not ${o.batchSize}.`);
  }
  const patience = o.patience ?? 0;
  if (patience > 0 && !(o.validation && o.validation.count > 0)) {
    throw fail('patience: early stopping watches the validation loss; give validation samples.');
  }
  if (patience > 0 && model.phases) {
    throw fail(
      `patience: early stopping watches one validation loss; the model trains in ${model.phases.length} phases.`,
    );
  }
  if (o.data.count < 1) throw aekitError('EmptyDataset', 'The training split is empty.');
  if (model.supervised && !o.data.labels) {
    throw aekitError('InvalidArgument', 'The model learns from labels; the data has none.');
  }
}

/**
 * Trains `model` on `options.data`: its phases one after the other (each with its epochs,
 * variables, inputs and a fresh optimiser), every batch in seeded shuffled order, each of
 * its steps once per batch with its own optimiser; then the validation loss, and early
 * stopping after `patience` epochs without improvement. Platform-free: checkpoints,
 * metrics and progress are the callbacks' (awaited, but `onBatchEnd`), and
 * `options.from` starts from a saved state where an uninterrupted training would be.
 *
 * @throws AekitError `TrainingDiverged` when an epoch's loss is not finite;
 *   `InvalidTrainingOptions` for options that cannot work (patience without validation).
 */
export async function fit(model: FitModel, options: FitOptions): Promise<FitResult> {
  checkFit(model, options);
  const makeOptimizer = options.optimizer ?? (() => createOptimizer('adam'));
  const patience = options.patience ?? 0;
  const minDelta = options.minDelta ?? 0;
  const supervised = model.supervised === true;
  const phases: readonly FitPhase[] = model.phases ?? [
    { name: '', loss: (x, t, labels) => model.loss(x, t, labels) },
  ];
  const ends: number[] = [];
  for (const p of fitSchedule(model, options.epochs)) ends.push((ends.at(-1) ?? 0) + p.epochs);
  const total = ends.at(-1)!;
  const phaseOf = (epoch: number) => ends.findIndex((end) => epoch <= end);
  const groups = (model.steps ?? [{ name: '' }]).map((_, i) => optimizerName(model.steps, i));
  const from = options.from;
  let state: FitState = {
    epoch: from?.epoch ?? 0,
    bestValLoss: from?.bestValLoss ?? null,
    epochsWithoutImprovement: from?.epochsWithoutImprovement ?? 0,
  };
  const history: FitHistoryEntry[] = [];
  let optimizers: tf.Optimizer[] = [];
  const named = () => Object.fromEntries(groups.map((g, i) => [g, optimizers[i]!]));
  const allVariables = modelVariables(model);
  let status: FitResult['status'] = 'completed';
  let current:
    | { index: number; train: Dataset; validation: Dataset | undefined; variables: tf.Variable[] }
    | undefined;
  try {
    for (let epoch = state.epoch + 1; epoch <= total; epoch++) {
      const index = phaseOf(epoch);
      const phase = phases[index]!;
      if (current?.index !== index) {
        // A new phase: its inputs once, its variables, fresh optimisers; the restored ones
        // only when going on inside the phase they were saved in.
        for (const o of optimizers) o.dispose();
        optimizers = groups.map(() => makeOptimizer());
        if (current === undefined && from && phaseOf(from.epoch) === index) {
          for (const [i, o] of optimizers.entries()) {
            await restoreOptimizer(o, from.optimizers?.[groups[i]!]);
          }
        } else if (current !== undefined || from) {
          state = { ...state, bestValLoss: null, epochsWithoutImprovement: 0 };
        }
        const validation = options.validation;
        current = {
          index,
          train: phase.inputs ? await phase.inputs(options.data) : options.data,
          validation:
            phase.inputs && validation && validation.count > 0
              ? await phase.inputs(validation)
              : validation,
          variables: phase.variables?.() ?? allVariables,
        };
        await options.callbacks?.onPhaseStart?.({
          phase: index + 1,
          phases: phases.length,
          name: phase.name,
        });
      }
      await options.callbacks?.onEpochStart?.({ epoch, epochs: total });
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
      const outcome = await trainEpoch(epoch, {
        steps,
        data: current.train,
        options,
        supervised,
      });
      if (outcome === 'aborted') {
        status = 'aborted';
        break;
      }
      const { loss, terms, samples, seconds } = outcome;
      if (!Number.isFinite(loss)) throw aekitError('TrainingDiverged', epoch, loss);
      const validation = current.validation;
      const valLoss =
        validation && validation.count > 0
          ? await evaluateLoss(
              phase.loss,
              validation,
              validation.sampleShape,
              undefined,
              supervised,
            )
          : undefined;
      // Without validation data nothing is counted: early stopping needs validation samples.
      let improved = false;
      let { bestValLoss, epochsWithoutImprovement } = state;
      if (valLoss !== undefined) {
        if (bestValLoss === null || valLoss < bestValLoss - minDelta) {
          bestValLoss = valLoss;
          epochsWithoutImprovement = 0;
          improved = true;
        } else {
          epochsWithoutImprovement++;
        }
      }
      state = { epoch, bestValLoss, epochsWithoutImprovement };
      const entry: FitHistoryEntry = {
        epoch,
        phase: index + 1,
        loss,
        terms,
        valLoss,
        improved,
        samples,
        seconds,
        samplesPerSecond: samples / seconds,
      };
      history.push(entry);
      await options.callbacks?.onEpochEnd?.({
        ...entry,
        epochs: total,
        state,
        optimizers: named(),
      });
      if (patience > 0 && valLoss !== undefined && epochsWithoutImprovement >= patience) {
        status = 'stopped-early';
        break;
      }
    }
    return { status, state, history };
  } finally {
    for (const o of optimizers) o.dispose();
  }
}

/**
 * The saved weights of optimisers (e.g. {@link FitEpoch.optimizers}) as plain data, for
 * {@link FitRestore.optimizers}: to keep a state in memory, or store it where files are not.
 */
export async function saveOptimizers(
  optimizers: Readonly<Record<string, tf.Optimizer>>,
): Promise<Record<string, SavedTensor[]>> {
  const saved: Record<string, SavedTensor[]> = {};
  for (const [group, optimizer] of Object.entries(optimizers)) {
    saved[group] = [];
    for (const { name, tensor } of await optimizer.getWeights()) {
      saved[group].push({
        name,
        shape: [...tensor.shape],
        values: Float32Array.from(await tensor.data()),
      });
      // getWeights returns the optimiser's own variables plus a fresh iteration-count tensor.
      if (!(tensor instanceof tf.Variable)) tensor.dispose();
    }
  }
  return saved;
}
