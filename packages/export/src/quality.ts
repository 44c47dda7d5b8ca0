/**
 * The quality of exported graphs, measured in ONNX Runtime on held-out samples, and its loss
 * against the float32 graphs: what decides whether graphs stored at a smaller precision
 * (`quantize.ts`) may be written. What is measured follows from what the graphs and the
 * model's capabilities declare, never from the variant's name:
 *
 * - `mse`: reconstruction mean squared error (encoder then decoder, else the autoencoder
 *   graph), for every autoencoder;
 * - `negativeElbo`: nats per sample, for an encoder with a `log_variance` output and a
 *   sigmoid decoder (Bernoulli likelihood), as the variational autoencoder's own measure;
 * - `bitAgreement` and `precisionAt10`: for the `hash` capability, the codes as runtimes
 *   make them (the encoder's `bits`, else its codings rounded at 0.5);
 * - `accuracy`: for the `classify` capability, on labelled samples.
 *
 * The loss of a measure is its relative change against float32 either way: smaller weights
 * add noise to the model, and noise that happens to lower the held-out MSE by 0.5% moved
 * the model as far as noise that raises it by 0.5%; a budget bounds how far the measured
 * quality may move. (Measured: int8 weights lowered the test MSE of a one-epoch MNIST
 * autoencoder by 0.02%.) A budget of 0 therefore admits float32 only.
 */
import {
  aekitError,
  type CapabilityKind,
  type CheckSampleSource,
  createRng,
  type ExportQuality,
  hashRetrievalMetrics,
  meanSquaredError,
  type OnnxGraphDescription,
  type PackedCodes,
  type Precision,
  packBits,
  popcount32,
  type QualityMeasure,
  TENSOR_NAMES,
} from '@aekit/core';
import { type OnnxRuntimeName, runOnnxOutputs } from './run-onnx.js';

/** The largest quality loss an export at a smaller precision may have unless told: 1%. */
export const DEFAULT_MAX_QUALITY_LOSS = 0.01;

/** The `k` of the precision@k measured for hashing models. */
export const QUALITY_PRECISION_K = 10;

/** Clipping of probabilities in the cross-entropy, as tfjs's binary cross-entropy clips. */
const PROBABILITY_EPSILON = 1e-7;

/** Held-out samples to measure on: `count` samples, flattened, with labels if known. */
export interface QualitySamples {
  readonly x: Float32Array;
  readonly count: number;
  readonly from: CheckSampleSource;
  /** One integer label per sample: precision@10 and accuracy need them. */
  readonly labels?: ArrayLike<number>;
}

/** What the measures need to know of the model, beyond its graphs. */
export interface QualityModel {
  readonly inputShape: readonly number[];
  readonly codingShape: readonly number[];
  readonly capabilities: readonly CapabilityKind[];
  /** The decoder's last activation: `sigmoid` gives the negative ELBO a Bernoulli likelihood. */
  readonly outputActivation?: string;
  /** A classifier's labels, one per output of its graph. */
  readonly classes?: readonly number[];
  /** Seed of the noise of the negative ELBO's sampled codings. */
  readonly seed: number;
}

/** One graph to measure: its description and its `.onnx` bytes. */
export interface QualityGraph {
  readonly graph: OnnxGraphDescription;
  readonly bytes: Uint8Array;
}

/** The measures of one set of graphs, and the codes bit agreement compares. */
export interface QualityFigures {
  readonly values: Readonly<Record<string, number>>;
  readonly codes?: PackedCodes;
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** The graph that maps tensor `input` to tensor `output`, if there is one. */
function graphFrom(
  graphs: readonly QualityGraph[],
  input: string,
  output: string,
): QualityGraph | undefined {
  return graphs.find((g) => g.graph.inputName === input && g.graph.outputName === output);
}

/** `count` seeded standard normal values (Box-Muller). */
function normals(count: number, seed: number): Float32Array {
  const rng = createRng(seed, 'export-quality');
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rng()));
    const t = 2 * Math.PI * rng();
    out[i] = r * Math.cos(t);
    if (i + 1 < count) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

