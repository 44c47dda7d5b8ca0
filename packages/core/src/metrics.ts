/**
 * Reconstruction metrics on plain arrays, averaged over every value (samples × features),
 * the way Keras and PyTorch report `mse` and `binary_crossentropy` with mean reduction.
 */

function check(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new RangeError(`length mismatch: ${a.length} vs ${b.length}`);
}

/** Mean squared error. */
export function meanSquaredError(target: ArrayLike<number>, output: ArrayLike<number>): number {
  check(target, output);
  let s = 0;
  for (let i = 0; i < target.length; i++) s += (target[i]! - output[i]!) ** 2;
  return s / Math.max(1, target.length);
}

/** Outputs are clipped to [eps, 1 - eps], as Keras does, so the log stays finite. */
export const BCE_EPSILON = 1e-7;

/** Binary cross-entropy of outputs in [0, 1] against targets in [0, 1]. */
export function binaryCrossEntropy(target: ArrayLike<number>, output: ArrayLike<number>): number {
  check(target, output);
  let s = 0;
  for (let i = 0; i < target.length; i++) {
    const p = Math.min(1 - BCE_EPSILON, Math.max(BCE_EPSILON, output[i]!));
    const t = target[i]!;
    s -= t * Math.log(p) + (1 - t) * Math.log(1 - p);
  }
  return s / Math.max(1, target.length);
}

/** The reconstruction losses aekit computes. */
export type ReconstructionLoss = 'mse' | 'bce';

/** The metric function for a reconstruction loss name. */
export function reconstructionMetric(
  loss: ReconstructionLoss,
): (target: ArrayLike<number>, output: ArrayLike<number>) => number {
  return loss === 'bce' ? binaryCrossEntropy : meanSquaredError;
}

/** Repeats `sample` `count` times: the prediction of a mean-image baseline. */
export function tile(sample: Float32Array, count: number): Float32Array {
  const out = new Float32Array(sample.length * count);
  for (let i = 0; i < count; i++) out.set(sample, i * sample.length);
  return out;
}
