import { writeFileSync } from 'node:fs';
import { createRng, getVariant, parseVariantOptions, permutation } from '@aekit/core';
import { loadDataset } from '@aekit/core/node';
import { type Autoencoder, loadAutoencoder } from '@aekit/runtime-web';
import {
  asTfjsPlugin,
  disposeNetworks,
  evaluateRun,
  exportRun,
  selectBackend,
  type TrainEvent,
  train,
  useWasmBlas,
  wasmBlas,
} from '@aekit/trainers';
import { MNIST_FEATURES, type TrainJob } from './jobs.js';

/** How an aekit training run is set up. */
export interface AekitTrainSettings {
  readonly samples: number;
  readonly warmupEpochs: number;
  readonly timedEpochs: number;
  /** `--backend` (`auto`, `wasm`, `cpu`, `webgpu`, `tensorflow`). */
  readonly backend: string;
  readonly seed: number;
  /** Run directory to write (replaced if it exists). */
  readonly out: string;
  /**
   * Whether the wasm backend multiplies on BLAS (where one was found) or on tfjs's own
   * kernels, as a machine without one does; default: BLAS where found.
   */
  readonly blas?: boolean;
}

/** One aekit training run, measured. */
export interface AekitTrainRun {
  readonly run: string;
  /** The backend that ran it, and its details. */
  readonly backend: string;
  readonly backendDetail: string;
  /** Whether the products ran on BLAS. */
  readonly blas: boolean;
  readonly samples: number;
  /** Training images per second over the timed epochs. */
  readonly samplesPerSecond: number;
  /** CPU seconds of this process per wall-clock second of the timed epochs. */
  readonly coresBusy: number;
  /** Every timed epoch's training loop, in milliseconds. */
  readonly epochMs: readonly number[];
  /** Mean training loss of the last epoch. */
  readonly trainLoss: number;
  /** Binary cross-entropy on the MNIST test set after training. */
  readonly testLoss: number;
  readonly testSamples: number;
  /** Package versions the run recorded in its manifest. */
  readonly versions: Readonly<Record<string, string>>;
}

/** The variant options of a job (everything else at the variant's defaults). */
function variantOptions(job: TrainJob): Record<string, unknown> {
  if (job.variant === 'conv') {
    return { filters: [...(job.filters ?? [])], convActivation: job.activation, loss: 'bce' };
  }
  if (job.variant === 'vae') {
    return {
      arch: 'dense',
      layers: job.layers.slice(0, -1),
      codingSize: job.layers.at(-1),
      activation: job.activation,
    };
  }
  return {
    layers: [...job.layers],
    activation: job.activation,
    loss: 'bce',
    outputActivation: 'sigmoid',
  };
}

/**
 * Trains `job` with aekit's `train()`, exactly as `aekit train` does (`figures: false`,
 * `validationSplit: 0`), and evaluates the result on the MNIST test set with
 * `evaluateRun`. The samples/s are those of the training loops of the timed epochs
 * (batch assembly, forward, backward, Adam step, reading the loss), as the engine reports
 * them in its `epoch-end` events: no data loading, checkpointing or evaluation.
 */
