import { aekitError } from './errors.js';

/**
 * How raw feature values were mapped to the values a model sees: `x' = x * scale + offset`,
 * with `scale` and `offset` either one number or one per feature. Recorded in the run
 * manifest so it can be undone and exported (an ONNX graph applies the same Mul/Add).
 */
export interface Normalization {
  /** How it was chosen: `none`, `unit` (0..255 → 0..1), `minmax` or `standard`. */
  readonly kind: NormalizationKind;
  readonly scale: number | readonly number[];
  readonly offset: number | readonly number[];
}

/** The normalisations aekit can compute. */
export const NORMALIZATION_KINDS = Object.freeze(['none', 'unit', 'minmax', 'standard'] as const);

/** One of {@link NORMALIZATION_KINDS}. */
export type NormalizationKind = (typeof NORMALIZATION_KINDS)[number];

/** The identity normalisation. */
export const IDENTITY: Normalization = Object.freeze({ kind: 'none', scale: 1, offset: 0 });

const at = (v: number | readonly number[], i: number): number =>
  typeof v === 'number' ? v : (v[i] ?? 0);

/** Applies `n` in place to row-major samples of `featureCount` features. */
export function applyNormalization(
  data: Float32Array,
  featureCount: number,
  n: Normalization,
): Float32Array {
  if (typeof n.scale === 'number' && typeof n.offset === 'number') {
    if (n.scale === 1 && n.offset === 0) return data;
    for (let i = 0; i < data.length; i++) data[i] = data[i]! * n.scale + n.offset;
    return data;
  }
  for (let i = 0; i < data.length; i++) {
    const f = i % featureCount;
    data[i] = data[i]! * at(n.scale, f) + at(n.offset, f);
  }
  return data;
}

/** Undoes `n`: returns a new array of raw-scale values. */
export function undoNormalization(
  data: Float32Array,
  featureCount: number,
  n: Normalization,
): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const f = i % featureCount;
    const s = at(n.scale, f);
    out[i] = s === 0 ? at(n.offset, f) : (data[i]! - at(n.offset, f)) / s;
  }
  return out;
}

/**
 * Whether `data` looks like 8-bit pixels, whatever type stored them (a CSV of 0..255, an
 * int64 or float array of whole numbers): every value a whole number in 0..255, and one
 * above 1 (0/1 data is already in [0, 1]). `auto` normalisation scales such data by 1/255.
 */
export function isIntegerPixelData(data: Float32Array): boolean {
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    // Negative, above 255, a fraction or NaN: not pixels.
    if (!(v >= 0 && v <= 255 && Math.floor(v) === v)) return false;
    if (v > max) max = v;
  }
  return max > 1;
}

/**
 * Computes a normalisation of `kind` from raw row-major data (the training split).
 * Constant features get scale 1 so nothing divides by zero.
 */
