import {
  aekitError,
  type Dataset,
  getVariant,
  type HashRetrievalMetrics,
  hashRetrievalMetrics,
  meanSquaredError,
  packBits,
  type RunManifest,
  reconstructionMetric,
  tile,
} from '@aekit/core';
import { BUILTIN_DATASETS, loadDataFile, loadDataset, RunDirectory } from '@aekit/core/node';
import type * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../backends/index.js';
import { classifierAccuracy } from '../downstream/classifier-accuracy.js';
import { fitLinearProbe, type ProbeOptions, type ProbeReport } from '../downstream/probe.js';
import { loadRunData } from '../engine/data.js';
import { mapBatches, meanOverBatches } from '../model/batches.js';
import { CLASSIFIER_NETWORK } from '../model/classifier.js';
import { loadRunModel } from '../model/io.js';
import { type AutoencoderModel, disposeNetworks } from '../plugin.js';

/**
 * The samples a run is scored on: the `test` split of a built-in data set, the run's
 * `validation` split, or a user's `file` (`data`).
 */
export type EvaluationSplit = 'test' | 'validation' | 'file';

/** Reconstruction quality of a run on held-out data, next to the mean-image baseline. */
export interface EvaluationReport {
  readonly run: string;
  readonly variant: string;
  /**
   * `file` for the file given as `data`; else `test` for data sets with a test split, else
   * the run's validation split.
   */
  readonly split: EvaluationSplit;
  /** The file scored (split `file`), as given. */
  readonly data?: string;
  /** The labels file of `data`, as given, when there was one. */
  readonly labels?: string;
  readonly samples: number;
  /** The variant's reconstruction loss (`bce` or `mse`). */
  readonly lossName: string;
  readonly loss: number;
  readonly mse: number;
  /** Predicting the mean training sample for every input. */
  readonly baseline: { readonly loss: number; readonly mse: number };
  /** `mse / baseline.mse`: below 1 the model beats the baseline. */
  readonly mseRatio: number;
  /**
   * The variant's own held-out measures, means over the samples (e.g. a VAE's
   * `negativeElbo` in nats per image); absent for variants without any.
   */
  readonly measures?: Readonly<Record<string, number>>;
  /**
   * For variants that can hash, on labelled held-out data: precision@10 of Hamming-ranked
   * retrieval and the label purity of radius-1 sets, each next to the same codes dealt to
   * the items at random (see `hashRetrievalMetrics`).
   */
  readonly retrieval?: HashRetrievalMetrics;
  /** With `probe`: a logistic regression fitted to the training codings, scored held out. */
  readonly probe?: ProbeReport;
  /** A classifier run's held-out accuracy (`aekit classify`). */
  readonly classification?: { readonly accuracy: number };
}

/** The k of the precision@k that `aekit eval` reports for hashing models. */
export const RETRIEVAL_K = 10;

/**
 * A file to score instead of the run's held-out split: raw samples of the run's input shape
 * (IDX, NPY or CSV), normalised (and binarised) as the training data was.
 */
export interface EvaluationFile {
  /** The samples' file. */
  readonly data: string;
  /** One integer label per sample (one-column CSV, NPY or IDX), for the labelled measures. */
  readonly labels?: string;
}

/** Options of {@link evaluateRun}. */
export interface EvaluateOptions {
  readonly backend?: string;
  /** Folder of a built-in data set's files, if not where training found them. */
  readonly dataDir?: string;
  /**
   * Score this file (samples of the run's input shape, raw as the training data was: IDX,
   * NPY or CSV) instead of the held-out split, as Keras's `evaluate(x_test)`.
   */
  readonly data?: string;
  /** Labels of `data`, one per sample: retrieval, probe and classifier accuracy use them. */
  readonly labels?: string;
  /** Fit a linear probe on the codings of the training split (labelled data only). */
  readonly probe?: boolean | ProbeOptions;
}

/** The data a run is judged on: its training split (for baselines) and held-out samples. */
export interface EvaluationData {
  readonly train: Dataset;
  readonly heldOut: Dataset;
  /** `file` for a file given; else `test` for data sets with a test split, else `validation`. */
  readonly split: EvaluationSplit;
}

/**
 * Reloads a run's data as recorded in its manifest: the training split and the held-out
 * samples (the test split of a built-in data set, else the run's validation split), or the
 * samples of `file` in their place, read as the training data was (see `loadDataFile`).
 */
export function loadEvaluationData(
  manifest: RunManifest,
  dataDirOverride?: string,
  file?: EvaluationFile,
): EvaluationData {
  if (manifest.data.source.startsWith('memory:')) {
    throw aekitError(
      'InvalidArgument',
      `The run was trained on in-memory data ("${manifest.data.source}"), which cannot be reloaded.`,
    );
  }
  const dataDir = dataDirOverride ?? manifest.data.dataDir;
  const spec = {
    data: manifest.data.source,
    validationSplit: manifest.data.validationSplit,
    normalize: manifest.data.normalize,
    seed: manifest.training.seed,
    ...(dataDir ? { dataDir } : {}),
    ...(manifest.data.limit ? { limit: manifest.data.limit } : {}),
  };
  const { train, validation } = loadRunData(spec, {
    ...manifest,
    data: { ...manifest.data, ...(dataDir ? { dataDir } : {}) },
  });
  const hasTest = manifest.data.source in BUILTIN_DATASETS;
  const binarize = manifest.data.binarize;
  if (file) {
    const dataset = loadDataFile({
      path: file.data,
      sampleShape: manifest.inputShape,
      normalization: manifest.normalization,
      ...(file.labels !== undefined ? { labels: file.labels } : {}),
    });
    const heldOut = binarize === undefined ? dataset : dataset.binarize(binarize);
    return { train, heldOut, split: 'file' };
  }
  const test = () => {
    const { dataset } = loadDataset({
      source: manifest.data.source,
      split: 'test',
      normalization: manifest.normalization,
      ...(dataDir ? { dataDir } : {}),
    });
    return binarize === undefined ? dataset : dataset.binarize(binarize);
  };
  const heldOut = hasTest ? test() : validation;
  return { train, heldOut, split: hasTest ? 'test' : 'validation' };
}

