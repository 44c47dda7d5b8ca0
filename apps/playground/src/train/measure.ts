/** What the page measures on the test digits: reconstruction error, and a useless model's. */

/** Mean squared error between two equally long arrays. */
export function meanSquaredError(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  return sum / a.length;
}

/** The pixel-wise mean of `count` images of `size` values held back to back in `x`. */
export function meanImage(x: Float32Array, size: number): Float32Array {
  const count = x.length / size;
  const mean = new Float32Array(size);
  for (let i = 0; i < x.length; i++) mean[i % size]! += x[i]! / count;
  return mean;
}

/**
 * The MSE of a model that answers `image` whatever the input (the mean training image:
 * the best such model), on the images held back to back in `x`.
 */
export function constantModelError(x: Float32Array, image: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += (x[i]! - image[i % image.length]!) ** 2;
  return sum / x.length;
}

/** Largest |a - b| over two equally long arrays. */
export function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** Whether every value is a finite number. */
export function allFinite(x: Float32Array): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) return false;
  return true;
}