/**
 * The negative ELBO in nats per sample: the cross-entropy of the samples under the decoder's
 * Bernoulli probabilities at codings drawn as mean + exp(log_variance / 2) * noise (summed
 * over the values of a sample), plus the KL divergence of N(mean, exp(log_variance)) from
 * N(0, I). The same noise for every precision, so the loss compares like with like.
 */
function negativeElbo(
  x: Float32Array,
  probabilities: Float32Array,
  mean: Float32Array,
  logVariance: Float32Array,
  count: number,
): number {
  let crossEntropy = 0;
  for (let i = 0; i < x.length; i++) {
    const p = Math.min(1 - PROBABILITY_EPSILON, Math.max(PROBABILITY_EPSILON, probabilities[i]!));
    crossEntropy -= x[i]! * Math.log(p) + (1 - x[i]!) * Math.log(1 - p);
  }
  let kl = 0;
  for (let i = 0; i < mean.length; i++) {
    kl -= 0.5 * (1 + logVariance[i]! - mean[i]! ** 2 - Math.exp(logVariance[i]!));
  }
  return (crossEntropy + kl) / count;
}

/** Samples per ONNX Runtime call: bounds the memory a convolutional graph takes. */
const QUALITY_BATCH = 256;

/**
 * Runs graph `g` on `x` (`dims`, batch first) in batches of {@link QUALITY_BATCH} and returns
 * the outputs `names`, each the whole batch's values in order.
 */
