import { type Capability, createRng, type SamplerSpec } from '@aekit/core';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import {
  type ActivationName,
  applyAll,
  denseLayer,
  flatten,
  initializer,
  l2Penalty,
  meanSquaredError,
  reconstructionLossFn,
  sigmoidCrossEntropyWithLogits,
} from '../layers.js';
import {
  type AutoencoderModel,
  type BuildContext,
  defineTfjsVariant,
  type LossValue,
  lossInputRange,
  type TfjsVariantPlugin,
} from '../plugin.js';
import {
  type ConstraintConfig,
  type DenseArchitecture,
  type DenseBaseConfig,
  type DenseConstraint,
  type DenseParts,
  denseBaseFields,
  type ForwardPass,
} from './constraint.js';
import { DENSE_CONSTRAINTS } from './constraints/index.js';
import { denseStackWeightCount, sizeOf } from './dense-stack.js';

type AnyConstraint = DenseConstraint<z.ZodRawShape>;
const constraints = DENSE_CONSTRAINTS as readonly AnyConstraint[];
const CONSTRAINT_NAMES = constraints.map((c) => c.name) as [string, ...string[]];

/**
 * The options of every dense autoencoder variant: the stacked autoencoder's, `with` (the
 * constraints to add) and every constraint's own options, read only when it is on.
 */
export const denseAutoencoderOptions = z
  .object({
    ...denseBaseFields,
    with: z
      .array(z.enum(CONSTRAINT_NAMES))
      .default([])
      .describe("constraints to add to the variant's own, comma-separated, e.g. tied,denoising"),
    ...Object.assign({}, ...constraints.map((c) => c.options)),
  })
  .strict();

/** Validated options of a dense autoencoder variant. */
export type DenseAutoencoderConfig = DenseBaseConfig & {
  readonly with: readonly string[];
} & Record<string, unknown>;

/** The constraints switched on: the variant's own, then those of `with`, each once. */
function activeConstraints(
  own: readonly string[],
  config: DenseAutoencoderConfig,
): AnyConstraint[] {
  const names = [...new Set([...own, ...config.with])];
  return names.map((n) => constraints.find((c) => c.name === n)!);
}

/**
 * Builds a dense autoencoder with the constraints `own` plus those the options add: a
 * symmetric stack (layers [a, b] give input-a-b-a-input), the decoder's dense layers made
 * by the architecture (tied or plain), the loss of the reconstruction (from the logits for
 * a sigmoid output with cross-entropy) plus every constraint's penalties and the L2 term.
 */
