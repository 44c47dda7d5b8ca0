import {
  aekitError,
  createRng,
  type Dataset,
  getVariant,
  parseVariantOptions,
  permutation,
  type RunManifest,
} from '@aekit/core';
import { BUILTIN_DATASETS, loadDataset, RunDirectory } from '@aekit/core/node';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from './backends/index.js';
import { classifierAccuracy } from './classifier-accuracy.js';
import { CLASSIFIER_NETWORK, withClassifier } from './classifier-model.js';
import { toBatchTensor } from './engine/loss.js';
import { networkDir, saveNetwork } from './engine/model-io.js';
import { packageVersions } from './engine/versions.js';
import { loadRunModel } from './evaluate.js';
import { type AutoencoderModel, asTfjsPlugin, disposeNetworks } from './plugin.js';
import { registerBuiltinVariants } from './register-all.js';

/** Options of {@link trainClassifier}. */
export interface ClassifyOptions {
  /** The pretrained run: its variant and options make the encoder, its weights start it. */
  readonly run: string;
  /** Where the classifier run goes. */
  readonly out: string;
  /** Labelled data: a built-in name or a file (default: the run's data). */
  readonly data?: string;
  readonly dataDir?: string;
  /** Share of the training split whose labels are used, in (0, 1]. */
  readonly labelsFraction: number;
  /**
   * Encoder layers (those with weights, in order) kept as they are: `all` trains the head
   * alone, `none` (default) fine-tunes everything, a number freezes that many first layers.
   */
  readonly freeze?: 'all' | 'none' | number;
  /** The same network from random weights instead of the run's. */
  readonly fromScratch?: boolean;
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly learningRate?: number;
  /** Seed of the labelled subset, the head and the shuffles (default: the run's). */
  readonly seed?: number;
  readonly backend?: string;
  readonly overwrite?: boolean;
}

/** One epoch of a classifier's training. */
export interface ClassifierEpoch {
  readonly epoch: number;
  /** Mean cross-entropy of the epoch's batches. */
  readonly loss: number;
  /** Share of the epoch's training samples classified right (before each batch's step). */
  readonly accuracy: number;
  readonly seconds: number;
  readonly samplesPerSecond: number;
}

/** What {@link trainClassifier} returns. */
export interface ClassifyResult {
  readonly run: string;
  readonly manifest: RunManifest;
  readonly metrics: readonly ClassifierEpoch[];
  /** Share of the held-out samples classified right. */
  readonly testAccuracy: number;
  /** Which samples it was scored on: the test split, or a held-out tenth of the training data. */
  readonly split: 'test' | 'validation';
}

