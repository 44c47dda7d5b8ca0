import { resolve } from 'node:path';
import {
  aekitError,
  createRng,
  Dataset,
  getVariant,
  parseVariantOptions,
  permutation,
  type RunManifest,
} from '@aekit/core';
import { BUILTIN_DATASETS, loadDataset, RunDirectory } from '@aekit/core/node';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { selectBackend } from '../backends/index.js';
import type { FitModel } from '../engine/fit.js';
import { fitInRun } from '../engine/run-fit.js';
import { packageVersions } from '../engine/versions.js';
import { CLASSIFIER_NETWORK, withClassifier } from '../model/classifier.js';
import { loadRunModel, networkDir } from '../model/io.js';
import { type AutoencoderModel, asTfjsPlugin, disposeNetworks } from '../plugin.js';
import { classifierAccuracy } from './classifier-accuracy.js';

/** Options of {@link trainClassifier}. */
export interface ClassifyOptions {
  /**
   * The pretrained run: its variant and options make the encoder, its weights start it.
   * Required unless resuming.
   */
  readonly run?: string;
  /** Where the classifier run goes. */
  readonly out: string;
  /** Labelled data: a built-in name or a file (default: the run's data). */
  readonly data?: string;
  readonly dataDir?: string;
  /** Share of the training split whose labels are used, in (0, 1]. Required unless resuming. */
  readonly labelsFraction?: number;
  /**
   * Encoder layers (those with weights, in order) kept as they are: `all` trains the head
   * alone, `none` (default) fine-tunes everything, a number freezes that many first layers.
   */
  readonly freeze?: 'all' | 'none' | number;
  /** The same network from random weights instead of the run's. */
  readonly fromScratch?: boolean;
  /** Epochs to train (with `resume`: the total to reach). */
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly learningRate?: number;
  /** Seed of the labelled subset, the head and the shuffles (default: the run's). */
  readonly seed?: number;
  /** Share of the labelled samples held out for the validation loss, in [0, 1) (default 0). */
  readonly validationSplit?: number;
  /** Early stopping: stop after this many epochs without validation improvement (0: off). */
  readonly patience?: number;
  /** Early stopping: the smallest fall of the validation loss that counts (default 0). */
  readonly minDelta?: number;
  readonly backend?: string;
  readonly overwrite?: boolean;
  /** Continue the classifier run in `out` from its last checkpoint. */
  readonly resume?: boolean;
}

/** One epoch of a classifier's training. */
export interface ClassifierEpoch {
  readonly epoch: number;
  /** Mean cross-entropy of the epoch's batches. */
  readonly loss: number;
  /** Share of the epoch's training samples classified right (before each batch's step). */
  readonly accuracy: number;
  /** Cross-entropy and accuracy on the validation samples, with a validation split. */
  readonly valLoss?: number;
  readonly valAccuracy?: number;
  readonly seconds: number;
  readonly samplesPerSecond: number;
}

/** What {@link trainClassifier} returns. */
export interface ClassifyResult {
  readonly run: string;
  readonly manifest: RunManifest;
  /** Every epoch's line, those before a resume included. */
  readonly metrics: readonly ClassifierEpoch[];
  /** Share of the held-out samples classified right. */
  readonly testAccuracy: number;
  /** Which samples it was scored on: the test split, or a held-out tenth of the training data. */
  readonly split: 'test' | 'validation';
}

const fail = (what: string) => aekitError('InvalidArgument', `aekit classify: ${what}`);

