/**
 * The multi-index-hashing layout of a table: how a code of `bits` bits is split into `m`
 * substrings (each stored as an indexed integer column), how a code is written for
 * PostgreSQL, and which substring values a radius query looks up (the pigeonhole plan).
 *
 * Pure functions of the layout, with no database: the table module builds its SQL from them.
 */
import { codeWords, hammingBallSize } from '@aekit/core/hashing';

/** The widest substring, in bits: a substring value must fit a non-negative `integer`. */
export const MAX_SUBSTRING_BITS = 31;

/**
 * The widest substring of the layout chosen when the number of items is not known: a
 * table sized for about 2^24 (16 million) items (30 bits: 2 of 15, 64 bits: 3 of 21-22).
 */
export const TARGET_SUBSTRING_BITS = 24;

/** One substring of the code: bits `start .. start + length - 1` (core's bit numbering). */
export interface Substring {
  /** Index of its lowest bit in the code (bit `j` is bit `j & 31` of word `j >> 5`). */
  readonly start: number;
  /** Its width in bits, 1 to {@link MAX_SUBSTRING_BITS}. */
  readonly length: number;
}

/** How a table splits its codes: the code width and the substrings, in order. */
export interface HashLayout {
  /** Code width in bits. */
  readonly bits: number;
  /** The `m` substrings, covering bits 0 to `bits - 1` in order. */
  readonly substrings: readonly Substring[];
}

/**
 * The number of substrings for codes of `bits` bits in a table of about `expectedItems`
 * items. Multi-index hashing works best with substrings of about `log2(expectedItems)` bits
 * (Norouzi, Punjani and Fleet, 2012): each substring value then matches about one item, so
 * a lookup costs one index probe and returns few false candidates. So `m` is
 * `bits / log2(expectedItems)`, rounded, within `ceil(bits / 31) .. bits`. Without
 * `expectedItems`, substrings of at most {@link TARGET_SUBSTRING_BITS} bits.
 *
 * Measured with 10,000,000 random 30-bit codes (see the package README): one 30-bit
 * substring (m = 1, chosen for 10M items) answers radius 2 with 466 probes and ~5
 * candidates (the matches), where two of 15 bits (m = 2) read ~5,200 candidates per query;
 * with the search statement of `hash-table.ts`, radius 2 takes 1.9 ms at the median and
 * 6.2 ms at the 99th percentile (m = 2 with the earlier statement: 7.7 and 62 ms).
 *
 * @example `defaultSubstringCount(30, 1e7)` is 1, `defaultSubstringCount(64, 1e7)` is 3.
 */
export function defaultSubstringCount(bits: number, expectedItems?: number): number {
  const fewest = Math.ceil(bits / MAX_SUBSTRING_BITS);
  if (expectedItems === undefined || !(expectedItems > 2)) {
    return Math.max(fewest, Math.ceil(bits / TARGET_SUBSTRING_BITS));
  }
  const m = Math.round(bits / Math.log2(expectedItems));
  return Math.min(bits, Math.max(fewest, m));
}

/**
 * Splits `bits` into `m` contiguous substrings of nearly equal width (the first
 * `bits mod m` are one bit wider).
 *
 * @throws RangeError when `m` is not an integer from `ceil(bits / 31)` to `bits`.
 */
export function createLayout(bits: number, m = defaultSubstringCount(bits)): HashLayout {
  codeWords(bits); // checks bits
  if (!Number.isInteger(m) || m < Math.ceil(bits / MAX_SUBSTRING_BITS) || m > bits) {
    throw new RangeError(
      `substrings must be an integer from ${Math.ceil(bits / MAX_SUBSTRING_BITS)} to ${bits} for ${bits}-bit codes, got ${m}.`,
    );
  }
  const substrings: Substring[] = [];
  const base = Math.floor(bits / m);
  let start = 0;
  for (let k = 0; k < m; k++) {
    const length = base + (k < bits % m ? 1 : 0);
    substrings.push({ start, length });
    start += length;
  }
  return { bits, substrings };
}

