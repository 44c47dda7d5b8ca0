/**
 * `@aekit/cli`: the `aekit` command (train, eval, variants), usable as a library too.
 *
 * @packageDocumentation
 */
export { createProgram, main } from './program.js';
export { type Output, processOutput, reportError } from './output.js';
export { toTrainOptions, variantOptionFlags } from './commands/train.js';
