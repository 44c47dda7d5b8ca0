/**
 * `@aekit/bench`: `aekit bench`, aekit against a PyTorch reference on the same training
 * jobs and encode throughput. `@aekit/cli` loads it for the `aekit bench` command
 * ({@link registerBench}); {@link runBench} runs the jobs from code and returns the report.
 *
 * @packageDocumentation
 */

export {
  type BenchFlags,
  type BenchOutput,
  benchCommand,
  DEFAULT_REPORT_FILE,
  registerBench,
  toBenchOptions,
} from './command.js';
export {
  BENCH_JOB_IDS,
  BENCH_JOBS,
  type BenchActivation,
  type BenchJob,
  type EncodeJob,
  type TrainJob,
} from './jobs.js';
export {
  BENCH_REPORT_FORMAT,
  type BenchReport,
  formatReport,
  type JobReport,
} from './report.js';
export { type BenchOptions, BLAS_MODES, type BlasMode, runBench } from './run.js';
export { DEFAULT_PYTHON, TORCH_SCRIPT } from './torch.js';
