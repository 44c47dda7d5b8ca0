import { describe, expect, it } from 'vitest';
import { isAekitError } from './errors.js';
import {
  applyNormalization,
  checkInputScale,
  fitNormalization,
  IDENTITY,
  inputScaleProblem,
  isIntegerPixelData,
  type Normalization,
  type NormalizationKind,
  undoNormalization,
} from './normalization.js';

/**
 * Float32 keeps about 7 significant digits. A normalised value (order 1) carries a rounding
 * error of a few 1e-8, and undoing multiplies it by 1/scale, the feature's spread: so a value
 * that went through x * s + o and back is off by a few ulps *of its feature's magnitude*
 * (e.g. ~3e-4 on a feature spanning -1200..3400, even for a raw value of 0). The tolerance
 * is therefore 1e-5 (~100 float32 ulps) times `magnitude` (at least 1): loose enough for
 * rounding, far too tight for a wrong scale or offset.
 */
function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  magnitude: (i: number) => number = (i) => Math.abs(expected[i]!),
  rel = 1e-5,
): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tol = rel * Math.max(1, magnitude(i));
    if (!(Math.abs(actual[i]! - expected[i]!) <= tol)) {
      throw new Error(`value ${i}: ${actual[i]} is not within ${tol} of ${expected[i]}`);
    }
  }
}

/** Each value within `rel` of the expected one, relative to that value (for parameters). */
function expectRelative(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tol = rel * Math.abs(expected[i]!);
    if (!(Math.abs(actual[i]! - expected[i]!) <= tol)) {
      throw new Error(`parameter ${i}: ${actual[i]} is not within ${tol} of ${expected[i]}`);
    }
  }
}

/** Per-feature statistics of row-major data. */
function stats(data: Float32Array, f: number) {
  const n = data.length / f;
  const mean = new Array<number>(f).fill(0);
  const min = new Array<number>(f).fill(Infinity);
  const max = new Array<number>(f).fill(-Infinity);
  for (let i = 0; i < data.length; i++) {
    mean[i % f]! += data[i]! / n;
    min[i % f] = Math.min(min[i % f]!, data[i]!);
    max[i % f] = Math.max(max[i % f]!, data[i]!);
  }
  const std = new Array<number>(f).fill(0);
  for (let i = 0; i < data.length; i++) std[i % f]! += (data[i]! - mean[i % f]!) ** 2 / n;
  return { mean, min, max, std: std.map(Math.sqrt) };
}

// 6 samples of 3 features: 8-bit pixel-like, signed wide-range, and small values.
const F = 3;
const RAW = Float32Array.from([
  0, -1200.5, 0.001, 255, 3400, 0.004, 17, 0, 0.002, 128, 999.25, 0.009, 64, -50, 0.003, 200, 12,
  0.005,
]);