function checkOptions(o: ClassifyOptions): void {
  if (o.resume && o.overwrite) {
    throw fail('give one of --resume (continue the run in --out) and --overwrite (replace it).');
  }
  if (!o.resume && o.run === undefined) throw fail('the pretrained run is required.');
  if (!o.resume && o.labelsFraction === undefined) {
    throw fail('--labels-fraction is required, e.g. 0.1 for 10% of the labels.');
  }
  if (o.labelsFraction !== undefined && !(o.labelsFraction > 0 && o.labelsFraction <= 1)) {
    throw fail(
      `--labels-fraction must be in (0, 1], e.g. 0.1 for 10% of the labels, not ${o.labelsFraction}.`,
    );
  }
  const f = o.freeze ?? 'none';
  if (f !== 'all' && f !== 'none' && !(Number.isInteger(f) && f >= 0)) {
    throw fail(`--freeze must be all, none or a number of encoder layers, not ${String(f)}.`);
  }
  for (const [name, v] of [
    ['epochs', o.epochs],
    ['batch-size', o.batchSize],
  ] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) {
      throw fail(`--${name} must be a positive integer, not ${v}.`);
    }
  }
  if (o.learningRate !== undefined && !(o.learningRate > 0)) {
    throw fail(`--lr must be positive, not ${o.learningRate}.`);
  }
  if (o.validationSplit !== undefined && !(o.validationSplit >= 0 && o.validationSplit < 1)) {
    throw fail(`--validation-split must be in [0, 1), not ${o.validationSplit}.`);
  }
  if (o.patience !== undefined && !(Number.isInteger(o.patience) && o.patience >= 0)) {
    throw fail(`--patience must be a non-negative integer, not ${o.patience}.`);
  }
  if (o.minDelta !== undefined && !(o.minDelta >= 0)) {
    throw fail(`--min-delta must be a non-negative number, not ${o.minDelta}.`);
  }
}

/** Labelled training samples and held-out samples of `source`, normalised as the run was. */
function labelledData(
  pre: RunManifest,
  source: string,
  dataDir: string | undefined,
  seed: number,
): { train: Dataset; heldOut: Dataset; split: 'test' | 'validation' } {
  const load = (split: 'train' | 'test') => {
    const { dataset } = loadDataset({
      source,
      split,
      normalization: pre.normalization,
      ...(dataDir ? { dataDir } : {}),
    });
    const b = pre.data.binarize;
    return b === undefined ? dataset : dataset.binarize(b);
  };
  const all = load('train');
  if (!all.labels) {
    throw aekitError(
      'InvalidArgument',
      `aekit classify needs labelled data: ${source} has no labels (mnist and fashion-mnist have).`,
    );
  }
  const shape = all.sampleShape.join('x');
  if (shape !== pre.inputShape.join('x')) {
    throw aekitError(
      'InvalidInput',
      `${source} has samples of shape [${all.sampleShape.join(', ')}]; the encoder takes [${pre.inputShape.join(', ')}].`,
    );
  }
  if (source in BUILTIN_DATASETS) return { train: all, heldOut: load('test'), split: 'test' };
  const { train, validation } = all.split(0.1, seed);
  return { train, heldOut: validation, split: 'validation' };
}

/** The trainable variables of a classifier with the first `frozen` weighted encoder layers kept. */
function trainableOf(model: AutoencoderModel, freeze: 'all' | 'none' | number): tf.Variable[] {
  const weighted = model.networks.encoder.layers.filter((l) => l.trainableWeights.length > 0);
  const frozen = freeze === 'all' ? weighted.length : freeze === 'none' ? 0 : freeze;
  if (frozen > weighted.length) {
    throw aekitError(
      'InvalidArgument',
      `aekit classify: --freeze ${frozen}, but the encoder has ${weighted.length} layers with weights (${weighted.map((l) => l.name).join(', ')}).`,
    );
  }
  const head = model.networks[CLASSIFIER_NETWORK]!.getLayer('classifier_head');
  return [...weighted.slice(frozen), head].flatMap((l) =>
    l.trainableWeights.map((w) => w.read() as tf.Variable),
  );
}

/** The settings a classifier run keeps, as given or, on resume, as recorded. */
interface Settings {
  /** The pretrained run (absolute), or null when trained from scratch. */
  readonly pretrained: string | null;
  readonly labelsFraction: number;
  readonly freeze: 'all' | 'none' | number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly seed: number;
  readonly source: string;
  readonly dataDir: string | undefined;
  readonly validationSplit: number;
  readonly patience: number;
  readonly minDelta: number;
}

