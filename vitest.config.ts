import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';
import { loadBlas } from './packages/trainers/src/backends/blas.ts';

/** Every test file but the benchmarks'. */
const ALL = ['packages/*/src/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'tools/**/*.test.ts'];

/**
 * The benchmarks' tests measure the machine (throughput, how many cores a run keeps busy):
 * they run after every other file, one at a time, so that no other test shares their cores.
 */
const BENCH = ['tools/bench/**/*.test.ts'];

/**
 * The training tests (every variant's, the engine's, the kernels'), every variant's end to
 * end test and the user journey, and the export's checks against tfjs: on a machine with a
 * BLAS library they run a second time with it switched off, the path of every machine
 * without one (most macOS and Windows installs, containers, a fresh Linux) and of the
 * browser. (`aekit bench --blas both`'s test measures both paths in the first run.)
 */
const TRAINING = [
  'packages/trainers/src/**/*.test.ts',
  'packages/cli/src/variants.e2e.test.ts',
  'packages/cli/src/cli.e2e.test.ts',
  'packages/cli/src/export-*.test.ts',
];

// Where no BLAS is found (or AEKIT_BLAS=off), the first run is already the one without it.
const hasBlas = loadBlas() !== null;

export default defineConfig({
  test: {
    // Model tests train for real on small data; the slowest takes tens of seconds on 2 cores.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // A test file per core but one, as Vitest's default, and two on two cores (where the
    // default leaves one idle): most files train on one thread or wait for a child process.
    // The BLAS gets one thread per process so that the files do not oversubscribe the cores.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    env: { AEKIT_BLAS_THREADS: '1' },
    reporters: ['default', './tools/vitest-summary.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'aekit', include: ALL, exclude: [...configDefaults.exclude, ...BENCH] },
      },
      {
        extends: true,
        test: {
          name: 'bench',
          include: BENCH,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      ...(hasBlas
        ? [
            {
              extends: true,
              test: { name: 'no-blas', include: TRAINING, env: { AEKIT_BLAS: 'off' } },
            },
          ]
        : []),
    ],
  },
});
