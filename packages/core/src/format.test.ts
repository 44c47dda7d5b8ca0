import { describe, expect, it } from 'vitest';
import { formatNumber } from './format.js';

describe('formatNumber', () => {
  it('keeps trailing zeros by default, so that columns compare', () => {
    expect(formatNumber(0.0335)).toBe('0.03350');
    expect(formatNumber(204.5076)).toBe('204.5');
    expect(formatNumber(123456.7)).toBe('123457');
    expect(formatNumber(1.91e-6)).toBe('1.910e-6');
    expect(formatNumber(60000)).toBe('60000');
  });

  it('trims them for tick values', () => {
    expect(formatNumber(0.5, 4, true)).toBe('0.5');
    expect(formatNumber(-2.5, 4, true)).toBe('-2.5');
    expect(formatNumber(2e-5, 4, true)).toBe('2e-5');
    expect(formatNumber(0.30000000000000004, 4, true)).toBe('0.3');
  });
});
