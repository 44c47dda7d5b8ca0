import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { aekitError } from '@aekit/core';
import { BUILTIN_DATASETS } from '@aekit/core/node';
import { loadBlas, useWasmBlas } from '@aekit/trainers';
import {
  type AekitEncodeRun,
  type AekitEncoder,
  type AekitTrainRun,
  loadAekitEncoder,
  type ReplayFiles,
  runAekitEncode,
  runAekitTraining,
  writeReplayFiles,
} from './aekit.js';
import {
  BENCH_SEED,
  type BenchJob,
  type EncodeJob,
  MNIST_FEATURES,
  modelName,
  QUALITY_TOLERANCE,
  type TrainJob,
  WARMUP_EPOCHS,
} from './jobs.js';
import {
  BENCH_REPORT_FORMAT,
  type BenchReport,
  type EncodeJobReport,
  type JobReport,
  machineInfo,
  median,
  packageVersions,
  qualityCheck,
  type TrainJobReport,
} from './report.js';
import {
  ompWaitPolicy,
  runTorch,
  type TorchCommon,
  type TorchEncodeResult,
  type TorchOutcome,
  type TorchSettings,
  type TorchTrainResult,
} from './torch.js';

/** What {@link runBench} runs. */
export interface BenchOptions {
  /** The jobs, in the order to run them. */
  readonly jobs: readonly BenchJob[];
  /** Training images per epoch for every training job (default: each job's own). */
  readonly samples?: number;
  /** Timed epochs after the warm-up epoch. */
  readonly epochs: number;
  /** Rounds of aekit-then-PyTorch runs per job; the medians are reported. */
  readonly repeat: number;
  /** aekit's training backend (`auto`, `wasm`, `cpu`, `webgpu`, `tensorflow`). */
  readonly backend: string;
  /** PyTorch threads, and ONNX Runtime intra-op threads for the encode jobs. */
  readonly threads: number;
  /**
   * The wasm backend's products: `auto` on BLAS where one is found; `off` on tfjs's own
   * kernels (as `AEKIT_BLAS=off`, what a machine without OpenBLAS gets); `both`: every
   * training job with BLAS and again without, in alternating rounds.
   */
  readonly blas?: BlasMode;
  /** Python with torch. */
  readonly python: string;
  /** Where PyTorch runs. */
  readonly device: 'cpu' | 'cuda';
  /** Tiny sample counts and short encode timings: a smoke test. */
  readonly quick: boolean;
  /** Seed of both sides (default 42). */
  readonly seed?: number;
  /** Timed seconds per encode measurement (default 1, 0.2 with `quick`). */
  readonly encodeSeconds?: number;
}

/** What `--blas` asks for: see {@link BenchOptions.blas}. */
export type BlasMode = 'auto' | 'off' | 'both';

/** The `--blas` modes. */
export const BLAS_MODES: readonly BlasMode[] = Object.freeze(['auto', 'off', 'both']);

/** Training images the encode jobs' model is trained on when no SELU training job ran. */
const ENCODE_MODEL_SAMPLES = 2000;

function mnistDir(): string {
  const dirs = BUILTIN_DATASETS.mnist!.defaultDirs();
  const dir = dirs.find((d) => existsSync(join(d, 'train-images-idx3-ubyte')));
  if (!dir) throw aekitError('DatasetNotFound', 'mnist', dirs);
  return dir;
}

const int = (v: number): string => Math.round(v).toLocaleString('en-US');
const messageOf = (err: unknown): string =>
  err instanceof Error ? err.message.split('\n')[0]! : String(err);

/**
 * Runs the bench: every job alternates aekit and PyTorch runs (aekit, torch, aekit, torch,
 * … for `repeat` rounds) and reports the median samples/s of each side, their ratio and,
 * for training jobs, both final test losses and the 2 % quality rule. Progress lines go to
 * `log`. A missing Python or torch leaves the PyTorch columns empty with a note; a run that
 * fails is listed in `failures`. Temporary runs are deleted before it returns.
 */
