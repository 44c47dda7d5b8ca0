import { codeWords, hammingDistance, parseCode } from '@aekit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ballValues,
  bitText,
  createLayout,
  defaultSubstringCount,
  lookupCount,
  substringRadii,
  substringValues,
  writeBitBinary,
} from './layout.js';

describe('multi-index layout', () => {
  it('splits codes into nearly equal substrings of at most 31 bits', () => {
    expect(createLayout(30).substrings).toEqual([
      { start: 0, length: 15 },
      { start: 15, length: 15 },
    ]);
    expect(createLayout(64).substrings.map((s) => s.length)).toEqual([22, 21, 21]);
    expect([30, 64, 100, 128].map((bits) => defaultSubstringCount(bits))).toEqual([2, 3, 5, 6]);
    // Substrings of about log2(items) bits: 10M items, 30 bits -> one of 30, 64 -> 3 of 21-22.
    expect([30, 64, 128].map((bits) => defaultSubstringCount(bits, 1e7))).toEqual([1, 3, 6]);
    expect([30, 64].map((bits) => defaultSubstringCount(bits, 60_000))).toEqual([2, 4]);
    expect(defaultSubstringCount(64, 2)).toBe(3);
    expect(() => createLayout(64, 2)).toThrow(RangeError);
  });

  it('writes codes as bit strings, most significant bit first', () => {
    expect(bitText(parseCode('20000001', 30), 30)).toBe(`1${'0'.repeat(28)}1`);
    expect(bitText(parseCode('100000000', 33), 33)).toBe(`1${'0'.repeat(32)}`);
  });

  it("writes codes in PostgreSQL's binary bit(n) form: the bit count, then the bits of the text", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { minLength: 4, maxLength: 4 }),
        (bits, words) => {
          const n = codeWords(bits);
          const code = Uint32Array.from(words.slice(0, n), (x, i) =>
            i === n - 1 && bits % 32 ? x & (2 ** (bits % 32) - 1) : x,
          );
          const out = Buffer.alloc(4 + 13);
          expect(writeBitBinary(code, bits, out, 0)).toBe(4 + Math.ceil(bits / 8));
          expect(out.readInt32BE(0)).toBe(bits);
          const text = Array.from(out.subarray(4, 4 + Math.ceil(bits / 8)), (b) =>
            b.toString(2).padStart(8, '0'),
          ).join('');
          expect(text).toBe(bitText(code, bits).padEnd(Math.ceil(bits / 8) * 8, '0'));
        },
      ),
    );
  });

  it('finds every code within the radius through some substring (pigeonhole)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 100 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 0, max: 12 }),
        fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { minLength: 8, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (bits, m0, radius, words, flips) => {
          const m = Math.min(Math.max(m0, Math.ceil(bits / 31)), bits);
          const layout = createLayout(bits, m);
          // Wide substrings searched within large radii enumerate up to ~10^8 values.
          fc.pre(lookupCount(layout, radius) <= 100_000);
          const n = codeWords(bits);
          const clean = (w: number[]) =>
            Uint32Array.from(w.slice(0, n), (x, i) =>
              i === n - 1 && bits % 32 ? x & (2 ** (bits % 32) - 1) : x,
            );
          const query = clean(words);
          const code = Uint32Array.from(query);
          for (const f of flips.slice(0, radius)) code[(f % bits) >>> 5]! ^= 1 << ((f % bits) & 31);
          expect(hammingDistance(query, code)).toBeLessThanOrEqual(radius);
          const radii = substringRadii(layout, radius);
          const q = substringValues(layout, query);
          const c = substringValues(layout, code);
          const found = layout.substrings.some(
            (s, k) => radii[k]! >= 0 && ballValues(q[k]!, s.length, radii[k]!).includes(c[k]!),
          );
          expect(found).toBe(true);
        },
      ),
    );
  });
});
