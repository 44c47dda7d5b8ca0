/**
 * `@aekit/cli`: the `aekit` command (train, eval, variants), usable as a library too.
 *
 * @packageDocumentation
 */

export { toTrainOptions, variantOptionFlags } from './commands/train.js';
export { type Output, processOutput, reportError } from './output.js';
export { createProgram, main } from './program.js';
