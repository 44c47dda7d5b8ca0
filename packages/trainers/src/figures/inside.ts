/**
 * Figures that show what an autoencoder learned: its first-layer features, the inputs that
 * excite each coding unit most, the input each unit "dreams" of (found by gradient ascent),
 * and a 2-D map of the codings (UMAP). Each comes with its data, for the playground.
 */
import { createRng, type Dataset } from '@aekit/core';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UMAP } from 'umap-js';
import { mapBatches } from '../model/batches.js';
import type { AutoencoderModel } from '../plugin.js';

/** First-layer weights of some units, each as an image of its inputs. */
export interface FeatureData {
  /** The layer the weights come from, e.g. `encoder_dense_1`. */
  readonly layer: string;
  /** Unit (or filter) numbers shown, in order. */
  readonly units: number[];
  /** Shape of each image, e.g. `[28, 28, 1]` for a dense layer on MNIST, `[3, 3, 1]` for a filter. */
  readonly shape: number[];
  /** One image per unit, row-major. */
  readonly images: Float32Array[];
}

/** The weighted layers of a network in order, looking inside nested models. */
function weightedLayers(net: tfl.LayersModel): tfl.layers.Layer[] {
  return net.layers.flatMap((layer) =>
    'layers' in layer
      ? weightedLayers(layer as unknown as tfl.LayersModel)
      : layer.getWeights().length > 0
        ? [layer]
        : [],
  );
}

/**
 * The weights of the encoder's first dense or convolution layer as images: a dense unit's
 * weights on the input (in the input's shape), or a convolution filter (`[kh, kw, cin]`).
 * Undefined when the first weighted layer is neither, or a dense layer not on the inputs.
 */
export function firstLayerFeatures(
  model: AutoencoderModel,
  inputShape: readonly number[],
  count: number,
): FeatureData | undefined {
  const first = weightedLayers(model.networks.encoder)[0];
  if (!first) return undefined;
  const kind = first.getClassName();
  const kernel = first.getWeights()[0]!;
  const values = kernel.dataSync();
  const inputs = inputShape.reduce((a, b) => a * b, 1);
  let shape: number[];
  let units: number;
  if (kind === 'Dense' && kernel.shape[0] === inputs) {
    shape = [...inputShape];
    units = kernel.shape[1]!;
  } else if (kind === 'Conv2D' && kernel.rank === 4) {
    shape = kernel.shape.slice(0, 3);
    units = kernel.shape[3]!;
  } else {
    return undefined;
  }
  const size = shape.reduce((a, b) => a * b, 1);
  const shown = Array.from({ length: Math.min(count, units) }, (_, u) => u);
  // Both kernels hold unit u's weights at positions i * units + u.
  const images = shown.map((u) =>
    Float32Array.from({ length: size }, (_, i) => values[i * units + u]!),
  );
  return { layer: first.name, units: shown, shape, images };
}

/** The coding units with the largest variance over `codings` (`[n, d]`), most first. */
export function liveliestUnits(codings: Float32Array, d: number, count: number): number[] {
  const n = codings.length / d;
  const mean = new Float64Array(d);
  const sq = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = codings[i * d + j]!;
      mean[j]! += v;
      sq[j]! += v * v;
    }
  }
  const variance = Array.from(mean, (s, j) => sq[j]! / n - (s / n) ** 2);
  return variance
    .map((v, j) => [v, j] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, count)
    .map(([, j]) => j);
}

/** For each unit, the `k` samples (rows of `codings`) where it is largest, largest first. */
export function topActivations(
  codings: Float32Array,
  d: number,
  units: readonly number[],
  k: number,
): number[][] {
  const n = codings.length / d;
  return units.map((u) =>
    Array.from({ length: n }, (_, i) => i)
      .sort((a, b) => codings[b * d + u]! - codings[a * d + u]! || a - b)
      .slice(0, k),
  );
}

/** Options of {@link dreams}. */
export interface DreamOptions {
  readonly steps?: number;
  /** Size of a step, in units of the data's range, along the normalised gradient. */
  readonly stepSize?: number;
  /** Values stay in this range (the data's). */
  readonly range: readonly [number, number];
  readonly seed?: number;
}

/**
 * For each unit, an input that drives it high: gradient ascent on the unit's coding from a
 * faint random image, each step normalised, the values kept in the data's range and, for
 * images, blurred a little every few steps (a 3x3 mean), which keeps the result smooth
 * enough to read as an image rather than adversarial noise. Returns the inputs and the
 * unit's activation for each.
 */
export function dreams(
  model: AutoencoderModel,
  inputShape: readonly number[],
  units: readonly number[],
  options: DreamOptions,
): { images: Float32Array[]; activations: number[] } {
  const { steps = 200, stepSize = 0.02, range, seed = 0 } = options;
  const [lo, hi] = range;
  const n = units.length;
  const d = (model.networks.encoder.outputs[0]!.shape.slice(1) as number[]).reduce(
    (a, b) => a * (b ?? 1),
    1,
  );
  const isImage = inputShape.length === 3;
  const mask = tf.tidy(() =>
    tf.cast(tf.oneHot(tf.tensor1d(Int32Array.from(units), 'int32'), d), 'float32'),
  );
  const activation = (x: tf.Tensor) => tf.sum(tf.mul(tf.reshape(model.encode(x), [n, d]), mask), 1);
  const mid = (lo + hi) / 2;
  let x = tf.randomUniform(
    [n, ...inputShape],
    mid - 0.05 * (hi - lo),
    mid + 0.05 * (hi - lo),
    'float32',
    seed,
  );
  const grad = tf.grad((input: tf.Tensor) => tf.sum(activation(input)));
  for (let step = 1; step <= steps; step++) {
    const next = tf.tidy(() => {
      const g = grad(x);
      // One step of `stepSize` in root-mean-square terms per image.
      const rms = tf.sqrt(
        tf.add(
          tf.mean(
            tf.square(g),
            inputShape.map((_, i) => i + 1),
            true,
          ),
          1e-12,
        ),
      );
      let y = tf.add(x, tf.mul(stepSize * (hi - lo), tf.div(g, rms)));
      if (isImage && step % 10 === 0) {
        y = tf.avgPool(y as tf.Tensor4D, 3, 1, 'same');
      }
      return tf.clipByValue(y, lo, hi);
    });
    x.dispose();
    x = next;
  }
  const acts = tf.tidy(() => activation(x));
  const flat = x.dataSync() as Float32Array;
  const size = flat.length / n;
  const images = Array.from({ length: n }, (_, i) => flat.slice(i * size, (i + 1) * size));
  const activations = Array.from(acts.dataSync());
  tf.dispose([x, acts, mask]);
  return { images, activations };
}

/**
 * A 2-D map of codings (`[n, d]`) by UMAP (umap-js), seeded: points near each other in the
 * map have codings near each other.
 */
export function codingMap(codings: Float32Array, d: number, seed = 0): [number, number][] {
  const n = codings.length / d;
  const rows = Array.from({ length: n }, (_, i) =>
    Array.from(codings.subarray(i * d, (i + 1) * d)),
  );
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: 15,
    minDist: 0.1,
    random: createRng(seed, 'umap'),
  });
  return umap.fit(rows) as [number, number][];
}

/** The codings of `data` under the model, flattened to `[n, d]`. */
export async function codingsOf(
  model: AutoencoderModel,
  data: Dataset,
): Promise<{ codings: Float32Array; d: number }> {
  const codings = await mapBatches(data, data.sampleShape, (x) => model.encode(x));
  return { codings, d: codings.length / Math.max(1, data.count) };
}