/** The settings of a new classifier run from pretrained run `pre` (in `preDir`). */
function newSettings(o: ClassifyOptions, pre: RunManifest, preDir: RunDirectory): Settings {
  return {
    pretrained: o.fromScratch ? null : preDir.root,
    labelsFraction: o.labelsFraction!,
    freeze: o.freeze ?? 'none',
    epochs: o.epochs ?? 10,
    batchSize: o.batchSize ?? 32,
    learningRate: o.learningRate ?? 0.001,
    seed: o.seed ?? pre.training.seed,
    source: o.data ?? pre.data.source,
    dataDir: o.data ? o.dataDir : (o.dataDir ?? pre.data.dataDir),
    validationSplit: o.validationSplit ?? 0,
    patience: o.patience ?? 0,
    minDelta: o.minDelta ?? 0,
  };
}

/**
 * The settings of a resumed classifier run: those it keeps for life as recorded (a
 * different value given fails with `ResumeConflict`, listing each), and the epochs, learning
 * rate and early stopping as given, else as recorded; `changed` lists what changed.
 */
function resumedSettings(
  o: ClassifyOptions,
  previous: RunManifest,
  root: string,
): { settings: Settings; changed: Record<string, { from: unknown; to: unknown }> } {
  const c = previous.classifier!;
  const t = previous.training;
  const conflicts: string[] = [];
  const fixed = (flag: string, given: unknown, recorded: unknown) => {
    if (given !== undefined && JSON.stringify(given) !== JSON.stringify(recorded)) {
      conflicts.push(`${flag} ${JSON.stringify(given)}: the run has ${JSON.stringify(recorded)}`);
    }
  };
  if (o.run !== undefined && c.pretrained !== null) fixed('run', resolve(o.run), c.pretrained);
  if (o.fromScratch !== undefined) fixed('--from-scratch', o.fromScratch, c.pretrained === null);
  fixed('--labels-fraction', o.labelsFraction, c.labelsFraction);
  fixed('--freeze', o.freeze, c.freeze);
  const file = (p: string) => (p in BUILTIN_DATASETS ? p : resolve(p));
  if (o.data !== undefined && file(o.data) !== file(previous.data.source)) {
    fixed('--data', o.data, previous.data.source);
  }
  fixed('--batch-size', o.batchSize, t.batchSize);
  fixed('--seed', o.seed, t.seed);
  fixed('--validation-split', o.validationSplit, c.validationSplit ?? 0);
  if (conflicts.length > 0) throw aekitError('ResumeConflict', root, conflicts);
  const settings: Settings = {
    pretrained: c.pretrained,
    labelsFraction: c.labelsFraction,
    freeze: c.freeze,
    epochs: o.epochs ?? t.epochs,
    batchSize: t.batchSize,
    learningRate: o.learningRate ?? t.learningRate,
    seed: t.seed,
    source: previous.data.source,
    dataDir: o.dataDir ?? previous.data.dataDir,
    validationSplit: c.validationSplit ?? 0,
    patience: o.patience ?? t.earlyStoppingPatience ?? 0,
    minDelta: o.minDelta ?? t.earlyStoppingMinDelta ?? 0,
  };
  const changed: Record<string, { from: unknown; to: unknown }> = {};
  const may = (name: string, to: unknown, from: unknown) => {
    if (to !== from) changed[name] = { from, to };
  };
  may('epochs', settings.epochs, t.epochs);
  may('learningRate', settings.learningRate, t.learningRate);
  may('patience', settings.patience, t.earlyStoppingPatience ?? 0);
  may('minDelta', settings.minDelta, t.earlyStoppingMinDelta ?? 0);
  return { settings, changed };
}

/** `data` with each label replaced by its class number (`classOf`), as the loss takes them. */
function withClassNumbers(data: Dataset, classOf: ReadonlyMap<number, number>): Dataset {
  return new Dataset({
    x: data.x,
    sampleShape: data.sampleShape,
    normalization: data.normalization,
    name: data.name,
    labels: Int32Array.from(data.labels!, (l) => classOf.get(l)!),
  });
}

