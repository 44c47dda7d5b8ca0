import { describe, expect, it } from 'vitest';
import {
  BCE_EPSILON,
  binaryCrossEntropy,
  meanSquaredError,
  reconstructionMetric,
  tile,
} from './metrics.js';

/*
 * Tolerances: the metrics accumulate in float64, and the expected values below are written
 * out by hand (to 15+ significant digits) or from the same closed form with Math.log, so
 * they agree to ~1e-15. We use 12 decimal places (toBeCloseTo(x, 12): |diff| < 5e-13):
 * far tighter than any real mistake (a wrong mean divisor or a missing term changes the
 * result by > 1e-2), loose enough not to depend on summation order. Float32Array inputs
 * are first rounded to float32, so those tests use values that float32 holds exactly
 * (multiples of 1/4).
 */

describe('meanSquaredError', () => {
  it('matches hand-computed values', () => {
    // (1 - 0)^2 + (1 - 1)^2 + (0 - 2)^2 = 5, over 3 values.
    expect(meanSquaredError([0, 1, 2], [1, 1, 0])).toBeCloseTo(5 / 3, 12);
    // 0.25^2 + 0.5^2 + 0.75^2 + 1 = 0.0625 + 0.25 + 0.5625 + 1 = 1.875, over 4.
    expect(
      meanSquaredError(Float32Array.from([0, 0, 0, 0]), Float32Array.from([0.25, -0.5, 0.75, 1])),
    ).toBeCloseTo(0.46875, 12);
  });

  it('is 0 for identical arrays and for empty arrays', () => {
    expect(meanSquaredError([0.3, 0.7], [0.3, 0.7])).toBe(0);
    expect(meanSquaredError([], [])).toBe(0);
  });

  it('is symmetric', () => {
    expect(meanSquaredError([1, 2, 3], [3, 1, 2])).toBe(meanSquaredError([3, 1, 2], [1, 2, 3]));
    expect(meanSquaredError([1, 2, 3], [3, 1, 2])).toBeCloseTo(2, 12);
  });

  it('fails on arrays of different lengths', () => {
    expect(() => meanSquaredError([1, 2], [1])).toThrow(RangeError);
    expect(() => meanSquaredError([1, 2], [1])).toThrow('length mismatch: 2 vs 1');
  });
});

describe('binaryCrossEntropy', () => {
  it('matches hand-computed values', () => {
    // -(ln 0.8 + ln(1 - 0.4)) / 2 = (0.22314355131420976 + 0.5108256237659907) / 2
    expect(binaryCrossEntropy([1, 0], [0.8, 0.4])).toBeCloseTo(0.3669845875401002, 12);
    // Soft target: -(0.5 ln 0.5 + 0.5 ln 0.5) = ln 2.
    expect(binaryCrossEntropy([0.5], [0.5])).toBeCloseTo(Math.LN2, 12);
    // -(0.25 ln 0.75 + 0.75 ln 0.25), target and output exactly representable in float32.
    expect(binaryCrossEntropy(Float32Array.from([0.25]), Float32Array.from([0.75]))).toBeCloseTo(
      -(0.25 * Math.log(0.75) + 0.75 * Math.log(0.25)),
      12,
    );
  });

  it('clips outputs to [eps, 1 - eps] so the result stays finite', () => {
    expect(BCE_EPSILON).toBe(1e-7);
    // -ln(1e-7) = 7 ln 10 = 16.11809565095832
    expect(binaryCrossEntropy([1], [0])).toBeCloseTo(16.11809565095832, 10);
    // At the top end 1 - (1 - 1e-7) loses ~1e-9 relative precision in float64, hence 8 places.
    expect(binaryCrossEntropy([0], [1])).toBeCloseTo(16.11809565095832, 8);
    // A perfect prediction costs -ln(1 - 1e-7) ≈ 1.00000005e-7, not 0 and not NaN.
    expect(binaryCrossEntropy([1, 0], [1, 0])).toBeCloseTo(1.00000005e-7, 14);
    expect(binaryCrossEntropy([1, 0], [1, 0])).toBeGreaterThan(0);
  });

  it('is 0 for empty arrays and fails on different lengths', () => {
    expect(binaryCrossEntropy([], [])).toBe(0);
    expect(() => binaryCrossEntropy([1], [0.5, 0.5])).toThrow(RangeError);
  });
});

describe('reconstructionMetric', () => {
  it('maps loss names to their metric', () => {
    expect(reconstructionMetric('mse')).toBe(meanSquaredError);
    expect(reconstructionMetric('bce')).toBe(binaryCrossEntropy);
  });
});

describe('tile', () => {
  it('repeats a sample', () => {
    expect(Array.from(tile(Float32Array.from([1, 2, 3]), 3))).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3]);
    expect(tile(Float32Array.from([1, 2]), 0)).toHaveLength(0);
  });
});