/**
 * Evaluates a finished run: reconstruction loss and MSE on the test split (or the
 * validation split for data without one, or the file given as `data`), and the same for the
 * mean-image baseline (the mean training sample).
 */
export async function evaluateRun(
  dir: string,
  options: EvaluateOptions = {},
): Promise<EvaluationReport> {
  const run = new RunDirectory(dir);
  const manifest = run.readManifest();
  await selectBackend(options.backend ?? 'auto');
  if (options.labels !== undefined && options.data === undefined) {
    throw aekitError(
      'InvalidArgument',
      'Labels were given without data: pass the file they label as `data` (--data FILE --labels FILE).',
    );
  }
  const file: EvaluationFile | undefined =
    options.data === undefined
      ? undefined
      : { data: options.data, ...(options.labels !== undefined ? { labels: options.labels } : {}) };
  const { model } = loadRunModel(run);
  try {
    const { train, heldOut, split } = loadEvaluationData(manifest, options.dataDir, file);
    if (heldOut.count === 0) {
      throw aekitError(
        'EmptyDataset',
        `Run "${run.root}" has no held-out samples to evaluate on (validation split 0): score a file of samples instead, \`aekit eval ${dir} --data FILE\` (evaluateRun's \`data\` option).`,
      );
    }
    const outputs = await mapBatches(heldOut, manifest.inputShape, (x) => model.reconstruct(x));
    const metric = reconstructionMetric(model.reconstructionLoss);
    const baseline = tile(train.mean(), heldOut.count);
    const mse = meanSquaredError(heldOut.x, outputs);
    const baselineMse = meanSquaredError(heldOut.x, baseline);
    const measures = model.measures
      ? await meanOverBatches(heldOut, manifest.inputShape, (x) => model.measures!(x))
      : undefined;
    // Codes are the codings rounded to bits, as `hash` gives them.
    const canHash = getVariant(manifest.variant).capabilities.includes('hash');
    const retrieval =
      canHash && heldOut.labels
        ? hashRetrievalMetrics(
            packBits(
              await mapBatches(heldOut, manifest.inputShape, (x) => model.encode(x)),
              manifest.codingShape.reduce((a, b) => a * b, 1),
            ),
            heldOut.labels,
            { k: RETRIEVAL_K, seed: manifest.training.seed },
          )
        : undefined;
    const classifier = model.networks[CLASSIFIER_NETWORK];
    const classification =
      manifest.classifier && classifier && heldOut.labels
        ? { accuracy: await classifierAccuracy(classifier, heldOut, manifest.classifier.classes) }
        : undefined;
    const probe = options.probe
      ? await probeCodings(model, train, heldOut, manifest, options.probe, file)
      : undefined;
    return {
      run: run.root,
      variant: manifest.variant,
      split,
      ...(file ? file : {}),
      samples: heldOut.count,
      lossName: model.reconstructionLoss,
      loss: metric(heldOut.x, outputs),
      mse,
      baseline: { loss: metric(heldOut.x, baseline), mse: baselineMse },
      mseRatio: mse / baselineMse,
      ...(measures ? { measures } : {}),
      ...(retrieval ? { retrieval } : {}),
      ...(probe ? { probe } : {}),
      ...(classification ? { classification } : {}),
    };
  } finally {
    disposeNetworks(model.networks);
  }
}

/** A linear probe of a model's codings: fitted on `train`, scored on `heldOut`. */
async function probeCodings(
  model: AutoencoderModel,
  train: Dataset,
  heldOut: Dataset,
  manifest: RunManifest,
  options: true | ProbeOptions,
  file: EvaluationFile | undefined,
): Promise<ProbeReport> {
  if (train.labels && file && !heldOut.labels) {
    throw aekitError(
      'InvalidArgument',
      `--probe needs the labels of "${file.data}": pass them with --labels FILE (evaluateRun's \`labels\` option).`,
    );
  }
  if (!train.labels || !heldOut.labels) {
    throw aekitError(
      'InvalidArgument',
      `--probe needs labelled data: ${manifest.data.source} has no labels. It works on mnist and fashion-mnist.`,
    );
  }
  const features = manifest.codingShape.reduce((a, b) => a * b, 1);
  const encode = (x: tf.Tensor) => model.encode(x);
  return fitLinearProbe(
    await mapBatches(train, manifest.inputShape, encode),
    train.labels,
    await mapBatches(heldOut, manifest.inputShape, encode),
    heldOut.labels,
    features,
    { seed: manifest.training.seed, ...(options === true ? {} : options) },
  );
}