describe('fitNormalization / applyNormalization / undoNormalization', () => {
  for (const kind of ['none', 'unit', 'minmax', 'standard'] as NormalizationKind[]) {
    it(`round-trips ${kind}`, () => {
      const n = fitNormalization(RAW, F, kind);
      expect(n.kind).toBe(kind);
      const normalised = applyNormalization(RAW.slice(), F, n);
      const back = undoNormalization(normalised, F, n);
      const { min, max } = stats(RAW, F);
      const magnitude = max.map((hi, f) => Math.max(hi, -min[f]!));
      expectClose(back, RAW, (i) => magnitude[i % F]!);
      // The normalised values really differ from the raw ones (except for none).
      if (kind !== 'none') expect(Array.from(normalised)).not.toEqual(Array.from(RAW));
    });
  }

  it('none is the identity and leaves the data untouched', () => {
    const n = fitNormalization(RAW, F, 'none');
    expect(n).toEqual({ kind: 'none', scale: 1, offset: 0 });
    const copy = RAW.slice();
    expect(applyNormalization(copy, F, n)).toBe(copy);
    expect(Array.from(copy)).toEqual(Array.from(RAW));
  });

  it('unit maps 0..255 to 0..1', () => {
    const n = fitNormalization(RAW, F, 'unit');
    expect(n).toEqual({ kind: 'unit', scale: 1 / 255, offset: 0 });
    const out = applyNormalization(Float32Array.from([0, 51, 255]), 1, n);
    expectClose(out, [0, 0.2, 1]);
  });

  it('minmax maps each feature onto [0, 1]', () => {
    const n = fitNormalization(RAW, F, 'minmax');
    // float32(0.009) - float32(0.001) is not exactly 0.008: 1e-6 relative.
    expectRelative(n.scale as number[], [1 / 255, 1 / 4600.5, 1 / 0.008], 1e-6);
    expectRelative(n.offset as number[], [0, 1200.5 / 4600.5, -0.001 / 0.008], 1e-6);
    const s = stats(applyNormalization(RAW.slice(), F, n), F);
    expectClose(s.min, [0, 0, 0]);
    expectClose(s.max, [1, 1, 1]);
  });

  it('standard gives each feature mean 0 and (population) standard deviation 1', () => {
    const n = fitNormalization(RAW, F, 'standard');
    const raw = stats(RAW, F);
    const scale = raw.std.map((s) => 1 / s);
    const offset = raw.mean.map((m, i) => -m / raw.std[i]!);
    // Both computed in float64 from the same float32 data; only summation order differs.
    expectRelative(n.scale as number[], scale, 1e-9);
    expectRelative(n.offset as number[], offset, 1e-9);
    const s = stats(applyNormalization(RAW.slice(), F, n), F);
    expectClose(s.mean, [0, 0, 0]);
    expectClose(s.std, [1, 1, 1]);
  });

  it('constant features get scale 1 and map to 0, without dividing by zero', () => {
    // Feature 0 varies, feature 1 is constant 7.
    const raw = Float32Array.from([1, 7, 3, 7, 5, 7]);
    for (const kind of ['minmax', 'standard'] as const) {
      const n = fitNormalization(raw, 2, kind);
      expect((n.scale as number[])[1]).toBe(1);
      expect((n.offset as number[])[1]).toBe(-7);
      const out = applyNormalization(raw.slice(), 2, n);
      for (const v of out) expect(Number.isFinite(v)).toBe(true);
      expect([out[1], out[3], out[5]]).toEqual([0, 0, 0]);
      expectClose(undoNormalization(out, 2, n), raw);
    }
  });

  it('applies in place and undoes into a new array', () => {
    const n: Normalization = { kind: 'standard', scale: [2, 10], offset: [1, -1] };
    const data = Float32Array.from([1, 2, 3, 4]);
    expect(applyNormalization(data, 2, n)).toBe(data);
    expect(Array.from(data)).toEqual([3, 19, 7, 39]);
    const back = undoNormalization(data, 2, n);
    expect(back).not.toBe(data);
    expect(Array.from(back)).toEqual([1, 2, 3, 4]);
  });

  it('applies scalar scale and offset to every value', () => {
    const n: Normalization = { kind: 'minmax', scale: 0.5, offset: -1 };
    expect(Array.from(applyNormalization(Float32Array.from([0, 2, 4]), 1, n))).toEqual([-1, 0, 1]);
    expect(Array.from(undoNormalization(Float32Array.from([-1, 0, 1]), 1, n))).toEqual([0, 2, 4]);
  });

  it('undoing a zero scale gives the offset instead of Infinity', () => {
    const n: Normalization = { kind: 'minmax', scale: [0], offset: [3] };
    expect(Array.from(undoNormalization(Float32Array.from([5]), 1, n))).toEqual([3]);
  });

  it('IDENTITY is frozen', () => {
    expect(Object.isFrozen(IDENTITY)).toBe(true);
    expect(IDENTITY).toEqual({ kind: 'none', scale: 1, offset: 0 });
  });
});

describe('isIntegerPixelData', () => {
  it('is true for whole numbers in 0..255 of which one is above 1', () => {
    expect(isIntegerPixelData(Float32Array.of(0, 17, 255, 3))).toBe(true);
    expect(isIntegerPixelData(Float32Array.of(0, 2))).toBe(true);
  });

  it('is false for 0/1 data, a fraction, a negative value, a value above 255, or nothing', () => {
    expect(isIntegerPixelData(Float32Array.of(0, 1, 1))).toBe(false);
    expect(isIntegerPixelData(Float32Array.of(0, 0.5, 200))).toBe(false);
    expect(isIntegerPixelData(Float32Array.of(-1, 0, 200))).toBe(false);
    expect(isIntegerPixelData(Float32Array.of(0, 256))).toBe(false);
    expect(isIntegerPixelData(new Float32Array(0))).toBe(false);
  });
});

