import { describe, expect, it } from 'vitest';
import { duration, fmt, plural } from './output.js';

describe('fmt', () => {
  it('gives significant digits, trailing zeros kept, so that columns compare', () => {
    expect(fmt(0.061163)).toBe('0.06116');
    expect(fmt(0.0335)).toBe('0.03350');
    expect(fmt(204.5076)).toBe('204.5');
    expect(fmt(1.23456, 3)).toBe('1.23');
  });

  it('writes integers plain and rounds numbers of more integer digits than digits', () => {
    expect(fmt(3)).toBe('3');
    expect(fmt(0)).toBe('0');
    expect(fmt(12345.6)).toBe('12346');
    expect(fmt(9999.6)).toBe('10000');
    expect(fmt(99.97, 3)).toBe('100');
  });

  it('turns scientific only below 1e-4', () => {
    expect(fmt(0.0001234)).toBe('0.0001234');
    expect(fmt(0.00000191, 3)).toBe('1.91e-6');
    expect(fmt(7.15e-7, 3)).toBe('7.15e-7');
    expect(fmt(-2.5e-5)).toBe('-2.500e-5');
  });

  it('passes NaN and infinities through', () => {
    expect(fmt(Number.NaN)).toBe('NaN');
    expect(fmt(Number.POSITIVE_INFINITY)).toBe('Infinity');
  });
});

describe('plural', () => {
  it('is singular for one only', () => {
    expect(plural(1, 'epoch')).toBe('1 epoch');
    expect(plural(0, 'epoch')).toBe('0 epochs');
    expect(plural(2, 'batch', 'batches')).toBe('2 batches');
  });
});

describe('duration', () => {
  it('gives seconds to two digits under a minute, else minutes and seconds', () => {
    expect(duration(0.523)).toBe('0.52s');
    expect(duration(3.44)).toBe('3.4s');
    expect(duration(25.2)).toBe('25s');
    expect(duration(125.4)).toBe('2m05s');
    expect(duration(Number.NaN)).toBe('…');
  });
});