export async function runBench(
  options: BenchOptions,
  log: (line: string) => void = () => {},
): Promise<BenchReport> {
  const began = performance.now();
  const seed = options.seed ?? BENCH_SEED;
  const encodeSeconds = options.encodeSeconds ?? (options.quick ? 0.2 : 1);
  const dataDir = mnistDir();
  const torchSettings: TorchSettings = {
    python: options.python,
    threads: options.threads,
    device: options.device,
    seed,
    dataDir,
  };
  const notes: string[] = [];
  const failures: string[] = [];
  // The wasm backend's matrix products run on BLAS threads: as many as PyTorch gets.
  const blasMode = options.blas ?? 'auto';
  const blas = blasMode === 'off' ? null : loadBlas();
  blas?.setThreads(options.threads);
  /** The BLAS setting of each round's aekit runs: the first is the job's main one. */
  const blasSides =
    blasMode === 'off' ? [false] : blasMode === 'both' && blas ? [true, false] : [true];
  if (blasMode === 'both' && !blas) {
    notes.push(
      '--blas both: no BLAS library was found here (apt-get install libopenblas0), so every aekit run is already without BLAS.',
    );
  }
  const jobs: JobReport[] = [];
  let torchSkipped: string | undefined;
  let torchInfo: TorchCommon | undefined;
  let training: { backend: string; detail: string } | undefined;
  let encodeDevice: string | undefined;

  const torch = async <R extends TorchTrainResult | TorchEncodeResult>(
    job: BenchJob,
    round: number,
    mode: R['mode'],
    args: readonly string[],
  ): Promise<TorchOutcome<R> | undefined> => {
    if (torchSkipped) return undefined;
    const outcome = await runTorch<R>(torchSettings, mode, args);
    if (outcome.ok) {
      torchInfo ??= outcome.result;
    } else if (outcome.unavailable) {
      torchSkipped = outcome.reason;
      log(`  PyTorch skipped from now on: ${outcome.reason}`);
      if (!outcome.missing) failures.push(`${job.id} torch round ${round}: ${outcome.reason}`);
    } else {
      log(`  torch round ${round} failed: ${outcome.reason}`);
      failures.push(`${job.id} torch round ${round}: ${outcome.reason}`);
    }
    return outcome;
  };

  const tmp = mkdtempSync(join(os.tmpdir(), 'aekit-bench-'));
  const cleanUp = () => rmSync(tmp, { recursive: true, force: true });
  const onSignal = (signal: NodeJS.Signals) => {
    cleanUp();
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  /** The last aekit run of each training job, for the encode jobs to export. */
  const lastRuns = new Map<string, AekitTrainRun>();
  let encoder: AekitEncoder | undefined;
  try {
    const trainJobs = options.jobs.filter((j): j is TrainJob => j.kind === 'train');
    const encodeJobs = options.jobs.filter((j): j is EncodeJob => j.kind === 'encode');
    for (const [index, job] of trainJobs.entries()) {
      const samples = options.samples ?? (options.quick ? job.quickSamples : job.samples);
      log(
        `[${index + 1}/${trainJobs.length}] ${job.id}: ${job.title}, ${int(samples)} samples, ${WARMUP_EPOCHS} warm-up + ${options.epochs} timed epoch(s), ${options.repeat} round(s)`,
      );
      const aekitRuns: AekitTrainRun[] = [];
      /** The runs without BLAS, with `--blas both`. */
      const noBlasRuns: AekitTrainRun[] = [];
      const torchRuns: TorchTrainResult[] = [];
      const errors: string[] = [];
      let aekitFailed = false;
      /** aekit's initial weights and batch order for PyTorch; null when they cannot be had. */
      let replay: ReplayFiles | null | undefined;
      for (let round = 1; round <= options.repeat; round++) {
        // After a failure (a backend that does not start, say) the next rounds would fail too.
        for (const [side, withBlas] of blasSides.entries()) {
          if (aekitFailed) break;
          const main = side === 0;
          const label =
            blasSides.length > 1 ? `aekit ${withBlas ? 'with' : 'without'} BLAS` : 'aekit';
          try {
            const out = join(tmp, `${job.id}-${round}${main ? '' : '-no-blas'}`);
            const run = await runAekitTraining(job, {
              samples,
              warmupEpochs: WARMUP_EPOCHS,
              timedEpochs: options.epochs,
              // `auto` is resolved once: later runs use the backend the first one got
              backend: training?.backend ?? options.backend,
              seed,
              out,
              blas: withBlas,
            });
            log(
              `  round ${round} ${label}: ${int(run.samplesPerSecond)} samples/s, test loss ${run.testLoss.toFixed(4)} (${run.backend})`,
            );
            if (!main) {
              noBlasRuns.push(run);
              rmSync(run.run, { recursive: true, force: true });
              continue;
            }
            aekitRuns.push(run);
            training ??= { backend: run.backend, detail: run.backendDetail };
            const previous = lastRuns.get(job.id);
            if (previous) rmSync(previous.run, { recursive: true, force: true });
            lastRuns.set(job.id, run);
          } catch (err) {
            const message = `${job.id} ${label} round ${round}: ${messageOf(err)}`;
            errors.push(message);
            failures.push(message);
            aekitFailed = true;
            log(`  round ${round} ${label} failed: ${messageOf(err)}`);
          }
        }
        if (replay === undefined && training && !torchSkipped) {
          try {
            replay = await writeReplayFiles(job, {
              samples,
              epochs: WARMUP_EPOCHS + options.epochs,
              seed,
              backend: training.backend,
              prefix: join(tmp, job.id),
            });
          } catch (err) {
            replay = null;
            log(`  cannot write the replay files, PyTorch uses its own seeds: ${messageOf(err)}`);
          }
        }
        const outcome = await torch<TorchTrainResult>(job, round, 'train', [
          ...(replay ? ['--init-weights', replay.initWeights, '--order', replay.order] : []),
          ...(job.variant === 'conv'
            ? ['--model', 'conv', '--filters', (job.filters ?? []).join(',')]
            : ['--model', job.variant, '--layers', job.layers.join(',')]),
          '--activation',
          job.activation,
          '--samples',
          String(samples),
          '--batch-size',
          String(job.batchSize),
          '--epochs',
          String(options.epochs),
          '--warmup',
          String(WARMUP_EPOCHS),
        ]);
        if (outcome?.ok) {
          torchRuns.push(outcome.result);
          log(
            `  round ${round} torch: ${int(outcome.result.samplesPerSecond)} samples/s, test loss ${outcome.result.testLoss.toFixed(4)}`,
          );
        } else if (outcome && !outcome.unavailable) {
          errors.push(`torch round ${round}: ${outcome.reason}`);
        }
      }
      jobs.push(
        trainReport(
          job,
          samples,
          options.epochs,
          aekitRuns,
          torchRuns,
          errors,
          torchSkipped,
          blasSides.length > 1 ? noBlasRuns : undefined,
        ),
      );
    }

    if (encodeJobs.length > 0) {
      const first = encodeJobs[0]!;
      const match = trainJobs
        .filter(
          (t) =>
            t.variant === 'stacked' &&
            t.activation === first.activation &&
            t.layers.join() === first.layers.join(),
        )
        .map((t) => lastRuns.get(t.id))
        .filter((r): r is AekitTrainRun => r !== undefined)
        .pop();
      let model = 'none: the model could not be trained or exported';
      let encoderError: string | undefined;
      try {
        let run = match;
        if (run) {
          model = `the last aekit run of the ${trainJobs.find((t) => lastRuns.get(t.id) === run)!.id} job`;
        } else {
          const samples = options.quick ? 1024 : ENCODE_MODEL_SAMPLES;
          log(
            `encode jobs: training a ${modelName(first.layers)} ${first.activation} model to export`,
          );
          run = await runAekitTraining(
            {
              kind: 'train',
              id: 'encode-model',
              title: 'model for the encode jobs',
              variant: 'stacked',
              architecture: modelName(first.layers),
              layers: first.layers,
              activation: first.activation,
              batchSize: 256,
              samples,
              quickSamples: samples,
            },
            {
              samples,
              warmupEpochs: 0,
              timedEpochs: 1,
              backend: training?.backend ?? options.backend,
              seed,
              out: join(tmp, 'encode-model'),
              blas: blasSides[0]!,
            },
          );
          training ??= { backend: run.backend, detail: run.backendDetail };
          model = `aekit trained for the encode jobs (${int(samples)} samples, 1 epoch, batch 256)`;
        }
        const maxBatch = Math.max(...encodeJobs.map((j) => j.batchSize));
        log(`encode jobs: exporting ${run.run} with exportRun and loading it on onnxruntime-node`);
        encoder = await loadAekitEncoder(run.run, options.threads, maxBatch);
        const providers = encoder.executionProviders.join(', ');
        encodeDevice =
          providers === encoder.device ? encoder.device : `${encoder.device} (${providers})`;
      } catch (err) {
        encoderError = `encode model: ${messageOf(err)}`;
        failures.push(encoderError);
        log(`  ${encoderError}`);
      }
      for (const [index, job] of encodeJobs.entries()) {
        log(
          `[${index + 1}/${encodeJobs.length}] ${job.id}: ${job.title}, ${encodeSeconds} s per measurement, ${options.repeat} round(s)`,
        );
        const aekitRuns: AekitEncodeRun[] = [];
        const torchRuns: TorchEncodeResult[] = [];
        const errors: string[] = encoderError ? [encoderError] : [];
        for (let round = 1; round <= options.repeat; round++) {
          if (encoder) {
            try {
              const run = await runAekitEncode(encoder, job.batchSize, encodeSeconds);
              aekitRuns.push(run);
              log(
                `  round ${round} aekit: ${int(run.samplesPerSecond)} samples/s (${run.msPerCall.toPrecision(3)} ms/call)`,
              );
            } catch (err) {
              const message = `${job.id} aekit round ${round}: ${messageOf(err)}`;
              errors.push(message);
              failures.push(message);
            }
          }
          const outcome = await torch<TorchEncodeResult>(job, round, 'encode', [
            '--layers',
            job.layers.join(','),
            '--activation',
            job.activation,
            '--batch-size',
            String(job.batchSize),
            '--seconds',
            String(encodeSeconds),
            '--warmup-calls',
            '5',
            '--min-calls',
            '5',
          ]);
          if (outcome?.ok) {
            torchRuns.push(outcome.result);
            log(
              `  round ${round} torch: ${int(outcome.result.samplesPerSecond)} samples/s (${outcome.result.msPerCall.toPrecision(3)} ms/call)`,
            );
          } else if (outcome && !outcome.unavailable) {
            errors.push(`torch round ${round}: ${outcome.reason}`);
          }
        }
        jobs.push(encodeReport(job, model, aekitRuns, torchRuns, errors, torchSkipped));
      }
      notes.push(
        'Encode jobs: the aekit encoder is ' +
          `${model}; PyTorch's is the same architecture with its own initial weights (the speed does not depend on the values). Both encode the first MNIST test images, normalised to [0, 1].`,
      );
    }
  } finally {
    useWasmBlas(true);
    await encoder?.autoencoder.dispose().catch(() => undefined);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    cleanUp();
  }

  if (torchSkipped) {
    notes.unshift(
      `PyTorch reference skipped: ${torchSkipped}. The aekit numbers are reported; the torch columns say "skipped".`,
    );
  }
  if (options.quick) {
    notes.push('--quick: tiny sample counts for a smoke test; the speeds mean little.');
  }
  if (options.device === 'cuda') {
    notes.push(
      'PyTorch on CUDA: its training images stay on the GPU; each encode call copies the input to the GPU and the codings back.',
    );
  }
  const omp = ompWaitPolicy();
  const tfjsThreads =
    training && (training.backend === 'wasm' || training.backend === 'cpu') ? 1 : null;
  return {
    format: BENCH_REPORT_FORMAT,
    createdAt: new Date().toISOString(),
    settings: {
      jobs: options.jobs.map((j) => j.id),
      repeat: options.repeat,
      warmupEpochs: WARMUP_EPOCHS,
      timedEpochs: options.epochs,
      samples: options.samples ?? null,
      quick: options.quick,
      seed,
      encodeSeconds,
      blas: blasMode,
      optimizer: 'adam, learning rate 1e-3, epsilon 1e-7',
      loss: 'binary cross-entropy, mean over every value (sigmoid output)',
      data: `MNIST (${dataDir}): the first N training images, scaled to [0, 1], reshuffled every epoch; test loss on the ${int(10000)} test images`,
      qualityTolerance: QUALITY_TOLERANCE,
    },
    machine: machineInfo(torchInfo?.device === 'cuda' ? torchInfo.deviceName : null),
    versions: {
      ...packageVersions(),
      torch: torchInfo?.torch ?? null,
      python: torchInfo ? `${torchInfo.python} (${options.python})` : null,
    },
    backends: {
      requested: options.backend,
      training: training?.backend ?? null,
      trainingDetail: training?.detail ?? null,
      encode: encodeDevice ?? null,
      torch: options.device,
    },
    threads: {
      torch: torchInfo?.threads ?? options.threads,
      onnxruntime: options.threads,
      tfjs: tfjsThreads,
      blas: tfjsThreads && blas ? blas.threads : null,
      ompWaitPolicy: `${omp.value} (${omp.source})`,
    },
    torch: { ran: torchInfo !== undefined, python: options.python, skipped: torchSkipped ?? null },
    jobs,
    notes,
    failures,
    wallSeconds: (performance.now() - began) / 1000,
  };
}

function ratioOf(a: number | undefined, b: number | undefined): number | null {
  return a !== undefined && b !== undefined && b > 0 ? a / b : null;
}

function trainReport(
  job: TrainJob,
  samples: number,
  epochs: number,
  aekitRuns: readonly AekitTrainRun[],
  torchRuns: readonly TorchTrainResult[],
  errors: readonly string[],
  torchSkipped: string | undefined,
  /** With `--blas both`: the runs without BLAS. */
  noBlasRuns?: readonly AekitTrainRun[],
): TrainJobReport {
  const side = (
    runs: readonly {
      samplesPerSecond: number;
      coresBusy: number;
      epochMs: readonly number[];
      testLoss: number;
      trainLoss: number;
    }[],
  ) =>
    runs.length === 0
      ? null
      : {
          samplesPerSecond: median(runs.map((r) => r.samplesPerSecond)),
          runs: runs.map((r) => r.samplesPerSecond),
          coresBusy: median(runs.map((r) => r.coresBusy)),
          epochMs: runs.map((r) => [...r.epochMs]),
          testLoss: runs[runs.length - 1]!.testLoss,
          testLosses: runs.map((r) => r.testLoss),
          trainLoss: runs[runs.length - 1]!.trainLoss,
        };
  const aekit = side(aekitRuns);
  const torch = side(torchRuns);
  const noBlas = noBlasRuns && side(noBlasRuns);
  return {
    kind: 'train',
    id: job.id,
    title: job.title,
    architecture: job.architecture,
    layers: job.variant === 'conv' ? [] : modelName(job.layers).split('-').map(Number),
    activation: job.activation,
    batchSize: job.batchSize,
    samples: aekitRuns[0]?.samples ?? torchRuns[0]?.samples ?? samples,
    warmupEpochs: WARMUP_EPOCHS,
    timedEpochs: epochs,
    testSamples: aekitRuns[0]?.testSamples ?? torchRuns[0]?.testSamples ?? 10000,
    aekit,
    torch,
    ratio: ratioOf(aekit?.samplesPerSecond, torch?.samplesPerSecond),
    torchReplayedAekit: torchRuns.length > 0 && torchRuns.every((r) => r.replayed),
    ...(job.ownNoise ? { ownNoise: job.ownNoise } : {}),
    quality: aekit && torch ? qualityCheck(aekit.testLoss, torch.testLoss) : null,
    ...(noBlas !== undefined
      ? {
          withoutBlas: {
            aekit: noBlas,
            ratio: ratioOf(noBlas?.samplesPerSecond, torch?.samplesPerSecond),
            quality: noBlas && torch ? qualityCheck(noBlas.testLoss, torch.testLoss) : null,
          },
        }
      : {}),
    ...(torch === null && torchSkipped ? { torchSkipped } : {}),
    ...(errors.length > 0 ? { errors } : {}),
  };
}

/** What one encode run of either side reports. */
interface EncodeRun {
  readonly samplesPerSecond: number;
  readonly coresBusy: number;
  readonly msPerCall: number;
  readonly calls: number;
}

function encodeReport(
  job: EncodeJob,
  model: string,
  aekitRuns: readonly EncodeRun[],
  torchRuns: readonly EncodeRun[],
  errors: readonly string[],
  torchSkipped: string | undefined,
): EncodeJobReport {
  const side = (runs: typeof aekitRuns) =>
    runs.length === 0
      ? null
      : {
          samplesPerSecond: median(runs.map((r) => r.samplesPerSecond)),
          runs: runs.map((r) => r.samplesPerSecond),
          coresBusy: median(runs.map((r) => r.coresBusy)),
          msPerCall: median(runs.map((r) => r.msPerCall)),
          calls: runs.map((r) => r.calls),
        };
  const aekit = side(aekitRuns);
  const torch = side(torchRuns);
  return {
    kind: 'encode',
    id: job.id,
    title: job.title,
    architecture: [MNIST_FEATURES, ...job.layers].join('-'),
    layers: [MNIST_FEATURES, ...job.layers],
    activation: job.activation,
    batchSize: job.batchSize,
    model,
    aekit,
    torch,
    ratio: ratioOf(aekit?.samplesPerSecond, torch?.samplesPerSecond),
    ...(torch === null && torchSkipped ? { torchSkipped } : {}),
    ...(errors.length > 0 ? { errors } : {}),
  };
}
