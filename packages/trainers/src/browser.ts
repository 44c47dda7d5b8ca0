/**
 * The browser-safe part of `@aekit/trainers`: the variant plugins and their contract, to
 * build and train autoencoders with TensorFlow.js in a page, with the same training loop
 * (`fit`) as the Node engine. No file access and no native code: run directories,
 * checkpoints, figures and backends selection stay in the Node entry.
 *
 * @packageDocumentation
 */

// tfjs's wasm backend has no Conv2DBackpropFilter: a page that trains convolutions on it adds it
// (installFastKernels does, with the rest of the kernels that make training fast there).
export { installWasmConvKernels } from './backends/wasm-conv.js';
export { type FastKernels, installFastKernels } from './backends/web-kernels.js';
export {
  type FitBatchEnd,
  type FitCallbacks,
  type FitEpoch,
  type FitHistoryEntry,
  type FitLoss,
  type FitModel,
  type FitOptions,
  type FitPhase,
  type FitRestore,
  type FitResult,
  type FitState,
  type FitStep,
  fit,
  fitSchedule,
  type SavedTensor,
  type ScheduledPhase,
  saveOptimizers,
} from './engine/fit.js';
export { createOptimizer, OPTIMIZERS, type OptimizerName } from './engine/optimizers.js';
export * from './layers.js';
export * from './plugin.js';
export { builtinVariants, registerBuiltinVariants } from './register-all.js';