/**
 * The classifier's training for {@link fit}: categorical cross-entropy of its probabilities
 * (clipped as Keras does), with the share of the batch classified right as a term.
 */
function classifierLoss(
  classifier: LayersModel,
  classes: number,
  variables: tf.Variable[],
): FitModel {
  return {
    supervised: true,
    variables: () => variables,
    loss: (x, training, labels) => {
      const p = classifier.apply(x, { training }) as tf.Tensor;
      const logP = tf.log(tf.clipByValue(p, 1e-7, 1));
      const total = tf.neg(
        tf.mean(tf.sum(tf.mul(tf.oneHot(labels!, classes), logP), 1)),
      ) as tf.Scalar;
      const hits = tf.cast(tf.equal(tf.argMax(p, 1), labels!), 'float32');
      return { total, terms: { accuracy: tf.mean(hits) as tf.Scalar } };
    },
  };
}

/**
 * `aekit classify`: a classifier from a pretrained run's encoder (or the same network from
 * random weights), trained with Adam on a seeded `labelsFraction` of the labelled training
 * samples, scored on the test split. Writes a run directory like any other (its manifest has
 * `classifier`; the networks include `classifier`), which `aekit export` turns into
 * `classifier.onnx` beside the autoencoder's graphs. Every epoch is checkpointed: `signal`
 * stops it after the current batch (`TrainingInterrupted`, the run marked interrupted), and
 * `resume` continues it where an uninterrupted run would be. With a `validationSplit` of the
 * labelled samples, `patience` stops it early when their loss stops improving.
 */
export async function trainClassifier(
  options: ClassifyOptions,
  onEpoch: (epoch: ClassifierEpoch, of: number) => void = () => {},
  signal?: AbortSignal,
): Promise<ClassifyResult> {
  checkOptions(options);
  const out = new RunDirectory(options.out);
  // One writer per run, as for `aekit train`.
  const release = out.lock();
  try {
    return await classifyLocked(out, options, onEpoch, signal);
  } finally {
    release();
  }
}

