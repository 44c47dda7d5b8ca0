/**
 * The jobs `aekit bench` can run: frozen data, one row per job.
 *
 * Every training job trains aekit's `stacked` (or `conv`, or `vae`) variant and the same network in PyTorch on
 * the first N MNIST training images (sigmoid output, binary cross-entropy averaged over
 * every value, Adam with learning rate 1e-3, seed 42); every encode job times the encoder of
 * the second-edition model on MNIST test images.
 */

/** Hidden-layer activations the bench models use (both sides implement them identically). */
export type BenchActivation = 'elu' | 'selu';

/** A training job: samples/s of one training run and the test loss it reaches. */
export interface TrainJob {
  readonly kind: 'train';
  /** What `--jobs` calls it. */
  readonly id: string;
  /** One line for the table and `--help`. */
  readonly title: string;
  /**
   * The aekit variant trained (`stacked`: dense layers; `conv`: convolutions; `vae`: the
   * dense variational autoencoder).
   */
  readonly variant: 'stacked' | 'conv' | 'vae';
  /** The network in one word, e.g. `784-100-30-100-784` or `conv 16-32-64`. */
  readonly architecture: string;
  /**
   * Dense jobs: encoder layer sizes after the 784 inputs, the coding last (the decoder
   * mirrors them).
   */
  readonly layers: readonly number[];
  /** Conv jobs: channels of the encoder's convolution levels (the decoder mirrors them). */
  readonly filters?: readonly number[];
  readonly activation: BenchActivation;
  readonly batchSize: number;
  /** Training images per epoch by default (`--samples` overrides it). */
  readonly samples: number;
  /** Training images per epoch with `--quick`. */
  readonly quickSamples: number;
  /**
   * Why the two sides' test losses differ by more than float rounding even when PyTorch
   * replays aekit's initial weights and batch order (random draws each side makes itself).
   */
  readonly ownNoise?: string;
}

/** An encode job: samples/s of `encode()` on the runtime against PyTorch inference. */
export interface EncodeJob {
  readonly kind: 'encode';
  readonly id: string;
  readonly title: string;
  /** Encoder layer sizes after the 784 inputs. */
  readonly layers: readonly number[];
  readonly activation: BenchActivation;
  /** Samples per `encode()` call. */
  readonly batchSize: number;
}

/** Any bench job. */
export type BenchJob = TrainJob | EncodeJob;

/** The 784 inputs of an MNIST digit. */
export const MNIST_FEATURES = 784;
/** Images in the MNIST training set: the most `--samples` may ask for. */
export const MNIST_TRAIN_IMAGES = 60000;
/** Untimed epochs every training run starts with (JIT, wasm compilation, allocators). */
export const WARMUP_EPOCHS = 1;
/** The relative test-loss difference within which aekit and PyTorch count as equal quality. */
export const QUALITY_TOLERANCE = 0.02;
/** The seed both sides train with (aekit's default seed). */
export const BENCH_SEED = 42;

const FIRST = Object.freeze([300, 150]);
const SECOND = Object.freeze([100, 30]);

function trainJob(
  edition: 'first' | 'second',
  batchSize: number,
  samples: number,
  quickSamples: number,
): TrainJob {
  const layers = edition === 'first' ? FIRST : SECOND;
  const activation = edition === 'first' ? 'elu' : 'selu';
  return Object.freeze({
    kind: 'train',
    id: `${activation}-b${batchSize}`,
    title: `stacked ${modelName(layers)} ${activation.toUpperCase()} (${edition} edition), batch ${batchSize}`,
    variant: 'stacked',
    architecture: modelName(layers),
    layers,
    activation,
    batchSize,
    samples,
    quickSamples,
  });
}

function encodeJob(batchSize: number): EncodeJob {
  return Object.freeze({
    kind: 'encode',
    id: `encode-b${batchSize}`,
    title: `encoder ${[MNIST_FEATURES, ...SECOND].join('-')} SELU (second edition), batch ${batchSize}`,
    layers: SECOND,
    activation: 'selu',
    batchSize,
  });
}

const CONV_FILTERS = Object.freeze([16, 32, 64]);

/**
 * The convolutional autoencoder (aekit's `conv` variant with its defaults): 3x3 SELU
 * convolutions with 2x2 max pooling, 28 -> 14 -> 7 -> 3, and stride-2 transposed
 * convolutions back (46,529 weights).
 */
function convJob(batchSize: number, samples: number, quickSamples: number): TrainJob {
  return Object.freeze({
    kind: 'train',
    id: `conv-b${batchSize}`,
    title: `convolutional ${CONV_FILTERS.join('/')} channels, SELU, batch ${batchSize}`,
    variant: 'conv',
    architecture: `conv ${CONV_FILTERS.join('-')}`,
    layers: Object.freeze([]),
    filters: CONV_FILTERS,
    activation: 'selu',
    batchSize,
    samples,
    quickSamples,
  });
}

const VAE_LAYERS = Object.freeze([500, 500, 20]);

/**
 * The variational autoencoder (aekit's `vae` variant with its defaults): ELU layers
 * 784-500-500, mean and log-variance heads of 20, the decoder mirrored to logits and a
 * sigmoid; the loss is the cross-entropy summed over the pixels plus the KL divergence to
 * N(0, I), both averaged over the batch.
 */
function vaeJob(batchSize: number, samples: number, quickSamples: number): TrainJob {
  return Object.freeze({
    kind: 'train',
    id: `vae-b${batchSize}`,
    title: `variational ${modelName(VAE_LAYERS)} ELU, batch ${batchSize}`,
    variant: 'vae',
    architecture: modelName(VAE_LAYERS),
    layers: VAE_LAYERS,
    activation: 'elu',
    batchSize,
    samples,
    quickSamples,
    ownNoise:
      'each side draws its own reparameterisation noise, so the test losses also differ by the luck of the draws',
  });
}

/**
 * Every job, in the order they run. Batch 32 jobs train on fewer images than batch 256
 * ones: a step costs about the same at both sizes in tfjs, so batch 32 is the slow one.
 */
export const BENCH_JOBS: readonly BenchJob[] = Object.freeze([
  trainJob('first', 32, 6000, 256),
  trainJob('first', 256, 12000, 1024),
  trainJob('second', 32, 6000, 256),
  trainJob('second', 256, 12000, 1024),
  convJob(32, 3000, 128),
  convJob(128, 3000, 256),
  vaeJob(128, 12000, 256),
  encodeJob(1),
  encodeJob(256),
]);

/** The ids of {@link BENCH_JOBS}, in order. */
export const BENCH_JOB_IDS: readonly string[] = Object.freeze(BENCH_JOBS.map((j) => j.id));

/** `784-300-150-300-784` for encoder layers `[300, 150]`. */
export function modelName(layers: readonly number[]): string {
  return [MNIST_FEATURES, ...layers, ...[...layers].reverse().slice(1), MNIST_FEATURES].join('-');
}
