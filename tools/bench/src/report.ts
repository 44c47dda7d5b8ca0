import { createRequire } from 'node:module';
import os from 'node:os';
import { type BenchActivation, QUALITY_TOLERANCE } from './jobs.js';

/** The format tag of a bench report. */
export const BENCH_REPORT_FORMAT = 'aekit-bench/1';

/** Samples/s of one side of a job: the median of its runs, and every run. */
export interface SideSpeed {
  /** Median samples/s over the runs. */
  readonly samplesPerSecond: number;
  /** Samples/s of each run, in the order they ran. */
  readonly runs: readonly number[];
  /**
   * Median over the runs of the CPU seconds the process used per wall-clock second of the
   * timed part: about the cores it kept busy (1.0 for one thread), to check `--threads`.
   */
  readonly coresBusy: number;
}

/** One side (aekit or PyTorch) of a training job. */
export interface TrainSide extends SideSpeed {
  /** Milliseconds of each timed epoch, per run. */
  readonly epochMs: readonly (readonly number[])[];
  /** Test-set BCE after training, of the last run. */
  readonly testLoss: number;
  /** Test-set BCE of each run. */
  readonly testLosses: readonly number[];
  /** Mean training loss of the last epoch, of the last run. */
  readonly trainLoss: number;
}

/** One side of an encode job. */
export interface EncodeSide extends SideSpeed {
  /** Median milliseconds per `encode` call. */
  readonly msPerCall: number;
  /** Timed calls of each run. */
  readonly calls: readonly number[];
}

/** The 2 % rule: both sides must reach the same test loss. */
export interface QualityCheck {
  /** `|aekit - torch| / torch` of the final test losses. */
  readonly relativeDifference: number;
  readonly tolerance: number;
  readonly pass: boolean;
}

/** What both kinds of job report. */
interface JobReportBase {
  readonly id: string;
  readonly title: string;
  /** The network in one word: `784-300-150-300-784`, `conv 16-32-64`, `784-100-30`. */
  readonly architecture: string;
  /**
   * Dense layer sizes, input to output (`[784, 300, 150, 300, 784]`; an encoder stops at the
   * coding); empty for a convolutional job.
   */
  readonly layers: readonly number[];
  readonly activation: BenchActivation;
  readonly batchSize: number;
  /** Why the PyTorch side has no numbers, when it has none. */
  readonly torchSkipped?: string;
  /** What went wrong, when a side failed. */
  readonly errors?: readonly string[];
  /** aekit samples/s over PyTorch samples/s (above 1: aekit is faster); null without both. */
  readonly ratio: number | null;
}

/** A training job in the report. */
export interface TrainJobReport extends JobReportBase {
  readonly kind: 'train';
  /** Training images per epoch. */
  readonly samples: number;
  readonly warmupEpochs: number;
  readonly timedEpochs: number;
  readonly testSamples: number;
  readonly aekit: TrainSide | null;
  readonly torch: TrainSide | null;
  /**
   * Whether every PyTorch run replayed aekit's run: the same initial weights and the same
   * batch order (so both sides do the same arithmetic); false: PyTorch's own seeded ones.
   */
  readonly torchReplayedAekit: boolean;
  /** Why the test losses also differ by chance (the job's own random draws), if they do. */
  readonly ownNoise?: string;
  /** Null without both test losses. */
  readonly quality: QualityCheck | null;
  /**
   * With `--blas both`: the same job's aekit runs without BLAS (tfjs's own products, what a
   * machine without OpenBLAS gets), against the same PyTorch runs.
   */
  readonly withoutBlas?: {
    readonly aekit: TrainSide | null;
    readonly ratio: number | null;
    readonly quality: QualityCheck | null;
  };
}

/** An encode job in the report. */
export interface EncodeJobReport extends JobReportBase {
  readonly kind: 'encode';
  /** Where the encoder's weights came from. */
  readonly model: string;
  readonly aekit: EncodeSide | null;
  readonly torch: EncodeSide | null;
}

/** A job in the report. */
export type JobReport = TrainJobReport | EncodeJobReport;

