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
