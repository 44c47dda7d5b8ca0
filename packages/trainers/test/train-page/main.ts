/**
 * A page that trains with `@aekit/trainers/browser` as the playground's "Train here" does
 * (the stacked autoencoder's defaults, batches of 32, Adam, `fit`), for the Chromium test and
 * `npm run bench:train-web`. `?fast=1` installs the fast wasm kernels before the backend
 * starts; without it the page trains on tfjs-backend-wasm's own kernels.
 * `window.aekitTrain(settings)` trains on the first `samples` digits of `mnist.f32` (values
 * in [0, 1], 784 a digit, written beside the page) and returns plain data.
 */
import { Dataset, getVariant, parseVariantOptions } from '@aekit/core';
import * as trainers from '@aekit/trainers/browser';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

/** What one training is asked to do. */
export interface TrainSettings {
  readonly backend: 'wasm' | 'cpu';
  readonly samples: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly seed: number;
  /** The stacked autoencoder's options as a form gives them, e.g. `{ layers: '64,16' }`. */
  readonly options?: Record<string, string>;
  /** Also time each kernel (see {@link TrainReport.kernelMs}). */
  readonly profile?: boolean;
}

/** What one training reports. */
export interface TrainReport {
  readonly backend: string;
  /** What the fast kernels' set-up returned (undefined: not installed). */
  readonly fast: trainers.FastKernels | undefined;
  /** The mean training loss of each epoch. */
  readonly losses: number[];
  /** Seconds each epoch took. */
  readonly epochSeconds: number[];
  /** Training samples a second over the epochs after the first (the first warms up). */
  readonly samplesPerSecond: number;
  /** How many times each kernel ran through the engine, by name. */
  readonly kernels: Record<string, number>;
  /** Milliseconds spent in each kernel, by name, input shapes and transposes (with `profile`). */
  readonly kernelMs: Record<string, number>;
}

// One thread, as the playground (its threaded build breaks once bundled).
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
});

const fast = new URLSearchParams(location.search).get('fast') === '1';
// Without them, what the playground did before: only the convolution kernel tfjs lacks.
const installed = fast ? trainers.installFastKernels() : Promise.resolve(undefined);
if (!fast) trainers.installWasmConvKernels(() => false);

/**
 * Counts every kernel the engine runs, by name (ops and the fused kernels alike), and with
 * `profile` the milliseconds each takes.
 */
function countKernels(profile: boolean) {
  const counts: Record<string, number> = {};
  const ms: Record<string, number> = {};
  const engine = tf.engine() as unknown as {
    runKernel: (name: string, ...rest: unknown[]) => unknown;
  };
  const runKernel = engine.runKernel.bind(engine);
  engine.runKernel = (name, ...rest) => {
    counts[name] = (counts[name] ?? 0) + 1;
    if (!profile) return runKernel(name, ...rest);
    const [inputs, attrs] = rest as [Record<string, tf.Tensor>, Record<string, unknown>];
    const shapes = Object.values(inputs)
      .map((t) => `[${t.shape}]`)
      .join('');
    const flags = Object.entries(attrs ?? {})
      .filter(([k, v]) => k.startsWith('transpose') && v)
      .map(([k]) => k);
    const key = `${name} ${shapes} ${flags.join(' ')}`.trim();
    const t0 = performance.now();
    try {
      return runKernel(name, ...rest);
    } finally {
      ms[key] = (ms[key] ?? 0) + performance.now() - t0;
    }
  };
  return { counts, ms };
}

async function train(settings: TrainSettings): Promise<TrainReport> {
  const fastInfo = await installed;
  if (!(await tf.setBackend(settings.backend))) throw new Error(`no ${settings.backend} backend`);
  await tf.ready();
  const bytes = await (await fetch('./mnist.f32')).arrayBuffer();
  const x = new Float32Array(bytes, 0, settings.samples * 784);
  const data = new Dataset({ x, sampleShape: [28, 28, 1], name: 'mnist/train' });
  trainers.registerBuiltinVariants();
  const plugin = trainers.asTfjsPlugin(getVariant('stacked'));
  const config = parseVariantOptions(plugin, settings.options ?? {});
  const model = plugin.trainer.build({ config, inputShape: [28, 28, 1], seed: settings.seed });
  const { counts: kernels, ms: kernelMs } = countKernels(settings.profile === true);
  const losses: number[] = [];
  const epochSeconds: number[] = [];
  let t = performance.now();
  try {
    await trainers.fit(model, {
      data,
      epochs: settings.epochs,
      batchSize: settings.batchSize,
      seed: settings.seed,
      callbacks: {
        onEpochEnd: (e) => {
          const now = performance.now();
          epochSeconds.push((now - t) / 1000);
          t = now;
          losses.push(e.loss);
        },
      },
    });
  } finally {
    trainers.disposeNetworks(model.networks);
  }
  const timed = epochSeconds.length > 1 ? epochSeconds.slice(1) : epochSeconds;
  const seconds = timed.reduce((s, v) => s + v, 0);
  return {
    backend: tf.getBackend(),
    fast: fastInfo,
    losses,
    epochSeconds,
    samplesPerSecond: (settings.samples * timed.length) / seconds,
    kernels,
    kernelMs,
  };
}

(window as unknown as { aekitTrain: typeof train }).aekitTrain = train;