export function fitNormalization(
  data: Float32Array,
  featureCount: number,
  kind: NormalizationKind,
): Normalization {
  if (kind === 'none') return IDENTITY;
  if (kind === 'unit') return { kind, scale: 1 / 255, offset: 0 };
  const count = data.length / featureCount;
  const scale: number[] = [];
  const offset: number[] = [];
  for (let f = 0; f < featureCount; f++) {
    if (kind === 'minmax') {
      let lo = Infinity;
      let hi = -Infinity;
      for (let r = 0; r < count; r++) {
        const v = data[r * featureCount + f]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const s = hi > lo ? 1 / (hi - lo) : 1;
      scale.push(s);
      offset.push(-lo * s);
    } else {
      let mean = 0;
      for (let r = 0; r < count; r++) mean += data[r * featureCount + f]!;
      mean /= count;
      let v = 0;
      for (let r = 0; r < count; r++) v += (data[r * featureCount + f]! - mean) ** 2;
      const std = Math.sqrt(v / count);
      const s = std > 0 ? 1 / std : 1;
      scale.push(s);
      offset.push(-mean * s);
    }
  }
  return { kind, scale, offset };
}

/**
 * What a batch of inputs is said to hold: `raw` values (normalised next, as in training) or
 * values already `normalized` (given to the graphs as they are).
 */
export type InputScale = 'raw' | 'normalized';

/** A batch whose range does not fit the scale it was given as (see {@link inputScaleProblem}). */
export interface InputScaleProblem {
  /** What the batch was given as. */
  readonly given: InputScale;
  /** The batch's smallest and largest values (over the features that can tell). */
  readonly observed: readonly [number, number];
  /** The range the model takes values of `given` in (raw: from the recorded statistics). */
  readonly expected: readonly [number, number];
  /** The normalisation's kind. */
  readonly kind: NormalizationKind;
}

/**
 * The normalised range a model of each kind is trained on: `unit` and `minmax` map the
 * training data onto [0, 1]; `standard` gives each feature mean 0 and deviation 1, so
 * nearly all of it lies within 3 deviations.
 */
const NORMALIZED_RANGE: Readonly<Record<NormalizationKind, readonly [number, number]>> =
  Object.freeze({ none: [0, 0], unit: [0, 1], minmax: [0, 1], standard: [-3, 3] });

/**
 * A feature can tell raw values from normalised ones when its scale is at most this: its
 * normalised range is then at most 5% as wide as the raw range it came from (MNIST `unit`:
 * 1/255 = 0.4%; a `standard` pixel of deviation 20 or more). Features of wider scale (a
 * `minmax` of data already near [0, 1], a constant feature's scale 1) are not looked at.
 */
const TELLING_SCALE = 0.05;

/**
 * Raw values are taken for normalised ones only when they also spread over at least a tenth
 * of the normalised range (0.1 of [0, 1]): a blank or nearly constant batch means the same
 * either way, and is not refused.
 */
const MIN_SPREAD = 0.1;

/**
 * Normalised values are taken for raw ones when one of them lies more than four widths of
 * the normalised range outside it: above 5 (or below -4) for [0, 1], beyond ±27 for
 * `standard`. Noise added to normalised data stays well within that.
 */
const MAX_OUTSIDE = 4;

/**
 * Whether a batch's range contradicts the scale it is given as, by the model's recorded
 * normalisation `n` (`x * scale + offset` per feature). The check that stops pixels in
 * [0, 1] (a Python habit) from being divided by 255 again, and 0..255 pixels from going to
 * the graphs unnormalised. Only features whose normalised range is at most 5% of their raw
 * range are looked at (see `TELLING_SCALE`); with none (`none`, or data already near its
 * normalised range) nothing is checked.
 *
 * - `raw` (normalised next): refused when every value lies within the normalised range
 *   (1% slack each side for float rounding) and the values spread over at least a tenth of
 *   it. For MNIST `unit` that is all pixels in [-0.01, 1.01] with max - min ≥ 0.1; raw
 *   pixels of 0..255 have max ≤ 1.01 only for an image black to the eye (at most 1/255
 *   bright), so a dark image (max 40 of 255) or even one of max 2 passes.
 * - `normalized` (used as given): refused when a value lies more than 4 widths of the
 *   normalised range outside it (for `unit`, above 5): raw pixels of a digit reach 255.
 *
 * @returns undefined when the range fits, or what was seen and expected.
 */
export function inputScaleProblem(
  data: Float32Array,
  featureCount: number,
  n: Normalization,
  given: InputScale,
): InputScaleProblem | undefined {
  if (n.kind === 'none' || data.length === 0) return undefined;
  const [a, b] = NORMALIZED_RANGE[n.kind];
  const width = b - a;
  const telling: number[] = [];
  let rawLo = Infinity;
  let rawHi = -Infinity;
  for (let f = 0; f < featureCount; f++) {
    const s = at(n.scale, f);
    if (!(s > 0 && s <= TELLING_SCALE)) continue;
    telling.push(f);
    const o = at(n.offset, f);
    rawLo = Math.min(rawLo, (a - o) / s);
    rawHi = Math.max(rawHi, (b - o) / s);
  }
  if (telling.length === 0) return undefined;
  let lo = Infinity;
  let hi = -Infinity;
  for (let r = 0; r < data.length; r += featureCount) {
    for (const f of telling) {
      const v = data[r + f]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  // NaN everywhere: another check's business.
  if (!(hi >= lo)) return undefined;
  const problem = (expected: readonly [number, number]): InputScaleProblem => ({
    given,
    observed: [lo, hi],
    expected,
    kind: n.kind,
  });
  if (given === 'raw') {
    const slack = 0.01 * width;
    const within = lo >= a - slack && hi <= b + slack;
    return within && hi - lo >= MIN_SPREAD * width ? problem([rawLo, rawHi]) : undefined;
  }
  const outside = Math.max(a - lo, hi - b);
  return outside > MAX_OUTSIDE * width ? problem([a, b]) : undefined;
}

/**
 * Throws when a batch's range contradicts the scale it is given as (the rule of
 * {@link inputScaleProblem}); nothing for `n` undefined (normalisation unknown).
 *
 * @param what - names the batch in the message, e.g. `digits.npy` or `encode() inputs`.
 * @throws AekitError `InputScaleMismatch` naming the range seen, the range the model takes,
 *   and what to pass instead.
 */
export function checkInputScale(
  data: Float32Array,
  featureCount: number,
  n: Normalization | undefined,
  given: InputScale,
  what: string,
): void {
  const problem = n && inputScaleProblem(data, featureCount, n, given);
  if (problem) throw aekitError('InputScaleMismatch', what, problem);
}
