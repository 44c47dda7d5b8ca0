/**
 * The browser-safe part of `@aekit/trainers`: the variant plugins and their contract, to
 * build and train autoencoders with TensorFlow.js in a page. No file access and no native
 * code: the engine (run directories, checkpoints), figures and backends selection stay in
 * the Node entry.
 *
 * @packageDocumentation
 */
export * from './layers.js';
export * from './plugin.js';
export { builtinVariants, registerBuiltinVariants } from './register-all.js';