/** The machine the bench ran on. */
export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly availableParallelism: number;
  readonly memoryGiB: number;
  readonly platform: string;
  /** The CUDA device PyTorch used, with `--device cuda`. */
  readonly gpu: string | null;
}

/** The whole report `aekit bench` prints and writes (`--out`). */
export interface BenchReport {
  readonly format: typeof BENCH_REPORT_FORMAT;
  readonly createdAt: string;
  readonly settings: {
    readonly jobs: readonly string[];
    readonly repeat: number;
    readonly warmupEpochs: number;
    readonly timedEpochs: number;
    /** `--samples`, when it overrode the jobs' sample counts. */
    readonly samples: number | null;
    readonly quick: boolean;
    readonly seed: number;
    /** Timed seconds of each encode measurement. */
    readonly encodeSeconds: number;
    /** `--blas`: `auto`, `off` or `both` (see `BenchOptions.blas`). */
    readonly blas: string;
    readonly optimizer: string;
    readonly loss: string;
    readonly data: string;
    readonly qualityTolerance: number;
  };
  readonly machine: MachineInfo;
  readonly versions: Readonly<Record<string, string | null>>;
  readonly backends: {
    /** `--backend` as asked. */
    readonly requested: string;
    /** The tfjs backend aekit trained on, and its details. */
    readonly training: string | null;
    readonly trainingDetail: string | null;
    /** The runtime's device and ONNX Runtime execution providers for the encode jobs. */
    readonly encode: string | null;
    /** Where PyTorch ran: `cpu` or `cuda`. */
    readonly torch: string;
  };
  readonly threads: {
    /** `torch.set_num_threads`. */
    readonly torch: number;
    /** ONNX Runtime intra-op threads of the encode jobs. */
    readonly onnxruntime: number;
    /** Threads of tfjs's own kernels: 1 for wasm and cpu in Node; null for GPU backends. */
    readonly tfjs: number | null;
    /** Threads of the BLAS the wasm backend multiplies with; null without one (or on a GPU). */
    readonly blas: number | null;
    /** OMP_WAIT_POLICY of the PyTorch processes. */
    readonly ompWaitPolicy: string;
  };
  readonly torch: {
    readonly ran: boolean;
    readonly python: string;
    /** Why it did not run, with how to install it. */
    readonly skipped: string | null;
  };
  readonly jobs: readonly JobReport[];
  readonly notes: readonly string[];
  /** Runs that failed; the exit status is 1 when there are any. */
  readonly failures: readonly string[];
  readonly wallSeconds: number;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The 2 % rule on two final test losses. */
export function qualityCheck(aekitLoss: number, torchLoss: number): QualityCheck {
  const relativeDifference = Math.abs(aekitLoss - torchLoss) / torchLoss;
  return {
    relativeDifference,
    tolerance: QUALITY_TOLERANCE,
    pass: relativeDifference <= QUALITY_TOLERANCE,
  };
}

/** The CPU, cores, memory and OS of this machine. */
export function machineInfo(gpu: string | null): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    availableParallelism: os.availableParallelism(),
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    gpu,
  };
}

