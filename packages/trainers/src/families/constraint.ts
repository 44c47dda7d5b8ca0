import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { type ActivationName, denseOptionFields, reconstructionOptionFields } from '../layers.js';
import type { TrainingPhase } from '../plugin.js';

/**
 * The options every dense autoencoder has (the stacked autoencoder's), before any
 * constraint adds its own.
 */
export const denseBaseFields = {
  layers: z
    .array(z.number().int().positive())
    .min(1)
    .default([100, 30])
    .describe('encoder layer sizes, the last is the coding size; 100,30 means 784-100-30-100-784'),
  ...denseOptionFields,
  codingActivation: z
    .enum(['auto', 'selu', 'elu', 'relu', 'sigmoid', 'tanh', 'linear'])
    .default('auto')
    .describe(
      'activation of the coding layer (auto: the hidden activation, or what a constraint needs, e.g. sigmoid for sparse)',
    ),
  ...reconstructionOptionFields,
};

/** The base options, validated. */
export type DenseBaseConfig = z.output<z.ZodObject<typeof denseBaseFields>>;

/** The architecture of a dense autoencoder, as constraints may adjust it. */
export interface DenseArchitecture {
  /** Activation of the coding layer. */
  readonly codingActivation: ActivationName;
  /**
   * Makes the decoder's dense layers (default: plain dense layers): `mirror` is the encoder
   * layer the decoder layer reverses (e.g. tied weights use its kernel, transposed).
   */
  readonly decoderLayer?: (spec: DecoderLayerSpec) => tfl.layers.Layer;
}

/** What {@link DenseArchitecture.decoderLayer} makes. */
export interface DecoderLayerSpec {
  readonly units: number;
  readonly activation: ActivationName;
  readonly name: string;
  /** The encoder dense layer this one mirrors (same sizes, reversed). */
  readonly mirror: tfl.layers.Layer;
  /** Set for the first decoder layer: the coding shape. */
  readonly inputShape?: readonly number[];
}

/** What a penalty sees of one forward pass (the whole model's, or one greedy phase's). */
export interface ForwardPass {
  /** The clean inputs of the pass, flattened to `[batch, features]`. */
  readonly x: tf.Tensor2D;
  /** What the encoder layers were given (the inputs after any corruption), flattened. */
  readonly input: tf.Tensor2D;
  /** The outputs of the encoder layers of the pass. */
  readonly codings: tf.Tensor2D;
  /** The dense encoder layers of the pass, in order (one in a greedy phase). */
  readonly encoderLayers: readonly tfl.layers.Layer[];
  /** Whether `codings` are the model's codings (false in the inner greedy phases). */
  readonly isCodingLayer: boolean;
  readonly training: boolean;
}

/** A dense autoencoder as built, for constraints that organise its training. */
export interface DenseParts {
  readonly encoder: tfl.Sequential;
  readonly decoder: tfl.Sequential;
  /** The encoder's dense layers in order, and the decoder's (from the codings up). */
  readonly encoderLayers: readonly tfl.layers.Layer[];
  readonly decoderLayers: readonly tfl.layers.Layer[];
  /** Widths from the input to the codings: [features, layer 1, ..., coding size]. */
  readonly sizes: readonly number[];
  /**
   * The loss of a shallow autoencoder made of encoder layer `k` and its mirror decoder
   * layer (1-based; k = 1 is the outermost pair and reconstructs the samples, the others
   * reconstruct the previous layer's codings with MSE), with every other constraint applied.
   */
  shallowLoss(k: number, x: tf.Tensor, training: boolean): ReturnType<TrainingPhase['loss']>;
  /** The samples encoded by encoder layers 1 to k (inputs of phase k + 1). */
  encodeThrough(k: number, x: tf.Tensor): tf.Tensor;
  /** The whole model's loss, every constraint applied. */
  loss: TrainingPhase['loss'];
}

/**
 * A constraint that makes a dense autoencoder learn something useful: tied weights, noise
 * on the inputs, a sparsity or contractive penalty, greedy layer-wise training. Constraints
 * combine (`--with tied,sparse`): each adds its own options and hooks, and none knows the
 * others. A dense variant is the stacked autoencoder with one constraint switched on.
 */
export interface DenseConstraint<F extends z.ZodRawShape = z.ZodRawShape> {
  /** Name as given to `--with` (and the name of the variant that switches it on). */
  readonly name: string;
  readonly title: string;
  readonly description: string;
  /** Option fields it adds, each with a default; they are read only when it is on. */
  readonly options: F;
  /** A problem with the options when this constraint is on, as a message; else undefined. */
  check?(config: ConstraintConfig<F>): string | undefined;
  /** Adjusts the architecture (e.g. a sigmoid coding layer, tied decoder weights). */
  architecture?(arch: DenseArchitecture, config: ConstraintConfig<F>): DenseArchitecture;
  /** Corrupts the inputs of the encoder, during training only (the loss still compares with the clean inputs). */
  corrupt?(x: tf.Tensor2D, config: ConstraintConfig<F>, seed: number): tf.Tensor2D;
  /** Extra loss terms of a forward pass, by name (logged apart from the reconstruction loss). */
  penalties?(pass: ForwardPass, config: ConstraintConfig<F>): Record<string, tf.Scalar>;
  /** Trains the model in phases instead of all at once (at most one constraint may). */
  phases?(parts: DenseParts, config: ConstraintConfig<F>): TrainingPhase[];
}

/** The validated options a constraint's hooks receive: the base ones and its own. */
export type ConstraintConfig<F extends z.ZodRawShape> = DenseBaseConfig &
  z.output<z.ZodObject<F>> & { readonly with: readonly string[] };

/** Declares a constraint, with the config type of its hooks inferred from its fields. */
export function defineConstraint<F extends z.ZodRawShape>(
  constraint: DenseConstraint<F>,
): DenseConstraint<F> {
  return constraint;
}
