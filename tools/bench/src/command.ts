import { resolve } from 'node:path';
import { aekitError } from '@aekit/core';
import { writeAtomic } from '@aekit/core/node';
import { BACKEND_NAMES } from '@aekit/trainers';
import { type Command, Option } from 'commander';
import { BENCH_JOB_IDS, BENCH_JOBS, MNIST_TRAIN_IMAGES } from './jobs.js';
import type { BenchReport } from './report.js';
import { formatReport } from './report.js';
import { type BenchOptions, BLAS_MODES, type BlasMode, runBench } from './run.js';
import { DEFAULT_PYTHON } from './torch.js';

/** Where `aekit bench` writes: the table or report (`out`) and progress lines (`err`). */
export interface BenchOutput {
  out(text: string): void;
  err(text: string): void;
}

/** Flags of `aekit bench`, as commander gives them. */
export interface BenchFlags {
  readonly jobs?: string;
  readonly samples?: string;
  readonly epochs?: string;
  readonly repeat?: string;
  readonly backend?: string;
  readonly threads?: string;
  readonly blas?: string;
  readonly python?: string;
  readonly device?: string;
  readonly out?: string;
  readonly json?: boolean;
  readonly quick?: boolean;
}

/** Where the report goes unless `--out` says otherwise (in the current directory). */
export const DEFAULT_REPORT_FILE = 'bench-report.json';

function positiveInt(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 1) {
    throw aekitError('InvalidArgument', `--${flag} must be a positive integer, got "${value}".`);
  }
  return n;
}

/** Turns `aekit bench` flags into {@link BenchOptions}, checking each. */
export function toBenchOptions(flags: BenchFlags): BenchOptions {
  const ids = (flags.jobs ?? 'all')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const wanted = ids.includes('all') ? BENCH_JOB_IDS : [...new Set(ids)];
  const unknown = wanted.filter((id) => !BENCH_JOB_IDS.includes(id));
  if (unknown.length > 0 || wanted.length === 0) {
    throw aekitError(
      'InvalidArgument',
      `--jobs: unknown job${unknown.length === 1 ? '' : 's'} ${unknown.join(', ') || '(none given)'}; choose from ${BENCH_JOB_IDS.join(', ')} or all.`,
    );
  }
  const samples =
    flags.samples === undefined ? undefined : positiveInt('samples', flags.samples, 0);
  if (samples !== undefined && samples > MNIST_TRAIN_IMAGES) {
    throw aekitError(
      'InvalidArgument',
      `--samples must be at most ${MNIST_TRAIN_IMAGES} (the MNIST training set), got ${samples}.`,
    );
  }
  const backend = flags.backend ?? 'auto';
  if (!(BACKEND_NAMES as readonly string[]).includes(backend)) {
    throw aekitError(
      'InvalidArgument',
      `--backend must be one of ${BACKEND_NAMES.join(', ')}, got "${backend}".`,
    );
  }
  const blas = flags.blas ?? 'auto';
  if (!(BLAS_MODES as readonly string[]).includes(blas)) {
    throw aekitError(
      'InvalidArgument',
      `--blas must be one of ${BLAS_MODES.join(', ')}, got "${blas}".`,
    );
  }
  const device = flags.device ?? 'cpu';
  if (device !== 'cpu' && device !== 'cuda') {
    throw aekitError('InvalidArgument', `--device must be cpu or cuda, got "${device}".`);
  }
  return {
    // in the table's order, whatever order --jobs named them in
    jobs: BENCH_JOBS.filter((j) => wanted.includes(j.id)),
    ...(samples !== undefined ? { samples } : {}),
    epochs: positiveInt('epochs', flags.epochs, 1),
    repeat: positiveInt('repeat', flags.repeat, 2),
    backend,
    threads: positiveInt('threads', flags.threads, 1),
    blas: blas as BlasMode,
    python: flags.python ?? DEFAULT_PYTHON,
    device,
    quick: Boolean(flags.quick),
  };
}

/**
 * `aekit bench`: runs the jobs, prints the table (or the JSON report with `--json`) and
 * writes the JSON report atomically to `--out`. The caller turns `report.failures` into the
 * exit status (a missing PyTorch is a note, not a failure; a quality miss is flagged in the
 * table and the report).
 */
export async function benchCommand(flags: BenchFlags, output: BenchOutput): Promise<BenchReport> {
  const options = toBenchOptions(flags);
  const outPath = resolve(flags.out ?? DEFAULT_REPORT_FILE);
  const report = await runBench(options, (line) => output.err(line));
  writeAtomic(outPath, `${JSON.stringify(report, null, 2)}\n`);
  output.out(flags.json ? JSON.stringify(report, null, 2) : formatReport(report, outPath));
  return report;
}

