import {
  type Dataset,
  defineVariant,
  type OnnxGraphDescription,
  type ReconstructionLoss,
  type SamplerSpec,
  type VariantOptionsSchema,
  type VariantPlugin,
} from '@aekit/core';
import type * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { z } from 'zod';

// The graph descriptions are plain data shared with the exporter, so they live in core.
export { DEFAULT_ONNX_GRAPHS, type OnnxGraphDescription } from '@aekit/core';

/** What a variant's `build` receives. */
export interface BuildContext<C> {
  /** The validated variant options. */
  readonly config: C;
  /** Shape of one input sample, e.g. `[28, 28, 1]`. */
  readonly inputShape: readonly number[];
  /** Seed for every initialiser and random op of the model. */
  readonly seed: number;
}

/**
 * A training loss with its named terms, e.g. `{ reconstruction, sparsity }`: `total` is what
 * is minimised; every term is averaged per epoch and logged beside the loss.
 */
export interface LossTerms {
  readonly total: tf.Scalar;
  readonly terms: Readonly<Record<string, tf.Scalar>>;
}

/** The value of {@link AutoencoderModel.loss}: a scalar, or a scalar with its terms. */
export type LossValue = tf.Scalar | LossTerms;

/** The scalar to minimise and the terms (none for a plain scalar) of a {@link LossValue}. */
export function lossParts(value: LossValue): LossTerms {
  return 'total' in value ? value : { total: value, terms: {} };
}

/**
 * One phase of a training made of several (e.g. greedy layer-wise training): it trains some
 * variables on its own loss and inputs for its own number of epochs, with a fresh optimiser.
 */
export interface TrainingPhase {
  /** Shown in progress lines and recorded in the manifest, e.g. `layer 1: 784-300-784`. */
  readonly name: string;
  /** Epochs of the phase (default: the run's `epochs`). */
  readonly epochs?: number;
  /** The variables it trains (default: every trainable weight of every network). */
  variables?(): tf.Variable[];
  /** The loss of a batch of this phase's inputs. */
  loss(x: tf.Tensor, training: boolean): LossValue;
  /**
   * This phase's inputs, computed once from the run's samples (e.g. the codings of the
   * layers trained before), rather than recomputed every epoch (default: the samples).
   */
  inputs?(data: Dataset): Promise<Dataset>;
}

/**
 * One update made on every batch by its own optimiser, over its own variables: an
 * adversarial autoencoder makes three (reconstruction, discriminator, generator).
 */
export interface TrainingStep {
  /** Names the step's loss in metrics.jsonl and the progress output, e.g. `discriminator`. */
  readonly name: string;
  /** The variables the step changes. */
  variables(): tf.Variable[];
  /** The loss the step lowers, of batch `x`. */
  loss(x: tf.Tensor, training: boolean): LossValue;
}

/**
 * A built autoencoder: its networks and how to compute its training loss.
 * `networks.encoder` maps inputs to codings, `networks.decoder` codings to reconstructions;
 * other entries are extra networks (a discriminator, …) that are saved and restored too.
 */
export interface AutoencoderModel {
  readonly networks: { readonly encoder: LayersModel; readonly decoder: LayersModel } & Readonly<
    Record<string, LayersModel>
  >;
  /** The loss reported as "reconstruction loss" by evaluation. */
  readonly reconstructionLoss: ReconstructionLoss;
  /**
   * What the training loss is and its unit, for the y-axis of figures/loss.png (default:
   * from {@link reconstructionLoss}, see {@link describeLoss}).
   */
  readonly lossDescription?: LossDescription;
  /**
   * The scalar training loss of batch `x` (reconstruction plus constraint terms), computed
   * eagerly; the engine calls it inside `tf.tidy` while recording gradients.
   */
  loss(x: tf.Tensor, training: boolean): LossValue;
  /**
   * Phases trained one after the other instead of one training of {@link loss} (greedy
   * layer-wise training, for instance). The validation loss is that of each phase.
   */
  readonly phases?: readonly TrainingPhase[];
  /**
   * Several updates on every batch, in order, each with its own optimiser (created like
   * the run's, with the run's learning rate) instead of one minimising {@link loss} over
   * every variable. Each step's loss is logged under its name (and its terms under theirs
   * unless a step has that name); the epoch's `loss` is the first step's. {@link loss} is
   * still the validation loss. Not with {@link phases}.
   */
  readonly steps?: readonly TrainingStep[];
  /**
   * Held-out measures beyond reconstruction, each a mean over the samples of batch `x`
   * (e.g. a VAE's negative ELBO in nats per sample); `aekit eval` reports them.
   */
  measures?(x: tf.Tensor): Readonly<Record<string, tf.Scalar>>;
  /** Reconstructions of `x` at inference time. */
  reconstruct(x: tf.Tensor): tf.Tensor;
  /** Codings of `x` at inference time. */
  encode(x: tf.Tensor): tf.Tensor;
}