export function buildDenseAutoencoder(
  own: readonly string[],
  { config: raw, inputShape, seed }: BuildContext<DenseAutoencoderConfig>,
): AutoencoderModel {
  const config = raw as ConstraintConfig<z.ZodRawShape>;
  const active = activeConstraints(own, raw);
  let arch: DenseArchitecture = {
    codingActivation:
      config.codingActivation === 'auto' ? config.activation : config.codingActivation,
  };
  for (const c of active) arch = c.architecture?.(arch, config) ?? arch;
  if (config.codingActivation !== 'auto') {
    arch = { ...arch, codingActivation: config.codingActivation };
  }
  const features = sizeOf(inputShape);
  const fromLogits = config.loss === 'bce' && config.outputActivation === 'sigmoid';
  const sizes = config.layers;
  const depth = sizes.length;
  const activationOf = (k: number): ActivationName =>
    k === depth ? arch.codingActivation : config.activation;

  // Encoder: [flatten], dense 1..L.
  const encoder = tfl.sequential({ name: 'encoder' });
  if (inputShape.length > 1) {
    encoder.add(tfl.layers.flatten({ inputShape: [...inputShape], name: 'encoder_flatten' }));
  }
  const encoderLayers = sizes.map((units, i) =>
    denseLayer({
      units,
      activation: activationOf(i + 1),
      kernelInitializer: initializer(config.initializer, activationOf(i + 1), seed * 1000 + i),
      biasInitializer: 'zeros',
      name: `encoder_dense_${i + 1}`,
      ...(i === 0 && inputShape.length <= 1 ? { inputShape: [...inputShape] } : {}),
    }),
  );
  for (const layer of encoderLayers) encoder.add(layer);

  // Decoder: dense 1..L mirroring encoder L..1, [reshape], [output activation].
  const decoder = tfl.sequential({ name: 'decoder' });
  const decoderLayers = sizes.map((_, j) => {
    const mirror = encoderLayers[depth - 1 - j]!;
    const units = j === depth - 1 ? features : sizes[depth - 2 - j]!;
    const last = j === depth - 1;
    const activation: ActivationName = last
      ? fromLogits
        ? 'linear'
        : config.outputActivation
      : config.activation;
    const name = `decoder_dense_${j + 1}`;
    const inputShape = j === 0 ? [sizes[depth - 1]!] : undefined;
    return arch.decoderLayer
      ? arch.decoderLayer({
          units,
          activation,
          name,
          mirror,
          ...(inputShape ? { inputShape } : {}),
        })
      : denseLayer({
          units,
          activation,
          kernelInitializer: initializer(
            config.initializer,
            last ? config.outputActivation : config.activation,
            (seed + 1) * 1000 + j,
          ),
          biasInitializer: 'zeros',
          name,
          ...(inputShape ? { inputShape } : {}),
        });
  });
  for (const layer of decoderLayers) decoder.add(layer);
  const tail: tfl.layers.Layer[] = [];
  if (inputShape.length > 1) {
    tail.push(tfl.layers.reshape({ targetShape: [...inputShape], name: 'decoder_reshape' }));
  }
  if (fromLogits) {
    tail.push(tfl.layers.activation({ activation: 'sigmoid', name: 'decoder_output' }));
  }
  for (const layer of tail) decoder.add(layer);
  const tailBeforeActivation = fromLogits ? tail.slice(0, -1) : tail;

  const rng = createRng(seed, 'constraints');
  const noiseSeed = () => Math.floor(rng() * 2 ** 31);
  const corrupt = (x: tf.Tensor2D, training: boolean): tf.Tensor2D => {
    if (!training) return x;
    let input = x;
    for (const c of active) if (c.corrupt) input = c.corrupt(input, config, noiseSeed());
    return input;
  };
  const penalties = (pass: ForwardPass): Record<string, tf.Scalar> =>
    Object.assign({}, ...active.map((c) => c.penalties?.(pass, config) ?? {}));
  const withTerms = (reconstruction: tf.Scalar, extra: Record<string, tf.Scalar>): LossValue => {
    const terms: Record<string, tf.Scalar> = { ...extra };
    if (config.l2 > 0) terms.l2 = l2Penalty([encoder, decoder], config.l2);
    if (Object.keys(terms).length === 0) return reconstruction;
    const total = tf.addN([reconstruction, ...Object.values(terms)]) as tf.Scalar;
    return { total, terms: { reconstruction, ...terms } };
  };
  /** The reconstruction loss of decoder outputs against `target` (the samples' shape). */
  const reconstructionOf = (target: tf.Tensor, decoded: tf.Tensor, training: boolean) =>
    fromLogits
      ? sigmoidCrossEntropyWithLogits(target, applyAll(tailBeforeActivation, decoded, training))
      : reconstructionLossFn(config.loss)(target, applyAll(tail, decoded, training));

  const loss = (x: tf.Tensor, training: boolean): LossValue => {
    const flat = flatten(x);
    const input = corrupt(flat, training);
    const codings = applyAll(encoderLayers, input, training) as tf.Tensor2D;
    const decoded = applyAll(decoderLayers, codings, training);
    const rec = reconstructionOf(x, decoded, training);
    return withTerms(
      rec,
      penalties({ x: flat, input, codings, encoderLayers, isCodingLayer: true, training }),
    );
  };

  const parts: DenseParts = {
    encoder,
    decoder,
    encoderLayers,
    decoderLayers,
    sizes: [features, ...sizes],
    loss,
    encodeThrough: (k, x) => applyAll(encoderLayers.slice(0, k), flatten(x), false),
    shallowLoss: (k, x, training) => {
      const flat = flatten(x);
      const input = corrupt(flat, training);
      const enc = encoderLayers[k - 1]!;
      const dec = decoderLayers[depth - k]!;
      const codings = enc.apply(input, { training }) as tf.Tensor2D;
      const decoded = dec.apply(codings, { training }) as tf.Tensor;
      const rec =
        k === 1 ? reconstructionOf(x, decoded, training) : meanSquaredError(flat, decoded);
      return withTerms(
        rec,
        penalties({
          x: flat,
          input,
          codings,
          encoderLayers: [enc],
          isCodingLayer: k === depth,
          training,
        }),
      );
    },
  };
  const phased = active.filter((c) => c.phases);
  const phases = phased[0]?.phases?.(parts, config);

  return {
    networks: { encoder, decoder },
    reconstructionLoss: config.loss,
    loss,
    ...(phases ? { phases } : {}),
    reconstruct: (x) =>
      decoder.apply(encoder.apply(x, { training: false }), { training: false }) as tf.Tensor,
    encode: (x) => encoder.apply(x, { training: false }) as tf.Tensor,
  };
}

