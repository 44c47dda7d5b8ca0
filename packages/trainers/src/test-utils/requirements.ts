import type { Requirement } from '../../../core/src/test-utils/requirements.js';
import { loadBlas } from '../backends/blas.js';

export * from '../../../core/src/test-utils/requirements.js';

/**
 * A CBLAS library for the wasm backend's products (OpenBLAS). `AEKIT_BLAS=off` switches it
 * off on purpose: the test command runs the training tests once more that way, so the tests
 * of the BLAS path itself skip there, in CI too.
 */
export const BLAS: Requirement = Object.freeze({
  what: 'OpenBLAS',
  debian: 'libopenblas0',
  available: () => loadBlas() !== null,
  switchedOff: () => {
    const asked = process.env.AEKIT_BLAS;
    return asked === 'off' || asked === '0' ? `AEKIT_BLAS=${asked}` : undefined;
  },
});