function checkOptions(o: ClassifyOptions): void {
  const fail = (what: string) => aekitError('InvalidArgument', `aekit classify: ${what}`);
  if (!(o.labelsFraction > 0 && o.labelsFraction <= 1)) {
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

/**
 * `aekit classify`: a classifier from a pretrained run's encoder (or the same network from
 * random weights), trained with Adam on a seeded `labelsFraction` of the labelled training
 * samples, scored on the test split. Writes a run directory like any other (its manifest has
 * `classifier`; the networks include `classifier`), which `aekit export` turns into
 * `classifier.onnx` beside the autoencoder's graphs.
 */
export async function trainClassifier(
  options: ClassifyOptions,
  onEpoch: (epoch: ClassifierEpoch, of: number) => void = () => {},
): Promise<ClassifyResult> {
  checkOptions(options);
  registerBuiltinVariants();
  const preDir = new RunDirectory(options.run);
  const pre = preDir.readManifest();
  if (pre.classifier) {
    throw aekitError(
      'InvalidArgument',
      `aekit classify: ${options.run} is a classifier run; give the autoencoder run it came from.`,
    );
  }
  const seed = options.seed ?? pre.training.seed;
  const freeze = options.freeze ?? 'none';
  const epochs = options.epochs ?? 10;
  const batchSize = options.batchSize ?? 32;
  const learningRate = options.learningRate ?? 0.001;
  const source = options.data ?? pre.data.source;
  const dataDir = options.data ? options.dataDir : (options.dataDir ?? pre.data.dataDir);
  const backend = await selectBackend(options.backend ?? 'auto');
  const { train: pool, heldOut, split } = labelledData(pre, source, dataDir, seed);
  const labelled = Math.max(1, Math.round(options.labelsFraction * pool.count));
  const train = pool.take(permutation(pool.count, createRng(seed, 'labels')).subarray(0, labelled));
  const classes = [...new Set(pool.labels!)].sort((a, b) => a - b);
  const classOf = new Map(classes.map((c, i) => [c, i]));

  const out = new RunDirectory(options.out);
  let model: AutoencoderModel;
  if (options.fromScratch) {
    const plugin = asTfjsPlugin(getVariant(pre.variant));
    const config = parseVariantOptions(plugin, pre.options);
    model = plugin.trainer.build({ config, inputShape: pre.inputShape, seed: seed + 1 });
  } else {
    model = loadRunModel(preDir).model;
  }
  model = withClassifier(model, classes.length);
  const classifier = model.networks[CLASSIFIER_NETWORK]!;
  const optimizer = tf.train.adam(learningRate);
  let release: (() => void) | undefined;
  try {
    const variables = trainableOf(model, freeze);
    release = out.lock();
    out.create(options.overwrite ?? false);
    const now = new Date().toISOString();
    const manifest: RunManifest = {
      ...pre,
      training: { epochs, batchSize, optimizer: 'adam', learningRate, seed, backend: backend.name },
      data: {
        ...pre.data,
        source,
        ...(dataDir ? { dataDir } : {}),
        trainCount: train.count,
        validationCount: 0,
      },
      networks: Object.fromEntries(
        Object.keys(model.networks).map((name) => [name, networkDir(name)]),
      ),
      classifier: {
        pretrained: options.fromScratch ? null : preDir.root,
        freeze,
        labelsFraction: options.labelsFraction,
        labelled,
        classes,
      },
      status: 'running',
      epochsCompleted: 0,
      versions: packageVersions(),
      createdAt: now,
      updatedAt: now,
    };
    delete (manifest as { onnx?: unknown }).onnx;
    delete (manifest as { phases?: unknown }).phases;
    delete (manifest as { metrics?: unknown }).metrics;
    // The pretrained run's files and resumptions are its own.
    delete (manifest as { files?: unknown }).files;
    delete (manifest as { history?: unknown }).history;
    out.writeManifest(manifest);

    const metrics: ClassifierEpoch[] = [];
    const targets = (labels: Int32Array) =>
      tf.tensor1d(
        Int32Array.from(labels, (l) => classOf.get(l)!),
        'int32',
      );
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const start = performance.now();
      let lossSum = 0;
      let right = 0;
      for (const b of train.batches(batchSize, { shuffle: true, seed, epoch })) {
        const x = toBatchTensor(b, train.sampleShape);
        const y = targets(b.labels!);
        const [loss, hits] = tf.tidy(() => {
          let predicted: tf.Tensor | undefined;
          const cost = optimizer.minimize(
            () => {
              const p = classifier.apply(x, { training: true }) as tf.Tensor;
              predicted = tf.keep(tf.argMax(p, 1));
              // Categorical cross-entropy, probabilities clipped as Keras does.
              const logP = tf.log(tf.clipByValue(p, 1e-7, 1));
              return tf.neg(
                tf.mean(tf.sum(tf.mul(tf.oneHot(y, classes.length), logP), 1)),
              ) as tf.Scalar;
            },
            true,
            variables,
          )!;
          return [tf.mul(cost, b.size), tf.sum(tf.cast(tf.equal(predicted!, y), 'float32'))];
        });
        lossSum += (await loss.data())[0]!;
        right += (await hits.data())[0]!;
        tf.dispose([x, y, loss, hits]);
      }
      const seconds = (performance.now() - start) / 1000;
      const line: ClassifierEpoch = {
        epoch,
        loss: lossSum / train.count,
        accuracy: right / train.count,
        seconds,
        samplesPerSecond: train.count / seconds,
      };
      metrics.push(line);
      out.writeMetrics(metrics.map((m) => ({ ...m })));
      onEpoch(line, epochs);
    }
    const testAccuracy = await classifierAccuracy(classifier, heldOut, classes);
    for (const [name, net] of Object.entries(model.networks)) {
      await saveNetwork(out, networkDir(name), net);
    }
    manifest.status = 'completed';
    manifest.epochsCompleted = epochs;
    manifest.metrics = { loss: metrics.at(-1)!.loss, testAccuracy };
    manifest.updatedAt = new Date().toISOString();
    out.writeManifest(manifest);
    return { run: out.root, manifest, metrics, testAccuracy, split };
  } finally {
    release?.();
    optimizer.dispose();
    disposeNetworks(model.networks);
  }
}