export async function runAekitTraining(
  job: TrainJob,
  settings: AekitTrainSettings,
): Promise<AekitTrainRun> {
  let start: Extract<TrainEvent, { type: 'start' }> | undefined;
  const ends: Extract<TrainEvent, { type: 'epoch-end' }>[] = [];
  const busy = new BusyMeter();
  useWasmBlas(settings.blas ?? true);
  const result = await train(
    {
      variant: job.variant,
      data: 'mnist',
      limit: settings.samples,
      epochs: settings.warmupEpochs + settings.timedEpochs,
      batchSize: job.batchSize,
      optimizer: 'adam',
      learningRate: 1e-3,
      seed: settings.seed,
      backend: settings.backend as 'auto',
      validationSplit: 0,
      figures: false,
      out: settings.out,
      overwrite: true,
      options: variantOptions(job),
    },
    (event) => {
      if (event.type === 'start') start = event;
      else if (event.type === 'epoch-start' && ends.length >= settings.warmupEpochs) busy.start();
      else if (event.type === 'epoch-end') {
        ends.push(event);
        busy.stop();
      }
    },
  );
  if (!start) throw new Error('train() reported no start event');
  const timed = ends.slice(settings.warmupEpochs);
  const seconds = timed.reduce((s, e) => s + e.seconds, 0);
  const evaluation = await evaluateRun(result.run, { backend: start.backend });
  if (evaluation.lossName !== 'bce') {
    throw new Error(`the run was evaluated with ${evaluation.lossName}, not bce`);
  }
  return {
    run: result.run,
    backend: start.backend,
    backendDetail: start.detail,
    blas: start.backend === 'wasm' && wasmBlas() !== null,
    samples: start.trainCount,
    samplesPerSecond: (start.trainCount * timed.length) / seconds,
    coresBusy: busy.coresBusy,
    epochMs: timed.map((e) => e.seconds * 1000),
    trainLoss: ends[ends.length - 1]!.loss,
    testLoss: evaluation.loss,
    testSamples: evaluation.samples,
    versions: result.manifest.versions,
  };
}

/** A loaded encoder ready to be timed, and the test digits it encodes. */
export interface AekitEncoder {
  readonly autoencoder: Autoencoder;
  /** The first MNIST test images, scaled to [0, 1] like the training data. */
  readonly digits: Float32Array;
  /** Where ONNX Runtime runs (`cpu`) and its execution providers. */
  readonly device: string;
  readonly executionProviders: readonly string[];
}

/**
 * Exports a trained run with `exportRun` (which checks the ONNX graphs against tfjs) and
 * loads it with the runtime on onnxruntime-node's CPU provider, with `threads` intra-op
 * threads so that it uses as many threads as the PyTorch reference.
 */
export async function loadAekitEncoder(
  run: string,
  threads: number,
  images: number,
): Promise<AekitEncoder> {
  await exportRun(run);
  const autoencoder = await loadAutoencoder(run, {
    device: 'cpu',
    sessionOptions: { intraOpNumThreads: threads, interOpNumThreads: 1 },
  });
  const { dataset } = loadDataset({
    source: 'mnist',
    split: 'test',
    limit: images,
    normalize: 'unit',
  });
  return {
    autoencoder,
    digits: dataset.x,
    device: autoencoder.info.device,
    executionProviders: autoencoder.info.executionProviders,
  };
}

/**
 * CPU time of this process (every thread: tfjs, the BLAS, ONNX Runtime) over wall-clock time,
 * summed over the intervals between `start()` and `stop()`.
 */
export class BusyMeter {
  #cpuMicros = 0;
  #wallMs = 0;
  #open: { cpu: NodeJS.CpuUsage; wall: number } | undefined;

  start(): void {
    this.#open = { cpu: process.cpuUsage(), wall: performance.now() };
  }