describe('inputScaleProblem: inputs on the scale the model takes', () => {
  const UNIT: Normalization = { kind: 'unit', scale: 1 / 255, offset: 0 };
  /** `n` samples of 784 pixels: a bright stroke of `peak` over a `floor` background. */
  function digits(n: number, peak: number, floor = 0): Float32Array {
    const x = new Float32Array(n * 784).fill(floor);
    for (let i = 0; i < n; i++) for (let p = 300; p < 420; p++) x[i * 784 + p] = peak;
    return x;
  }

  it('refuses pixels in [0, 1] given as raw to a unit model, naming both ranges', () => {
    const x = digits(3, 1);
    x[5] = 0.5;
    expect(inputScaleProblem(x, 784, UNIT, 'raw')).toEqual({
      given: 'raw',
      observed: [0, 1],
      expected: [0, 255],
      kind: 'unit',
    });
    let error: unknown;
    try {
      checkInputScale(x, 784, UNIT, 'raw', 'digits.npy');
    } catch (err) {
      error = err;
    }
    expect(isAekitError(error, 'InputScaleMismatch')).toBe(true);
    const { message, hint } = error as { message: string; hint: string };
    expect(message).toBe(
      'The values of digits.npy lie in [0, 1], but the model (normalisation "unit") takes raw values in [0, 255] and normalises them itself: these look already normalised, and would be normalised twice.',
    );
    expect(hint).toContain('pass --no-normalize');
    expect(hint).toContain('raw values in [0, 255] (8-bit pixels)');
  });

  it('lets raw pixels through, dark ones too, and blank or faint batches', () => {
    expect(inputScaleProblem(digits(2, 255), 784, UNIT, 'raw')).toBeUndefined();
    // A dark image (max 40 of 255), even one of max 2: values above 1.01 cannot be [0, 1] data.
    expect(inputScaleProblem(digits(2, 40), 784, UNIT, 'raw')).toBeUndefined();
    expect(inputScaleProblem(digits(2, 2), 784, UNIT, 'raw')).toBeUndefined();
    // Blank, and a spread below a tenth of [0, 1]: the same to the model either way.
    expect(inputScaleProblem(new Float32Array(784), 784, UNIT, 'raw')).toBeUndefined();
    expect(inputScaleProblem(digits(1, 0.09), 784, UNIT, 'raw')).toBeUndefined();
    // Float rounding just outside [0, 1] is still [0, 1] data.
    expect(inputScaleProblem(digits(1, 1.005, -0.005), 784, UNIT, 'raw')).toBeDefined();
  });

  it('refuses raw pixels given as normalised (above 5 for [0, 1]), not noisy normalised ones', () => {
    expect(inputScaleProblem(digits(2, 255), 784, UNIT, 'normalized')).toEqual({
      given: 'normalized',
      observed: [0, 255],
      expected: [0, 1],
      kind: 'unit',
    });
    expect(inputScaleProblem(digits(2, 1), 784, UNIT, 'normalized')).toBeUndefined();
    expect(inputScaleProblem(digits(2, 1.8, -0.8), 784, UNIT, 'normalized')).toBeUndefined();
    expect(inputScaleProblem(digits(2, 5), 784, UNIT, 'normalized')).toBeUndefined();
    expect(inputScaleProblem(digits(2, 6), 784, UNIT, 'normalized')).toBeDefined();
  });

  it('uses the recorded statistics of standard and minmax, and only the features that can tell', () => {
    // Training pixels: feature 0 constant (scale 1 after fitting), 1..3 spread over 0..255.
    const train = Float32Array.from([0, 0, 10, 255, 0, 255, 120, 0, 0, 128, 250, 30]);
    const standard = fitNormalization(train, 4, 'standard');
    const minmax = fitNormalization(train, 4, 'minmax');
    const unitPixels = Float32Array.from([0, 0.2, 1, 0.5, 0, 0.9, 0, 0.1]);
    const rawPixels = Float32Array.from([0, 51, 255, 128, 0, 230, 0, 26]);
    for (const n of [standard, minmax]) {
      const problem = inputScaleProblem(unitPixels, 4, n, 'raw');
      expect(problem?.observed).toEqual([0, 1]);
      expect(problem?.kind).toBe(n.kind);
      expect(inputScaleProblem(rawPixels, 4, n, 'raw')).toBeUndefined();
      expect(inputScaleProblem(rawPixels, 4, n, 'normalized')).toBeDefined();
    }
    // minmax's raw range is the training range of the telling features.
    expect(inputScaleProblem(unitPixels, 4, minmax, 'raw')?.expected).toEqual([0, 255]);
    // Standardised values are normalised values of a standard model.
    const z = applyNormalization(rawPixels.slice(), 4, standard);
    expect(inputScaleProblem(z, 4, standard, 'normalized')).toBeUndefined();
  });

  it('checks nothing where raw and normalised values cannot be told apart', () => {
    const x = Float32Array.from([0, 0.5, 1, 0.25]);
    expect(inputScaleProblem(x, 2, IDENTITY, 'raw')).toBeUndefined();
    // A minmax of data already near [0, 1]: scale about 1, as wide as its raw range.
    const near = fitNormalization(Float32Array.from([0, 0, 1.2, 2]), 2, 'minmax');
    expect(inputScaleProblem(x, 2, near, 'raw')).toBeUndefined();
    expect(() => checkInputScale(x, 2, undefined, 'raw', 'x')).not.toThrow();
  });
});
