/**
 * Binary codes packed as bits (packing, unpacking, hex text) and their Hamming distance.
 *
 * Layout of packed codes: a code of `bits` bits takes `words = ceil(bits / 32)` uint32 words;
 * bit `j` of item `i` is bit `j & 31` (least significant first) of word `i * words + (j >> 5)`,
 * and the bits of the last word above `bits` are always 0 (every function of `hashing/` relies
 * on it: they would otherwise add to every Hamming distance).
 *
 * What it exports beyond `@aekit/core/hashing` (the argument checks) serves the other files of
 * `hashing/` only.
 */
import { aekitError } from '../errors.js';

/** The largest code length, in bits, that the functions of this module accept. */
export const MAX_CODE_BITS = 1024;

/**
 * `count` binary codes of `bits` bits each, packed row-major as uint32 words.
 *
 * Item `i` occupies `data[i * words .. (i + 1) * words)` with `words = codeWords(bits)`;
 * bit `j` of the item is bit `j & 31` (least significant first) of word `i * words + (j >> 5)`.
 * Unused high bits of the last word of each item are 0.
 */
export interface PackedCodes {
  /** Code length in bits, 1 to {@link MAX_CODE_BITS}. */
  readonly bits: number;
  /** Number of items. */
  readonly count: number;
  /** `count * codeWords(bits)` words. */
  readonly data: Uint32Array;
}

// ---------------------------------------------------------------------------------------------
// Argument checks

export const show = (value: unknown): string =>
  typeof value === 'string' ? JSON.stringify(value) : String(value);

export function invalid(where: string, what: string): Error {
  return aekitError('InvalidArgument', `${where}: ${what}`);
}

function checkBits(bits: unknown, where: string): asserts bits is number {
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 1 || bits > MAX_CODE_BITS) {
    throw invalid(where, `bits must be an integer from 1 to ${MAX_CODE_BITS}, got ${show(bits)}.`);
  }
}

export function checkCount(value: unknown, name: string, where: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalid(where, `${name} must be a non-negative integer, got ${show(value)}.`);
  }
}

function checkItem(codes: PackedCodes, i: unknown, where: string): asserts i is number {
  if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= codes.count) {
    throw invalid(
      where,
      `item must be an integer from 0 to ${codes.count - 1} (the codes hold ${codes.count} items), got ${show(i)}.`,
    );
  }
}

/**
 * The bits of the last word of a code that must be 0, as an int32 mask (0 when `bits` is a
 * multiple of 32): the complement of the r = bits mod 32 low bits.
 */
export function unusedMask(bits: number): number {
  const r = bits & 31;
  return r === 0 ? 0 : ~(2 ** r - 1);
}

/** Index of the first item whose code has bits set above `bits`, or -1. */
export function firstDirtyItem(codes: PackedCodes): number {
  const words = codeWords(codes.bits);
  const mask = unusedMask(codes.bits);
  if (mask === 0) return -1;
  const { data, count } = codes;
  for (let i = 0, w = words - 1; i < count; i++, w += words) {
    if ((data[w]! & mask) !== 0) return i;
  }
  return -1;
}

/**
 * Checks the shape of `codes` (bits, count, a `Uint32Array` of `count * words` words) and,
 * when `full`, that no code has bits set above `bits`.
 *
 * @param codes - The value to check.
 * @param what - How to name the value in the error, e.g. `"createHashIndex(): codes"`.
 * @param full - Also check the unused high bits: a pass over the last word of every item,
 *   O(count); the searches skip it (they trust an index built by {@link createHashIndex}).
 * @throws AekitError `InvalidArgument` saying what is wrong.
 */