/** A problem with the options of a dense variant with constraints `own`, or undefined. */
export function checkDenseConfig(
  own: readonly string[],
  config: DenseAutoencoderConfig,
): string | undefined {
  const active = activeConstraints(own, config);
  if (active.filter((c) => c.phases).length > 1) {
    return `only one of ${active
      .filter((c) => c.phases)
      .map((c) => c.name)
      .join(', ')} can organise the training.`;
  }
  for (const c of active) {
    const problem = c.check?.(config as ConstraintConfig<z.ZodRawShape>);
    if (problem) return problem;
  }
  return undefined;
}

/** What {@link defineDenseVariant} needs: the variant's name, words, and own constraints. */
export interface DenseVariantSpec {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  /** Constraints always on in this variant (others can be added with `--with`). */
  readonly constraints: readonly string[];
  /** What a trained model can do beyond reconstruction (default: nothing). */
  readonly capabilities?: readonly Capability[];
  /** How runtimes sample, for variants with the `sample` capability. */
  readonly sampler?: (config: DenseAutoencoderConfig) => SamplerSpec;
}

/** A dense autoencoder variant: the stacked autoencoder with `constraints` switched on. */
export function defineDenseVariant(
  spec: DenseVariantSpec,
): TfjsVariantPlugin<typeof denseAutoencoderOptions> {
  const options = denseAutoencoderOptions.superRefine((config, ctx) => {
    const problem = checkDenseConfig(spec.constraints, config as DenseAutoencoderConfig);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }) as unknown as typeof denseAutoencoderOptions;
  return defineTfjsVariant({
    name: spec.name,
    title: spec.title,
    description: spec.description,
    options,
    capabilities: spec.capabilities ?? [],
    trainer: {
      ...(spec.sampler
        ? { sampler: (config) => spec.sampler!(config as DenseAutoencoderConfig) }
        : {}),
      build: (context) =>
        buildDenseAutoencoder(spec.constraints, {
          ...context,
          config: context.config as DenseAutoencoderConfig,
        }),
      outputActivation: (config) => (config as DenseAutoencoderConfig).outputActivation,
      inputRange: (config) => lossInputRange((config as DenseAutoencoderConfig).loss),
      weightCount: ({ config, inputShape }) =>
        denseStackWeightCount(sizeOf(inputShape), (config as DenseAutoencoderConfig).layers),
    },
  });
}
