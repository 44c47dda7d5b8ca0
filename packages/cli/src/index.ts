/**
 * `@aekit/cli`: the `aekit` command, usable as a library too: `main`/`createProgram` run it.
 * What each command does is a function of the libraries (`exportRun` of `@aekit/trainers`
 * behind `aekit export`, for one).
 *
 * @packageDocumentation
 */

/**
 * `aekit export`'s function, now in `@aekit/trainers`.
 *
 * @deprecated Import `exportRun` from `@aekit/trainers`.
 */
export { type ExportRunOptions, exportRun } from '@aekit/trainers';
export { toTrainOptions, variantOptionFlags } from './commands/train.js';
export { type Output, processOutput, reportError } from './output.js';
export { createProgram, main } from './program.js';
