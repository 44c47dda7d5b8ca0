import { defineConfig } from 'vitest/config';
import { loadBlas } from './packages/trainers/src/backends/blas.ts';

/** Every test file. */
const ALL = ['packages/*/src/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'tools/**/*.test.ts'];

/**
 * The files that train (or run what training made): on a machine with a BLAS library they
 * run a second time with it switched off, the path of every machine without one (most
 * macOS and Windows installs, containers, a fresh Linux) and of the browser.
 */
const TRAINING = [
  'packages/trainers/src/**/*.test.ts',
  'packages/cli/src/**/*.e2e.test.ts',
  'packages/cli/src/export-*.test.ts',
  'packages/cli/src/bench/*.test.ts',
  'tools/generators/**/*.test.ts',
];

// Where no BLAS is found (or AEKIT_BLAS=off), the first run is already the one without it.
const hasBlas = loadBlas() !== null;

export default defineConfig({
  test: {
    // Model tests train for real on small data; the slowest takes tens of seconds on 2 cores.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    reporters: ['default', './tools/vitest-summary.ts'],
    projects: [
      { extends: true, test: { name: hasBlas ? 'blas' : 'aekit', include: ALL } },
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
