import { resolve } from 'node:path';
import { aekitError } from '@aekit/core';
import { writeAtomic } from '@aekit/core/node';
import { BACKEND_NAMES } from '@aekit/trainers';
import type { Output } from '../output.js';
import { BENCH_JOB_IDS, BENCH_JOBS, MNIST_TRAIN_IMAGES } from './jobs.js';
import type { BenchReport } from './report.js';
import { formatReport } from './report.js';
import { type BenchOptions, BLAS_MODES, type BlasMode, runBench } from './run.js';
import { DEFAULT_PYTHON } from './torch.js';

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
export async function benchCommand(flags: BenchFlags, output: Output): Promise<BenchReport> {
  const options = toBenchOptions(flags);
  const outPath = resolve(flags.out ?? DEFAULT_REPORT_FILE);
  const report = await runBench(options, (line) => output.err(line));
  writeAtomic(outPath, `${JSON.stringify(report, null, 2)}\n`);
  output.out(flags.json ? JSON.stringify(report, null, 2) : formatReport(report, outPath));
  return report;
}