/** Registers `aekit bench` on `program` (the `aekit` command of `@aekit/cli`). */
export function registerBench(program: Command, output: BenchOutput): void {
  const benchCmd = program
    .command('bench')
    .description(
      'Benchmark aekit against a PyTorch reference: the same training jobs (model, MNIST data, batch size, Adam, epochs, seed) and encode throughput, alternating runs; prints samples/s of both, their ratio and both final test losses, and writes a JSON report.',
    )
    .option(
      '--jobs <list>',
      `comma-separated jobs to run, or all (default: all): ${BENCH_JOBS.map((j) => j.id).join(', ')}`,
    )
    .option(
      '--samples <n>',
      'training images per epoch for every training job (default: 12000 at batch 256, 6000 at batch 32)',
    )
    .option('--epochs <n>', 'timed epochs per training run, after one untimed warm-up epoch', '1')
    .option(
      '--repeat <n>',
      'rounds per job: aekit, PyTorch, aekit, PyTorch, ...; the medians are reported',
      '2',
    )
    .addOption(
      new Option('--backend <name>', "aekit's training backend")
        .choices([...BACKEND_NAMES])
        .default('auto'),
    )
    .option(
      '--threads <n>',
      'threads of each side: PyTorch (torch.set_num_threads and the threads of its BLAS), the BLAS that multiplies matrices for aekit on wasm, and ONNX Runtime intra-op threads for the encode jobs',
      '1',
    )
    .addOption(
      new Option(
        '--blas <mode>',
        "aekit's matrix products on wasm: auto (on BLAS where one is found), off (tfjs's own kernels, as on a machine without OpenBLAS), both (every training job with BLAS and again without, in one table each)",
      )
        .choices([...BLAS_MODES])
        .default('auto'),
    )
    .option('--python <path>', 'Python that has torch, for the PyTorch reference', DEFAULT_PYTHON)
    .addOption(
      new Option('--device <name>', 'where PyTorch runs').choices(['cpu', 'cuda']).default('cpu'),
    )
    .option('--out <file>', 'JSON report to write (atomically)', DEFAULT_REPORT_FILE)
    .option('--json', 'print the JSON report instead of the table')
    .option(
      '--quick',
      'tiny sample counts and short encode timings: a smoke test, not a measurement',
    )
    .showHelpAfterError(false)
    .addHelpText(
      'after',
      `
Jobs:
${BENCH_JOBS.map((j) => `  ${j.id.padEnd(12)} ${j.title}${j.kind === 'train' ? `, ${j.samples} images (--quick: ${j.quickSamples})` : ''}`).join('\n')}

Training jobs train aekit's stacked (conv jobs: conv; vae-b128: vae) variant through train()
and the same network in PyTorch
(reference/bench_torch.py: sigmoid output, BCE mean, Adam lr 1e-3 eps 1e-7, seed 42) on the
first N MNIST training images. PyTorch starts from aekit's initial weights and follows its
batch order, so both do the same arithmetic (the VAE's noise draws are each side's own);
then both compute the BCE on the 10,000 test images, which must agree within 2% (the
quality column). samples/s counts the training loop
of the timed epochs. Encode jobs export the trained SELU model (exportRun) and time encode()
on onnxruntime-node (cpu) against PyTorch's model.encoder(x) under torch.no_grad().

With the defaults the whole bench takes about four minutes on 2 cores with the wasm backend
(the plain-JS cpu backend is about ten times slower). Progress goes to stderr, the table (or
--json) to stdout. Without Python or torch the aekit numbers are still reported and the torch
columns say "skipped" (install it with: apt-get install python3-torch). The exit status is 1
when a run failed; a quality miss is flagged in the table, not in the exit status.

Examples:
  aekit bench
  aekit bench --jobs selu-b256,encode-b256 --repeat 3 --out runs/bench.json
  aekit bench --quick --json
  aekit bench --blas both                           (with and without OpenBLAS)
  aekit bench --device cuda --python python3       (on a GPU machine)`,
    )
    .action(async (opts: BenchFlags) => {
      const report = await benchCommand(opts, output);
      if (report.failures.length > 0) {
        benchCmd.error(
          `aekit bench: ${report.failures.length} run(s) failed (listed above and in the report).`,
          { exitCode: 1, code: 'commander.aekitBenchFailed' },
        );
      }
    });
}
