/**
 * `@aekit/cli`: the `aekit` command, usable as a library too: `main`/`createProgram` run it,
 * `exportRun` exports a run directory as `aekit export` does.
 *
 * @packageDocumentation
 */

export { toTrainOptions, variantOptionFlags } from './commands/train.js';
export { type ExportRunOptions, exportRun } from './export-run.js';
export { type Output, processOutput, reportError } from './output.js';
export { createProgram, main } from './program.js';
