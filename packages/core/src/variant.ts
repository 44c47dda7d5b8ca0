import type { z } from 'zod';
import type { CapabilityKind } from './exported-model.js';

/**
 * What a trained model of a variant can do at run time, beyond encode/decode/reconstruct:
 * one of the capability kinds of the exported-model contract (`CAPABILITIES`).
 */
export type Capability = CapabilityKind;

/** The config schema of a variant: a zod object whose fields all have defaults. */
export type VariantOptionsSchema = z.ZodObject<z.ZodRawShape>;

/**
 * The contract every autoencoder variant fulfils.
 *
 * Core knows only the engine-independent half: name, documentation, the options schema
 * (validated, with defaults) and capabilities. `trainer` is the engine's half (for the
 * TensorFlow.js engine: how to build the networks and the loss); core stores it untouched,
 * so core needs neither tfjs nor ONNX Runtime.
 */
export interface VariantPlugin<
  TSchema extends VariantOptionsSchema = VariantOptionsSchema,
  TTrainer = unknown,
> {
  /** Registry key, kebab-case, e.g. `stacked`. Never renamed. */
  readonly name: string;
  /** One line for listings. */
  readonly title: string;
  /** A paragraph for `aekit variants NAME`. */
  readonly description: string;
  /** Options with defaults and validation. Field names are camelCase; flags are kebab-case. */
  readonly options: TSchema;
  /** What a trained model can do beyond reconstruction. */
  readonly capabilities: readonly Capability[];
  /** The engine-specific implementation. */
  readonly trainer: TTrainer;
}

/** The validated config type of a plugin. */
export type VariantConfig<P extends VariantPlugin> = z.output<P['options']>;

/**
 * Declares a variant plugin with its types inferred: a plugin is plain data, returned frozen.
 */
export function defineVariant<TSchema extends VariantOptionsSchema, TTrainer>(
  plugin: VariantPlugin<TSchema, TTrainer>,
): VariantPlugin<TSchema, TTrainer> {
  return Object.freeze({ ...plugin, capabilities: Object.freeze([...plugin.capabilities]) });
}
