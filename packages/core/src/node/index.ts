/**
 * The Node.js half of `@aekit/core`: file readers (IDX, NPY, CSV), the built-in data sets,
 * data files checked against a trained model's input, and the run directory on disk.
 *
 * @packageDocumentation
 */
export * from './data-file.js';
export * from './datasets.js';
export * from './model-repository.js';
export * from './png.js';
export * from './readers.js';
export * from './run-dir.js';
export * from './writers.js';