async function runInBatches(
  g: QualityGraph,
  x: Float32Array,
  dims: readonly number[],
  names: string[],
  runtime: OnnxRuntimeName | undefined,
): Promise<{ name: string; data: Float32Array }[]> {
  const [count, ...shape] = dims as [number, ...number[]];
  const size = sizeOf(shape);
  const parts: Float32Array[][] = names.map(() => []);
  for (let start = 0; start < count; start += QUALITY_BATCH) {
    const n = Math.min(QUALITY_BATCH, count - start);
    const outputs = await runOnnxOutputs(
      g.bytes,
      x.subarray(start * size, (start + n) * size),
      [n, ...shape],
      { inputName: g.graph.inputName, outputNames: names, ...(runtime ? { runtime } : {}) },
    );
    for (const [i, o] of outputs.entries()) parts[i]!.push(o.data);
  }
  return names.map((name, i) => {
    const chunks = parts[i]!;
    const data = new Float32Array(chunks.reduce((a, c) => a + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      data.set(c, at);
      at += c.length;
    }
    return { name, data };
  });
}

/**
 * Runs `graphs` in ONNX Runtime on `samples` and returns every measure that applies (see
 * the module's summary), with the hashing codes.
 */
export async function qualityFigures(
  graphs: readonly QualityGraph[],
  model: QualityModel,
  samples: QualitySamples,
  runtime?: OnnxRuntimeName,
): Promise<QualityFigures> {
  const { count, x } = samples;
  const inputDims = [count, ...model.inputShape];
  const codingDims = [count, ...model.codingShape];
  const run = (g: QualityGraph, x: Float32Array, dims: readonly number[], names: string[]) =>
    runInBatches(g, x, dims, names, runtime);
  const { input, codings, reconstruction, logVariance, bits, probabilities } = TENSOR_NAMES;
  const encoder = graphFrom(graphs, input, codings);
  const decoder = graphFrom(graphs, codings, reconstruction);
  const autoencoder = graphFrom(graphs, input, reconstruction);
  const values: Record<string, number> = {};
  let codes: PackedCodes | undefined;

  const extras = encoder?.graph.extraOutputNames ?? [];
  const encoded = encoder
    ? await run(encoder, x, inputDims, [
        codings,
        ...extras.filter((n) => n === logVariance || n === bits),
      ])
    : [];
  const output = (name: string) => encoded.find((o) => o.name === name)?.data;
  const mean = output(codings);
  if (mean && decoder) {
    const [out] = await run(decoder, mean, codingDims, [reconstruction]);
    values.mse = meanSquaredError(x, out!.data);
  } else if (autoencoder) {
    const [out] = await run(autoencoder, x, inputDims, [reconstruction]);
    values.mse = meanSquaredError(x, out!.data);
  }
  const lv = output(logVariance);
  if (mean && lv && decoder && model.outputActivation === 'sigmoid') {
    const noise = normals(mean.length, model.seed);
    const z = mean.map((m, i) => m + Math.exp(0.5 * lv[i]!) * noise[i]!);
    const [p] = await run(decoder, z, codingDims, [reconstruction]);
    values.negativeElbo = negativeElbo(x, p!.data, mean, lv, count);
  }
  if (model.capabilities.includes('hash') && mean) {
    codes = packBits(output(bits) ?? mean, sizeOf(model.codingShape));
    if (samples.labels && count >= 2) {
      values[`precisionAt${QUALITY_PRECISION_K}`] = hashRetrievalMetrics(codes, samples.labels, {
        k: QUALITY_PRECISION_K,
        seed: model.seed,
      }).precisionAtK;
    }
  }
  const classifier = graphs.find((g) => g.graph.outputName === probabilities);
  const classes = model.classes;
  if (model.capabilities.includes('classify') && classifier && classes && samples.labels) {
    const [out] = await run(classifier, x, inputDims, [probabilities]);
    const width = classes.length;
    let right = 0;
    for (let i = 0; i < count; i++) {
      let best = 0;
      for (let c = 1; c < width; c++) {
        if (out!.data[i * width + c]! > out!.data[i * width + best]!) best = c;
      }
      if (classes[best] === samples.labels[i]) right++;
    }
    values.accuracy = right / count;
  }
  return codes ? { values, codes } : { values };
}

/** Share of the bits of `b` equal to those of `a` (codes of the same items). */
export function bitAgreement(a: PackedCodes, b: PackedCodes): number {
  if (a.bits !== b.bits || a.count !== b.count) {
    throw aekitError('InvalidArgument', 'bitAgreement(): the codes differ in width or count.');
  }
  let differ = 0;
  for (let i = 0; i < a.data.length; i++) differ += popcount32(a.data[i]! ^ b.data[i]!);
  return a.count === 0 ? 1 : 1 - differ / (a.count * a.bits);
}

/**
 * The loss of a measure at `value` against `fp32`: its relative change, either way
 * (see `QualityMeasure.loss`).
 */
function relativeLoss(fp32: number, value: number): number {
  if (fp32 === value) return 0;
  // A measure that is 0 in float32 (a perfect reconstruction) compares in absolute terms.
  return Math.abs(value - fp32) / (fp32 === 0 ? 1 : Math.abs(fp32));
}

/**
 * The quality of `candidate` graphs against the `reference` (float32) ones: every measure
 * both have, bit agreement when both made codes, and the largest loss.
 */
export function compareQuality(
  reference: QualityFigures,
  candidate: QualityFigures,
  budget: number,
  samples: Pick<QualitySamples, 'count' | 'from'>,
): ExportQuality {
  const metrics: Record<string, QualityMeasure> = {};
  for (const [name, fp32] of Object.entries(reference.values)) {
    const value = candidate.values[name];
    if (value === undefined) continue;
    metrics[name] = { fp32, value, loss: relativeLoss(fp32, value) };
  }
  if (reference.codes && candidate.codes) {
    const value = bitAgreement(reference.codes, candidate.codes);
    metrics.bitAgreement = { fp32: 1, value, loss: 1 - value };
  }
  const losses = Object.values(metrics).map((m) => m.loss);
  return {
    metrics,
    loss: losses.length ? Math.max(...losses) : 0,
    budget,
    samples: samples.count,
    from: samples.from,
  };
}

/** `mse 0.0123 -> 0.0131 (+6.5%), …`: each measure, for messages and reports. */
export function describeQuality(quality: ExportQuality): string {
  const entries = Object.entries(quality.metrics);
  if (!entries.length) return 'no measure (the graphs give no reconstruction, codes or classes)';
  return entries
    .map(([name, m]) => {
      const loss = Number((m.loss * 100).toPrecision(3));
      return `${name} ${m.fp32.toPrecision(5)} -> ${m.value.toPrecision(5)} (changed ${loss}%)`;
    })
    .join(', ');
}

/** The precisions `auto` tries, smallest first: the first whose loss fits is written. */
export const AUTO_PRECISIONS: readonly Precision[] = Object.freeze(['int8', 'fp16', 'fp32']);