export function validatePackedCodes(
  codes: unknown,
  what = 'codes',
  full = true,
): asserts codes is PackedCodes {
  if (typeof codes !== 'object' || codes === null) {
    throw invalid(what, `expected packed codes ({ bits, count, data }), got ${show(codes)}.`);
  }
  const c = codes as Partial<PackedCodes>;
  checkBits(c.bits, what);
  checkCount(c.count, 'count', what);
  if (!(c.data instanceof Uint32Array)) {
    throw invalid(what, 'data must be a Uint32Array.');
  }
  const words = codeWords(c.bits);
  if (c.data.length !== c.count * words) {
    throw invalid(
      what,
      `data holds ${c.data.length} words, but ${c.count} codes of ${c.bits} bits take ${c.count * words} (${words} per code).`,
    );
  }
  if (full) {
    const dirty = firstDirtyItem(c as PackedCodes);
    if (dirty >= 0) {
      throw invalid(
        what,
        `the code of item ${dirty} has bits set above bit ${c.bits - 1}; unused high bits must be 0.`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Packing, unpacking, formatting

/**
 * Number of uint32 words a code of `bits` bits takes: `ceil(bits / 32)`.
 *
 * @throws AekitError `InvalidArgument` unless `bits` is an integer from 1 to {@link MAX_CODE_BITS}.
 */
export function codeWords(bits: number): number {
  checkBits(bits, 'codeWords()');
  return (bits + 31) >>> 5;
}

/**
 * Packs probabilities into binary codes: bit = `value > 0.5`.
 *
 * The comparison is strict, exactly ONNX `Greater(x, 0.5)`, so that codes packed here from the
 * encoder's probabilities equal the bits an exported ONNX graph computes: 0.5 itself gives 0,
 * and so does NaN (every comparison with NaN is false).
 *
 * @param values - `count * bits` values, row-major (the `bits` values of item 0, then item 1…).
 * @param bits - Code length, 1 to {@link MAX_CODE_BITS}.
 * @throws AekitError `InvalidArgument` for a bad `bits` or a length that is not a multiple of it.
 */
export function packBits(values: ArrayLike<number>, bits: number): PackedCodes {
  checkBits(bits, 'packBits()');
  if (values === null || typeof values !== 'object' || typeof values.length !== 'number') {
    throw invalid('packBits()', 'values must be an array or typed array of numbers.');
  }
  const n = values.length;
  if (n % bits !== 0) {
    throw invalid(
      'packBits()',
      `${n} values is not a whole number of ${bits}-bit codes (the length must be a multiple of bits).`,
    );
  }
  const count = n / bits;
  const words = codeWords(bits);
  const data = new Uint32Array(count * words);
  let v = 0;
  for (let i = 0; i < count; i++) {
    let word = 0;
    for (let j = 0; j < bits; j++, v++) {
      if ((values[v] as number) > 0.5) word |= 1 << (j & 31);
      if ((j & 31) === 31 || j === bits - 1) {
        data[i * words + (j >>> 5)] = word;
        word = 0;
      }
    }
  }
  return { bits, count, data };
}

/**
 * Wraps words that are already packed (e.g. read from elsewhere) as {@link PackedCodes},
 * checking the length and that unused high bits are 0. The words are not copied.
 *
 * @throws AekitError `InvalidArgument` naming what is wrong.
 */
export function packedCodesFromWords(data: Uint32Array, bits: number): PackedCodes {
  checkBits(bits, 'packedCodesFromWords()');
  if (!(data instanceof Uint32Array)) {
    throw invalid('packedCodesFromWords()', 'data must be a Uint32Array.');
  }
  const words = codeWords(bits);
  if (data.length % words !== 0) {
    throw invalid(
      'packedCodesFromWords()',
      `${data.length} words is not a whole number of ${bits}-bit codes (${words} words each).`,
    );
  }
  const codes = { bits, count: data.length / words, data };
  validatePackedCodes(codes, 'packedCodesFromWords()');
  return codes;
}

/**
 * The code of item `i` as a view (no copy) of its `codeWords(bits)` words: the form
 * {@link searchRadius} and {@link searchNearest} take as a query.
 *
 * @throws AekitError `InvalidArgument` for an item out of range.
 */
export function codeAt(codes: PackedCodes, i: number): Uint32Array {
  checkItem(codes, i, 'codeAt()');
  const words = codeWords(codes.bits);
  return codes.data.subarray(i * words, (i + 1) * words);
}

/**
 * The bits of item `i`, one byte (0 or 1) per bit, bit 0 first: the inverse of
 * {@link packBits} for one item.
 *
 * @throws AekitError `InvalidArgument` for an item out of range.
 */
export function unpackBits(codes: PackedCodes, i: number): Uint8Array {
  checkItem(codes, i, 'unpackBits()');
  const words = codeWords(codes.bits);
  const out = new Uint8Array(codes.bits);
  const base = i * words;
  for (let j = 0; j < codes.bits; j++) {
    out[j] = (codes.data[base + (j >>> 5)]! >>> (j & 31)) & 1;
  }
  return out;
}

/**
 * The code of item `i` as lower-case hexadecimal, most significant digit first (bit
 * `bits - 1` is the top of the first digit's range), zero-padded to `ceil(bits / 4)` digits,
 * without a `0x` prefix. {@link parseCode} reads it back.
 *
 * @example For 30 bits with only bit 29 set: `"20000000"`; for 33 bits with only bit 32 set:
 * `"100000000"`.
 * @throws AekitError `InvalidArgument` for an item out of range.
 */
export function formatCode(codes: PackedCodes, i: number): string {
  checkItem(codes, i, 'formatCode()');
  const words = codeWords(codes.bits);
  const base = i * words;
  let hex = '';
  for (let w = words - 1; w >= 0; w--) hex += codes.data[base + w]!.toString(16).padStart(8, '0');
  // The unused high bits are 0, so the digits cut here are all '0'.
  return hex.slice(hex.length - ((codes.bits + 3) >>> 2));
}

/**
 * Reads a code written by {@link formatCode}: hexadecimal, most significant digit first, with
 * an optional `0x`/`0X` prefix, upper or lower case. Fewer digits than `ceil(bits / 4)` are
 * allowed (the missing high digits are 0), and so are extra leading zeros.
 *
 * @returns The code's `codeWords(bits)` words, usable as a query.
 * @throws AekitError `InvalidArgument` for an empty string, a character that is not a hex
 *   digit, or a bit set at or above `bits`.
 */
export function parseCode(hex: string, bits: number): Uint32Array {
  checkBits(bits, 'parseCode()');
  if (typeof hex !== 'string') throw invalid('parseCode()', `expected a string, got ${show(hex)}.`);
  const digits = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex;
  if (digits.length === 0) {
    throw invalid('parseCode()', `${show(hex)} has no hexadecimal digits.`);
  }
  const bad = digits.search(/[^0-9a-fA-F]/);
  if (bad >= 0) {
    throw invalid(
      'parseCode()',
      `${show(hex)} is not a hexadecimal code: ${show(digits[bad])} at position ${bad + hex.length - digits.length} is not a hex digit (0-9, a-f).`,
    );
  }
  const out = new Uint32Array(codeWords(bits));
  for (let k = 0; k < digits.length; k++) {
    const digit = Number.parseInt(digits[digits.length - 1 - k]!, 16);
    if (digit === 0) continue;
    const low = 4 * k;
    const top = low + 31 - Math.clz32(digit);
    if (top >= bits) {
      throw invalid(
        'parseCode()',
        `${show(hex)} has bit ${top} set, but a ${bits}-bit code has only bits 0 to ${bits - 1} (at most ${(bits + 3) >>> 2} hex digits).`,
      );
    }
    out[low >>> 5] = out[low >>> 5]! | (digit << (low & 31));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Hamming distance

/**
 * Number of set bits of the 32-bit integer `x` (read as uint32), by the classic SWAR
 * ("SIMD within a register") reduction: 2-bit, 4-bit then 8-bit partial sums computed in
 * parallel inside the word, and a multiplication by 0x01010101 that adds the four byte sums
 * into the top byte. Branch-free, no table, a dozen integer operations: in V8 this is faster
 * than a loop over the bits or a byte lookup table.
 */
export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * Hamming distance between two packed codes of the same length (`codeWords(bits)` words each,
 * e.g. from {@link codeAt} or {@link parseCode}): the number of bits in which they differ.
 *
 * @throws AekitError `InvalidArgument` when the lengths differ.
 */
export function hammingDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw invalid('hammingDistance()', `the codes have ${a.length} and ${b.length} words.`);
  }
  let d = 0;
  for (let w = 0; w < a.length; w++) d += popcount32(a[w]! ^ b[w]!);
  return d;
}

/**
 * Number of codes of `bits` bits within Hamming distance `radius` of a given code:
 * the sum over `i <= radius` of C(bits, i). A float: exact up to 2^53.
 */
export function hammingBallSize(bits: number, radius: number): number {
  const r = Math.min(radius, bits);
  let total = 0;
  let term = 1; // C(bits, i)
  for (let i = 0; i <= r; i++) {
    total += term;
    term = (term * (bits - i)) / (i + 1);
  }
  return total;
}