/** Bits `start .. start + length - 1` of a packed code, as an integer (`start` is bit 0). */
export function substringValue(code: ArrayLike<number>, start: number, length: number): number {
  const word = start >>> 5;
  const shift = start & 31;
  let value = code[word]! >>> shift;
  if (shift + length > 32) value |= code[word + 1]! << (32 - shift);
  return length === 32 ? value >>> 0 : (value & (2 ** length - 1)) >>> 0;
}

/** Every substring value of a code, in the layout's order. */
export function substringValues(layout: HashLayout, code: ArrayLike<number>): number[] {
  return layout.substrings.map((s) => substringValue(code, s.start, s.length));
}

/**
 * A code as PostgreSQL's `bit(n)` text: `bits` characters `0`/`1`, bit `bits - 1` first
 * (the order of core's hexadecimal codes), so that `bit_count(a # b)` is the Hamming distance.
 */
export function bitText(code: ArrayLike<number>, bits: number): string {
  let text = '';
  for (let w = codeWords(bits) - 1; w >= 0; w--) {
    const width = w === bits >>> 5 ? bits & 31 : 32;
    if (width > 0) text += code[w]!.toString(2).padStart(width, '0');
  }
  return text;
}

/**
 * Writes a code as PostgreSQL's binary `bit(n)` value (the body of `varbit_send`): the bit
 * count as an int32, then `ceil(bits / 8)` bytes, bit `bits - 1` first, the last byte padded
 * with zeros. Returns the offset after it.
 */
export function writeBitBinary(
  code: ArrayLike<number>,
  bits: number,
  target: Buffer,
  offset: number,
): number {
  const bytes = (bits + 7) >>> 3;
  const pad = bytes * 8 - bits;
  target.writeInt32BE(bits, offset);
  let at = offset + 4;
  for (let j = 0; j < bytes; j++) {
    // Byte j holds code bits from `low` to `low + 7` (bits below 0 are the padding).
    const low = (bytes - 1 - j) * 8 - pad;
    target[at++] =
      low >= 0 ? substringValue(code, low, 8) : (substringValue(code, 0, 8 + low) << -low) & 255;
  }
  return at;
}

/**
 * The radius each substring is searched with so that every code within `radius` of the
 * query is found (the pigeonhole principle, in its tight form): with `radius = q * m + a`
 * (`0 <= a < m`), a code that differs from the query in more than `q` bits of each of the
 * first `a + 1` substrings and in more than `q - 1` bits of each other one differs in at
 * least `(a + 1)(q + 1) + (m - a - 1) q = radius + 1` bits. So the first `a + 1` substrings
 * are searched within `q`, the others within `q - 1` (not at all when that is negative).
 */
export function substringRadii(layout: HashLayout, radius: number): number[] {
  const m = layout.substrings.length;
  const q = Math.floor(radius / m);
  const a = radius - q * m;
  return layout.substrings.map((s, k) => Math.min(k <= a ? q : q - 1, s.length));
}

/** Number of substring values a radius query looks up (the sum of the Hamming balls). */
export function lookupCount(layout: HashLayout, radius: number): number {
  const radii = substringRadii(layout, radius);
  return layout.substrings.reduce(
    (sum, s, k) => sum + (radii[k]! < 0 ? 0 : hammingBallSize(s.length, radii[k]!)),
    0,
  );
}

/**
 * Every value within Hamming distance `radius` of `value` among `length`-bit integers,
 * sorted (the order a btree reads them best in).
 */
export function ballValues(value: number, length: number, radius: number): number[] {
  const out: number[] = [];
  const visit = (v: number, flips: number, from: number): void => {
    out.push(v >>> 0);
    if (flips === 0) return;
    for (let p = from; p < length; p++) visit(v ^ (2 ** p), flips - 1, p + 1);
  };
  if (radius >= 0) visit(value, Math.min(radius, length), 0);
  return out.sort((x, y) => x - y);
}

/**
 * Expected number of candidates a radius query reads from the indexes of `rows` uniformly
 * random codes: each substring value looked up matches `rows / 2^length` rows.
 */
export function expectedCandidates(layout: HashLayout, radius: number, rows: number): number {
  const radii = substringRadii(layout, radius);
  return layout.substrings.reduce(
    (sum, s, k) =>
      sum + (radii[k]! < 0 ? 0 : (hammingBallSize(s.length, radii[k]!) * rows) / 2 ** s.length),
    0,
  );
}
