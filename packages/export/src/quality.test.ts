/**
 * The comparison of measured quality: relative change either way, bit agreement of codes,
 * and the text messages and reports print.
 */
import { packBits } from '@aekit/core';
import { describe, expect, it } from 'vitest';
import { bitAgreement, compareQuality, describeQuality } from './quality.js';

const samples = { count: 4, from: 'test' } as const;

describe('compareQuality', () => {
  it('counts a change either way as a loss, relative to float32', () => {
    const q = compareQuality(
      { values: { mse: 0.05, accuracy: 0.8 } },
      { values: { mse: 0.049, accuracy: 0.82 } },
      0.05,
      samples,
    );
    expect(q.metrics.mse!.loss).toBeCloseTo(0.02, 12);
    expect(q.metrics.accuracy!.loss).toBeCloseTo(0.025, 12);
    expect(q.loss).toBeCloseTo(0.025, 12);
    expect([q.budget, q.samples, q.from]).toEqual([0.05, 4, 'test']);
  });

  it('gives float32 against itself a loss of 0, and compares a zero measure absolutely', () => {
    const same = { values: { mse: 0.05 } };
    expect(compareQuality(same, same, 0, samples).loss).toBe(0);
    const q = compareQuality({ values: { mse: 0 } }, { values: { mse: 1e-6 } }, 0, samples);
    expect(q.metrics.mse!.loss).toBe(1e-6);
  });

  it('adds the bit agreement of the codes, and keeps only measures both sides have', () => {
    const a = packBits([1, 0, 1, 1, 0, 0, 1, 0], 4);
    const b = packBits([1, 0, 1, 0, 0, 0, 1, 0], 4);
    expect(bitAgreement(a, b)).toBe(7 / 8);
    const q = compareQuality(
      { values: { mse: 1, precisionAt10: 0.5 }, codes: a },
      { values: { mse: 1 }, codes: b },
      0.5,
      samples,
    );
    expect(Object.keys(q.metrics)).toEqual(['mse', 'bitAgreement']);
    expect(q.metrics.bitAgreement).toEqual({ fp32: 1, value: 0.875, loss: 0.125 });
    expect(describeQuality(q)).toBe(
      'mse 1.0000 -> 1.0000 (changed 0%), bitAgreement 1.0000 -> 0.87500 (changed 12.5%)',
    );
  });
});