  stop(): void {
    if (!this.#open) return;
    const { user, system } = process.cpuUsage(this.#open.cpu);
    this.#cpuMicros += user + system;
    this.#wallMs += performance.now() - this.#open.wall;
    this.#open = undefined;
  }

  /** CPU seconds per wall-clock second (NaN before a whole interval). */
  get coresBusy(): number {
    return this.#cpuMicros / 1000 / this.#wallMs;
  }
}

/** How long a timed loop ran and how many calls it made. */
export interface CallTiming {
  readonly calls: number;
  readonly seconds: number;
  readonly msPerCall: number;
  /** CPU seconds per wall-clock second of the timed calls. */
  readonly coresBusy: number;
}

/**
 * Calls `fn` `warmupCalls` times untimed, then times calls until `seconds` have passed and
 * at least `minCalls` were made: the same rule as the reference script's encode mode.
 */
export async function timeCalls(
  fn: () => Promise<unknown>,
  seconds: number,
  warmupCalls = 5,
  minCalls = 5,
): Promise<CallTiming> {
  for (let i = 0; i < warmupCalls; i++) await fn();
  let calls = 0;
  const busy = new BusyMeter();
  busy.start();
  const started = performance.now();
  let elapsed = 0;
  do {
    await fn();
    calls++;
    elapsed = (performance.now() - started) / 1000;
  } while (calls < minCalls || elapsed < seconds);
  busy.stop();
  return {
    calls,
    seconds: elapsed,
    msPerCall: (elapsed * 1000) / calls,
    coresBusy: busy.coresBusy,
  };
}

/** One timed encode run of the runtime. */
export interface AekitEncodeRun extends CallTiming {
  readonly samplesPerSecond: number;
}

/** Times `encode()` at `batchSize` on the first test digits for about `seconds`. */
export async function runAekitEncode(
  encoder: AekitEncoder,
  batchSize: number,
  seconds: number,
): Promise<AekitEncodeRun> {
  const data = encoder.digits.subarray(0, batchSize * MNIST_FEATURES);
  if (data.length < batchSize * MNIST_FEATURES) {
    throw new Error(`only ${encoder.digits.length / MNIST_FEATURES} test digits are loaded`);
  }
  const shape = [batchSize, 28, 28, 1];
  const timing = await timeCalls(() => encoder.autoencoder.encode({ data, shape }), seconds);
  return { ...timing, samplesPerSecond: (timing.calls * batchSize) / timing.seconds };
}

/** Files that let the PyTorch reference replay an aekit run (see {@link writeReplayFiles}). */
export interface ReplayFiles {
  /** `FILE.json` (the tensor shapes) beside `FILE.bin` (float32 values, little-endian). */
  readonly initWeights: string;
  /** int32 indices, little-endian, `[epochs, samples]`: the order of every epoch. */
  readonly order: string;
}

/**
 * Writes what the PyTorch reference needs to do exactly the work aekit's `train()` does for
 * `job`: the initial weights (the variant's model built with the run's seed, as `train()`
 * builds it: encoder then decoder, each layer's kernel then bias) and the
 * sample order of every epoch (the engine's seeded shuffle, `permutation(n, createRng(seed,
 * 'epoch-E'))`). Given both, the two sides compute the same per-step losses to about four
 * decimals; without them, the initial weights alone move the test loss by about 2 %.
 * Needs a tfjs backend: `backend` is started first.
 */
export async function writeReplayFiles(
  job: TrainJob,
  settings: {
    readonly samples: number;
    readonly epochs: number;
    readonly seed: number;
    readonly backend: string;
    readonly prefix: string;
  },
): Promise<ReplayFiles> {
  await selectBackend(settings.backend);
  const plugin = asTfjsPlugin(getVariant(job.variant));
  const config = parseVariantOptions(plugin, variantOptions(job));
  const model = plugin.trainer.build({ config, inputShape: [28, 28, 1], seed: settings.seed });
  const shapes: number[][] = [];
  const parts: Float32Array[] = [];
  try {
    for (const net of [model.networks.encoder!, model.networks.decoder!]) {
      for (const w of net.trainableWeights) {
        shapes.push([...w.shape] as number[]);
        parts.push((await w.read().data()) as Float32Array);
      }
    }
  } finally {
    disposeNetworks(model.networks);
  }
  const values = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    values.set(p, offset);
    offset += p.length;
  }
  const initWeights = `${settings.prefix}-init.json`;
  writeFileSync(
    initWeights,
    JSON.stringify({
      layout:
        'tfjs layers, encoder then decoder, kernel then bias: dense [in, out], conv2d [kh, kw, in, out], conv2dTranspose [kh, kw, out, in]',
      shapes,
    }),
  );
  writeFileSync(`${settings.prefix}-init.bin`, new Uint8Array(values.buffer));
  const order = new Int32Array(settings.epochs * settings.samples);
  for (let epoch = 1; epoch <= settings.epochs; epoch++) {
    const p = permutation(settings.samples, createRng(settings.seed, `epoch-${epoch}`));
    order.set(p, (epoch - 1) * settings.samples);
  }
  const orderFile = `${settings.prefix}-order.bin`;
  writeFileSync(orderFile, new Uint8Array(order.buffer));
  return { initWeights, order: orderFile };
}