/** A training loss as a chart names it, e.g. `{ name: 'negative ELBO', unit: 'nats per image' }`. */
export interface LossDescription {
  /** What is computed, e.g. `binary cross-entropy`. */
  readonly name: string;
  /** Its unit, e.g. `nats per pixel`. */
  readonly unit: string;
}

/**
 * The model's {@link AutoencoderModel.lossDescription}, or the default of its reconstruction
 * loss, which is a mean over every value: mean squared error per value, binary
 * cross-entropy in nats per value (per pixel for images, `[h, w]` or `[h, w, c]`).
 */
export function describeLoss(
  model: Pick<AutoencoderModel, 'reconstructionLoss' | 'lossDescription'>,
  inputShape: readonly number[],
): LossDescription {
  if (model.lossDescription) return model.lossDescription;
  const per = inputShape.length >= 2 ? 'pixel' : 'value';
  return model.reconstructionLoss === 'bce'
    ? { name: 'binary cross-entropy', unit: `nats per ${per}` }
    : { name: 'mean squared error', unit: `per ${per}` };
}

/** The TensorFlow.js half of a variant plugin. */
export interface TfjsTrainer<C> {
  /** Builds fresh networks (seeded). */
  build(context: BuildContext<C>): AutoencoderModel;
  /** The ONNX graphs to export (default: {@link DEFAULT_ONNX_GRAPHS}). */
  onnxGraphs?(config: C): readonly OnnxGraphDescription[];
  /** The activation of the reconstruction, recorded for runtimes (e.g. `sigmoid`). */
  outputActivation?(config: C): string;
  /** How runtimes sample, for variants with the `sample` capability (recorded in aekit.json). */
  sampler?(config: C): SamplerSpec;
  /**
   * How many weights {@link build} allocates for these options, counted without allocating
   * them, so that the engine refuses a model too large for memory (`ModelTooLarge`, with
   * the estimate) before building it. Without it, such a model fails when allocation does.
   */
  weightCount?(context: Omit<BuildContext<C>, 'seed'>): number;
  /**
   * The range the samples must lie in after normalisation for these options, e.g. [0, 1]
   * for a binary cross-entropy loss (its targets are probabilities); undefined when any
   * finite value will do. The engine refuses data outside it (`DataOutOfRange`).
   */
  inputRange?(config: C): InputRange | undefined;
}

/** What {@link TfjsTrainer.inputRange} returns. */
export interface InputRange {
  readonly min: number;
  readonly max: number;
  /** What needs it, read after the variant's name, e.g. `with loss bce`. */
  readonly why: string;
}

/**
 * The input range a reconstruction loss needs: [0, 1] for `bce` (binary cross-entropy
 * compares with probabilities), none for `mse`.
 */
export function lossInputRange(loss: string): InputRange | undefined {
  return loss === 'bce' ? { min: 0, max: 1, why: 'with loss bce' } : undefined;
}

/** A variant plugin whose trainer runs on TensorFlow.js. */
export type TfjsVariantPlugin<S extends VariantOptionsSchema = VariantOptionsSchema> =
  VariantPlugin<S, TfjsTrainer<z.output<S>>>;

/** Declares a TensorFlow.js variant plugin, with its config type inferred from the schema. */
export function defineTfjsVariant<S extends VariantOptionsSchema>(
  plugin: TfjsVariantPlugin<S>,
): TfjsVariantPlugin<S> {
  return defineVariant(plugin);
}

/** Narrows a registry entry to a TensorFlow.js plugin, or explains why it is not one. */
export function asTfjsPlugin(plugin: VariantPlugin): TfjsVariantPlugin {
  const trainer = plugin.trainer as Partial<TfjsTrainer<unknown>> | undefined;
  if (!trainer || typeof trainer.build !== 'function') {
    throw new TypeError(`Variant "${plugin.name}" has no TensorFlow.js trainer (trainer.build).`);
  }
  return plugin as TfjsVariantPlugin;
}

/**
 * Disposes a model's networks. A network used inside another (a classifier holds the
 * encoder) is disposed by that one, so only the outermost are disposed here: tfjs-layers
 * throws on a second dispose.
 */
export function disposeNetworks(networks: Readonly<Record<string, LayersModel>>): void {
  const all = Object.values(networks);
  const inside = new Set(
    all.flatMap((net) => net.layers.filter((l) => all.includes(l as LayersModel))),
  );
  for (const net of all) if (!inside.has(net)) net.dispose();
}