async function classifyLocked(
  out: RunDirectory,
  options: ClassifyOptions,
  onEpoch: (epoch: ClassifierEpoch, of: number) => void,
  signal: AbortSignal | undefined,
): Promise<ClassifyResult> {
  let previous: RunManifest | undefined;
  let base: RunManifest;
  let settings: Settings;
  let changed: Record<string, { from: unknown; to: unknown }> = {};
  if (options.resume) {
    if (!out.exists()) throw aekitError('NothingToResume', out.root);
    previous = out.readManifest();
    if (!previous.classifier) {
      throw fail(`${out.root} is not a classifier run; continue it with aekit train --resume.`);
    }
    out.removeLeftovers();
    base = previous;
    ({ settings, changed } = resumedSettings(options, previous, out.root));
  } else {
    const preDir = new RunDirectory(options.run!);
    base = preDir.readManifest();
    if (base.classifier) {
      throw fail(`${options.run} is a classifier run; give the autoencoder run it came from.`);
    }
    settings = newSettings(options, base, preDir);
  }
  const { seed, freeze, epochs, batchSize, learningRate, source, dataDir } = settings;
  const { validationSplit, patience } = settings;
  if (patience > 0 && validationSplit === 0) {
    throw fail(
      '--patience: early stopping watches the validation loss; give a --validation-split above 0.',
    );
  }
  const backend = await selectBackend(options.backend ?? 'auto');
  const { train: pool, heldOut, split } = labelledData(base, source, dataDir, seed);
  const labelled = Math.max(1, Math.round(settings.labelsFraction * pool.count));
  const labelledSet = pool.take(
    permutation(pool.count, createRng(seed, 'labels')).subarray(0, labelled),
  );
  const { train, validation } =
    validationSplit > 0
      ? labelledSet.split(validationSplit, seed)
      : { train: labelledSet, validation: undefined };
  if (validation && validation.count === 0) {
    throw fail(
      `--validation-split ${validationSplit} holds out no sample of the ${labelled} labelled.`,
    );
  }
  const classes = [...new Set(pool.labels!)].sort((a, b) => a - b);
  const classOf = new Map(classes.map((c, i) => [c, i]));

  let model: AutoencoderModel;
  if (previous || settings.pretrained === null) {
    // From random weights; a resumed run's weights then come from its checkpoint.
    const plugin = asTfjsPlugin(getVariant(base.variant));
    const config = parseVariantOptions(plugin, base.options);
    model = plugin.trainer.build({ config, inputShape: base.inputShape, seed: seed + 1 });
  } else {
    model = loadRunModel(new RunDirectory(settings.pretrained)).model;
  }
  model = withClassifier(model, classes.length);
  const classifier = model.networks[CLASSIFIER_NETWORK]!;
  try {
    const variables = trainableOf(model, freeze);
    if (!previous) out.create(options.overwrite ?? false);
    const now = new Date().toISOString();
    const training: RunManifest['training'] = {
      epochs,
      batchSize,
      optimizer: 'adam',
      learningRate,
      seed,
      backend: backend.name,
      ...(patience > 0 ? { earlyStoppingPatience: patience } : {}),
      ...(patience > 0 && settings.minDelta > 0
        ? { earlyStoppingMinDelta: settings.minDelta }
        : {}),
    };
    let run: RunManifest;
    if (previous) {
      run = {
        ...previous,
        training,
        status: 'running',
        versions: packageVersions(),
        updatedAt: now,
        history: [
          ...(previous.history ?? []),
          { at: now, fromEpoch: previous.epochsCompleted, changed },
        ],
      };
    } else {
      // The pretrained run's graphs, phases, scores, files and resumptions are its own.
      const { onnx: _o, phases: _p, metrics: _m, files: _f, history: _h, ...kept } = base;
      run = {
        ...kept,
        training,
        data: {
          ...base.data,
          source,
          ...(dataDir ? { dataDir } : {}),
          trainCount: train.count,
          validationCount: validation?.count ?? 0,
        },
        networks: Object.fromEntries(
          Object.keys(model.networks).map((name) => [name, networkDir(name)]),
        ),
        classifier: {
          pretrained: settings.pretrained,
          freeze,
          labelsFraction: settings.labelsFraction,
          labelled,
          classes,
          ...(validationSplit > 0 ? { validationSplit } : {}),
        },
        status: 'running',
        epochsCompleted: 0,
        versions: packageVersions(),
        createdAt: now,
        updatedAt: now,
      };
    }
    let testAccuracy = 0;
    const { lines: metrics } = await fitInRun(
      out,
      run,
      { ...classifierLoss(classifier, classes.length, variables), networks: model.networks },
      previous !== undefined,
      {
        data: withClassNumbers(train, classOf),
        ...(validation ? { validation: withClassNumbers(validation, classOf) } : {}),
        epochs,
        batchSize,
        seed,
        optimizer: () => tf.train.adam(learningRate),
        patience,
        minDelta: settings.minDelta,
        ...(signal ? { signal } : {}),
      },
      {
        command: 'aekit classify',
        line: async (e): Promise<ClassifierEpoch> => ({
          epoch: e.epoch,
          loss: e.loss,
          accuracy: e.terms.accuracy!,
          ...(e.valLoss !== undefined ? { valLoss: e.valLoss } : {}),
          ...(validation
            ? { valAccuracy: await classifierAccuracy(classifier, validation, classes) }
            : {}),
          seconds: e.seconds,
          samplesPerSecond: e.samplesPerSecond,
        }),
        saved: (line, e) => onEpoch(line, e.epochs),
        finish: async () => {
          testAccuracy = await classifierAccuracy(classifier, heldOut, classes);
          run.metrics = { ...run.metrics, testAccuracy };
        },
      },
    );
    return { run: out.root, manifest: run, metrics, testAccuracy, split };
  } finally {
    disposeNetworks(model.networks);
  }
}
