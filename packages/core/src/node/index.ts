/**
 * The Node.js half of `@aekit/core`: file readers (IDX, NPY, CSV), the built-in data sets
 * and the run directory on disk.
 *
 * @packageDocumentation
 */
export * from './datasets.js';
export * from './png.js';
export * from './readers.js';
export * from './run-dir.js';
export * from './writers.js';