/** `package.json` version of `name`, resolved from `from` (a module path); null if absent. */
function versionFrom(from: string, name: string): string | null {
  try {
    const require = createRequire(from);
    return (require(`${name}/package.json`) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

/** Versions of Node and of the packages that do the work on aekit's side. */
export function packageVersions(): Record<string, string | null> {
  const here = createRequire(import.meta.url);
  const resolveFrom = (name: string): string | null => {
    try {
      return here.resolve(name);
    } catch {
      return null;
    }
  };
  const trainers = resolveFrom('@aekit/trainers');
  const runtime = resolveFrom('@aekit/runtime-web');
  let bench: string | null = null;
  try {
    bench = (here('../package.json') as { version?: string }).version ?? null;
  } catch {
    bench = null;
  }
  return {
    node: process.versions.node,
    // The CLI that runs `aekit bench`, installed beside this package.
    '@aekit/cli': versionFrom(import.meta.url, '@aekit/cli'),
    '@aekit/bench': bench,
    '@aekit/trainers': versionFrom(import.meta.url, '@aekit/trainers'),
    '@aekit/runtime-web': versionFrom(import.meta.url, '@aekit/runtime-web'),
    '@tensorflow/tfjs-core': trainers ? versionFrom(trainers, '@tensorflow/tfjs-core') : null,
    '@tensorflow/tfjs-backend-wasm': trainers
      ? versionFrom(trainers, '@tensorflow/tfjs-backend-wasm')
      : null,
    'onnxruntime-node': runtime ? versionFrom(runtime, 'onnxruntime-node') : null,
  };
}

// ---------------------------------------------------------------- the table

const int = (v: number): string => Math.round(v).toLocaleString('en-US');
const ratioText = (r: number | null): string =>
  r === null ? '-' : `${r >= 1 ? r.toFixed(2) : r.toPrecision(2)}x`;
const lossText = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(4));

/** Aligns rows of cells under a header; `right` marks right-aligned columns. */
export function textTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  right: readonly boolean[],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function torchCell(report: JobReport, value: (side: NonNullable<JobReport['torch']>) => string) {
  if (report.torch) return value(report.torch);
  return report.torchSkipped ? 'skipped' : 'failed';
}

function aekitCell(report: JobReport, value: (side: NonNullable<JobReport['aekit']>) => string) {
  return report.aekit ? value(report.aekit) : 'failed';
}

function coresText(report: JobReport): string {
  const cores = (side: { readonly coresBusy: number }) => side.coresBusy.toFixed(2);
  return `${aekitCell(report, cores)} / ${torchCell(report, cores)}`;
}

/** The table of training jobs: speeds, ratio, cores, test losses and the quality rule. */
function trainTable(jobs: readonly TrainJobReport[]): string {
  return textTable(
    [
      'job',
      'model',
      'batch',
      'samples',
      'aekit samples/s',
      'torch samples/s',
      'aekit/torch',
      'cores aekit/torch',
      'aekit test loss',
      'torch test loss',
      'diff',
      'quality',
    ],
    jobs.map((j) => [
      j.id,
      `${j.architecture} ${j.activation}`,
      String(j.batchSize),
      int(j.samples),
      aekitCell(j, (s) => int(s.samplesPerSecond)),
      torchCell(j, (s) => int(s.samplesPerSecond)),
      ratioText(j.ratio),
      coresText(j),
      aekitCell(j, (s) => lossText((s as TrainSide).testLoss)),
      torchCell(j, (s) => lossText((s as TrainSide).testLoss)),
      j.quality ? `${(j.quality.relativeDifference * 100).toFixed(2)}%` : '-',
      j.quality ? (j.quality.pass ? 'pass' : 'FAIL') : '-',
    ]),
    [false, false, true, true, true, true, true, true, true, true, true, false],
  );
}

/** The report as the text `aekit bench` prints: two tables and the machine, versions, notes. */
export function formatReport(report: BenchReport, outPath: string): string {
  const lines: string[] = [];
  const torchName = report.torch.ran
    ? `PyTorch ${report.versions.torch ?? ''} (${report.backends.torch}, ${report.threads.torch} thread${report.threads.torch === 1 ? '' : 's'})`
    : 'PyTorch (skipped)';
  const trainJobs = report.jobs.filter((j): j is TrainJobReport => j.kind === 'train');
  const encodeJobs = report.jobs.filter((j): j is EncodeJobReport => j.kind === 'encode');
  const runs = `median of ${report.settings.repeat} run${report.settings.repeat === 1 ? '' : 's'} per side, alternating aekit and PyTorch`;
  if (trainJobs.length > 0) {
    lines.push(
      `Training on MNIST: aekit (tfjs ${report.backends.training ?? '?'}) vs ${torchName}; samples/s are the ${runs}`,
    );
    lines.push(
      `(${report.settings.warmupEpochs} untimed warm-up epoch + ${report.settings.timedEpochs} timed; test loss: BCE on the ${int(trainJobs[0]!.testSamples)} MNIST test images after training; quality: |aekit - torch| / torch <= ${report.settings.qualityTolerance * 100}%)`,
    );
    const withTorch = trainJobs.filter((j) => j.torch);
    if (withTorch.length > 0) {
      const own = withTorch.filter((j) => !j.torchReplayedAekit).map((j) => j.id);
      lines.push(
        own.length === 0
          ? "(PyTorch starts from aekit's initial weights and follows its batch order: both sides do the same arithmetic)"
          : `(PyTorch used its own seeded initial weights and batch order for ${own.join(', ')}: the test losses also differ by seed luck, about 2%)`,
      );
      for (const j of withTorch) if (j.ownNoise) lines.push(`(${j.id}: ${j.ownNoise})`);
    }
    lines.push('');
    lines.push(trainTable(trainJobs));
    lines.push('');
    const noBlas = trainJobs.filter((j) => j.withoutBlas);
    if (noBlas.length > 0) {
      lines.push(
        "The same jobs without BLAS (AEKIT_BLAS=off: the products on tfjs's own kernels, what a machine without OpenBLAS gets), against the same PyTorch runs:",
      );
      lines.push('');
      lines.push(trainTable(noBlas.map((j) => ({ ...j, ...j.withoutBlas! }))));
      lines.push('');
    }
  }
  if (encodeJobs.length > 0) {
    lines.push(
      `Encode throughput on MNIST test digits: aekit runtime (onnxruntime-node ${report.backends.encode ?? '?'}, ${report.threads.onnxruntime} intra-op thread${report.threads.onnxruntime === 1 ? '' : 's'}) vs ${torchName} model.encoder(x) under no_grad; ${runs}`,
    );
    lines.push('');
    lines.push(
      textTable(
        [
          'job',
          'encoder',
          'batch',
          'aekit samples/s',
          'torch samples/s',
          'aekit/torch',
          'cores aekit/torch',
          'aekit ms/call',
          'torch ms/call',
        ],
        encodeJobs.map((j) => [
          j.id,
          `${j.architecture} ${j.activation}`,
          String(j.batchSize),
          aekitCell(j, (s) => int(s.samplesPerSecond)),
          torchCell(j, (s) => int(s.samplesPerSecond)),
          ratioText(j.ratio),
          coresText(j),
          aekitCell(j, (s) => (s as EncodeSide).msPerCall.toPrecision(3)),
          torchCell(j, (s) => (s as EncodeSide).msPerCall.toPrecision(3)),
        ]),
        [false, false, true, true, true, true, true, true, true],
      ),
    );
    lines.push('');
  }
  lines.push('aekit/torch = aekit samples/s / PyTorch samples/s (above 1: aekit is faster).');
  lines.push(
    'cores = CPU seconds per wall-clock second over the timed part (1.00: one busy thread), median of the runs.',
  );
  const m = report.machine;
  lines.push(
    `machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}${m.gpu ? `, GPU ${m.gpu}` : ''}`,
  );
  const b = report.backends;
  lines.push(
    `backends: aekit training ${b.training ?? '-'}${b.trainingDetail ? ` (${b.trainingDetail})` : ''} (asked: ${b.requested}); aekit encode ${b.encode ? `onnxruntime-node ${b.encode}` : '-'}; torch ${b.torch}`,
  );
  const t = report.threads;
  lines.push(
    `threads: tfjs ${t.tfjs ?? 'n/a (GPU)'}${t.blas ? ` (matrix products: BLAS ${t.blas})` : ''}, onnxruntime ${t.onnxruntime} intra-op, torch ${t.torch} (OMP_WAIT_POLICY=${t.ompWaitPolicy})`,
  );
  lines.push(
    `versions: ${Object.entries(report.versions)
      .map(([k, v]) => `${k} ${v ?? '-'}`)
      .join(', ')}`,
  );
  for (const n of report.notes) lines.push(`note: ${n}`);
  for (const f of report.failures) lines.push(`FAILED: ${f}`);
  lines.push(`report: ${outPath}   wall time: ${report.wallSeconds.toFixed(1)} s`);
  return lines.join('\n');
}
