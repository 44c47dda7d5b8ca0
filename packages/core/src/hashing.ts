/**
 * Semantic hashing: binary codes packed as bits, Hamming-distance search over an index of
 * codes, and the `aekit-hash/2` file that stores such an index (with a CRC-32 of its content;
 * `aekit-hash/1` files, without one, are still read).
 *
 * This module is loaded in browsers through an import map, without a bundler, so it imports
 * nothing but `./errors.js` and uses only what browsers and Node share: typed arrays,
 * `DataView`, `TextEncoder` and `TextDecoder` (no `Buffer`, no `node:*`).
 *
 * Layout of packed codes: a code of `bits` bits takes `words = ceil(bits / 32)` uint32 words;
 * bit `j` of item `i` is bit `j & 31` (least significant first) of word `i * words + (j >> 5)`,
 * and the bits of the last word above `bits` are always 0 (every function here relies on it:
 * they would otherwise add to every Hamming distance).
 *
 * @packageDocumentation
 */
import { aekitError } from './errors.js';

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

const show = (value: unknown): string =>
  typeof value === 'string' ? JSON.stringify(value) : String(value);

function invalid(where: string, what: string): Error {
  return aekitError('InvalidArgument', `${where}: ${what}`);
}

function checkBits(bits: unknown, where: string): asserts bits is number {
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 1 || bits > MAX_CODE_BITS) {
    throw invalid(where, `bits must be an integer from 1 to ${MAX_CODE_BITS}, got ${show(bits)}.`);
  }
}

function checkCount(value: unknown, name: string, where: string): asserts value is number {
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
function unusedMask(bits: number): number {
  const r = bits & 31;
  return r === 0 ? 0 : ~(2 ** r - 1);
}

/** Index of the first item whose code has bits set above `bits`, or -1. */
function firstDirtyItem(codes: PackedCodes): number {
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

// ---------------------------------------------------------------------------------------------
// Index

/**
 * Binary codes with optional ids, labels and free metadata: what {@link searchRadius} and
 * {@link searchNearest} search and what the `aekit-hash/2` file stores. Build it with
 * {@link createHashIndex} or {@link parseHashIndex}.
 *
 * The object is plain data (frozen; JSON-friendly but for its typed arrays); the search
 * structure lives outside it, in a module-private `WeakMap`. The index keeps references to
 * `codes.data` and `labels` rather than copies: do not modify them after building it.
 */
export interface HashIndex {
  /** The codes, item `i` being entry `i` of `ids` and `labels`. */
  readonly codes: PackedCodes;
  /** One id per item (e.g. a file name), when given. */
  readonly ids?: readonly string[];
  /** One integer label per item (e.g. a class), when given. */
  readonly labels?: Int32Array;
  /** Free JSON metadata (e.g. the run and model the codes come from). */
  readonly meta: Readonly<Record<string, unknown>>;
}

/** Optional parts of a {@link HashIndex}. */
export interface HashIndexOptions {
  /** One id per item. */
  readonly ids?: readonly string[];
  /** One int32 label per item; an `Int32Array` is kept as is, anything else is copied into one. */
  readonly labels?: ArrayLike<number>;
  /** JSON-serialisable metadata; `{}` when left out. */
  readonly meta?: Readonly<Record<string, unknown>>;
}

/**
 * The search structure of an index of codes of at most 32 bits (one word per code): every
 * item sorted by code, ties by item number. `sorted[p]` is the code of item `order[p]`.
 */
interface Lookup {
  readonly sorted: Uint32Array;
  readonly order: Uint32Array;
}

/**
 * Search structures, keyed by index object. A `WeakMap` rather than a hidden property keeps
 * the index a plain frozen object (structured-clone and `JSON.stringify` see only its data)
 * and lets the structure go with the index. `null`: codes of more than 32 bits, none to build.
 */
const lookups = new WeakMap<HashIndex, Lookup | null>();

/**
 * Sorts items by their one-word codes, stably (equal codes keep increasing item numbers), by
 * an LSD radix sort on 8-bit digits: `ceil(bits / 8)` linear passes, so building the lookup
 * of 1,000,000 codes of 30 bits takes four passes instead of a comparison sort's ~20.
 */
function buildLookup(codes: PackedCodes): Lookup {
  const n = codes.count;
  let keys = Uint32Array.from(codes.data);
  let order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let keys2 = new Uint32Array(n);
  let order2 = new Uint32Array(n);
  const counts = new Uint32Array(256);
  for (let shift = 0; shift < codes.bits; shift += 8) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(keys[i]! >>> shift) & 0xff]!++;
    let sum = 0;
    for (let b = 0; b < 256; b++) {
      const c = counts[b]!;
      counts[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const key = keys[i]!;
      const at = counts[(key >>> shift) & 0xff]!++;
      keys2[at] = key;
      order2[at] = order[i]!;
    }
    [keys, keys2] = [keys2, keys];
    [order, order2] = [order2, order];
  }
  return { sorted: keys, order };
}

/** The lookup of an index, built on first use for an index not made by createHashIndex. */
function lookupOf(index: HashIndex): Lookup | null {
  let lookup = lookups.get(index);
  if (lookup === undefined) {
    lookup = index.codes.bits <= 32 ? buildLookup(index.codes) : null;
    lookups.set(index, lookup);
  }
  return lookup;
}

function toLabels(labels: ArrayLike<number>, count: number, where: string): Int32Array {
  if (labels === null || typeof labels !== 'object' || typeof labels.length !== 'number') {
    throw invalid(where, 'labels must be an array or typed array of integers.');
  }
  if (labels.length !== count) {
    throw invalid(where, `there are ${labels.length} labels for ${count} codes.`);
  }
  if (labels instanceof Int32Array) return labels;
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const v = labels[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) {
      throw invalid(where, `label ${i} is ${show(v)}, not an int32 integer.`);
    }
    out[i] = v;
  }
  return out;
}

/** Builds the frozen index object and registers its lookup; arguments already checked. */
function makeIndex(
  codes: PackedCodes,
  ids: readonly string[] | undefined,
  labels: Int32Array | undefined,
  meta: Readonly<Record<string, unknown>>,
): HashIndex {
  const index: HashIndex = Object.freeze({
    codes: Object.freeze({ bits: codes.bits, count: codes.count, data: codes.data }),
    ...(ids === undefined ? {} : { ids }),
    ...(labels === undefined ? {} : { labels }),
    meta,
  });
  lookups.set(index, codes.bits <= 32 ? buildLookup(codes) : null);
  return index;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Builds a searchable {@link HashIndex}.
 *
 * For codes of at most 32 bits it also sorts the items by code (in linear time, see the
 * module notes), so that {@link searchRadius} can answer a small radius by enumerating the
 * codes near the query and binary-searching each instead of scanning every item.
 *
 * `ids` is copied and frozen, `meta` is shallow-copied and frozen; `codes.data` and an
 * `Int32Array` of labels are kept by reference (do not modify them afterwards).
 *
 * @throws AekitError `InvalidArgument` for malformed codes (including bits set above `bits`),
 *   ids or labels whose length is not `codes.count`, a label that is not an int32 integer, or
 *   a `meta` that is not a plain object.
 */
export function createHashIndex(codes: PackedCodes, options: HashIndexOptions = {}): HashIndex {
  const where = 'createHashIndex()';
  validatePackedCodes(codes, `${where}: codes`);
  const { ids, labels, meta = {} } = options;
  let idList: readonly string[] | undefined;
  if (ids !== undefined) {
    if (!Array.isArray(ids)) throw invalid(where, 'ids must be an array of strings.');
    if (ids.length !== codes.count) {
      throw invalid(where, `there are ${ids.length} ids for ${codes.count} codes.`);
    }
    const bad = ids.findIndex((id) => typeof id !== 'string');
    if (bad >= 0) throw invalid(where, `id ${bad} is ${show(ids[bad])}, not a string.`);
    idList = Object.freeze(ids.slice());
  }
  const labelArray = labels === undefined ? undefined : toLabels(labels, codes.count, where);
  if (!isPlainObject(meta)) throw invalid(where, 'meta must be a plain object.');
  return makeIndex(codes, idList, labelArray, Object.freeze({ ...meta }));
}

// ---------------------------------------------------------------------------------------------
// Search

/** Items found by a search, closest first. */
export interface HashSearchResult {
  /** Item numbers, sorted by distance, then by item number. */
  readonly indices: Uint32Array;
  /**
   * Hamming distance of each item to the query. A `Uint16Array` because codes can have up to
   * 1024 bits, so distances can exceed 255.
   */
  readonly distances: Uint16Array;
}

/**
 * How {@link searchRadius} finds the items: `'enumerate'` lists every code within the radius
 * of the query and binary-searches each in the sorted codes; `'scan'` computes the distance
 * to every item.
 */
export type HashSearchStrategy = 'enumerate' | 'scan';

/** Options of {@link searchRadius}. */
export interface SearchRadiusOptions {
  /**
   * `'auto'` (default) picks with {@link searchStrategy}. Forcing `'enumerate'` (codes of at
   * most 32 bits only) or `'scan'` is for tests and benchmarks; the results are the same.
   */
  readonly strategy?: 'auto' | HashSearchStrategy;
}

/**
 * Relative cost of one binary-search probe of the enumeration path, in units of one item of
 * the scan (a XOR, a popcount and a compare over consecutive memory). A probe is a dependent
 * load, often a cache miss. On 1,000,000 random 30-bit codes (Node 20, x86-64) a probe took
 * ~4.4 ns and a scanned item ~2.5 ns, hence 2. The choice is not sensitive to it: each unit of
 * radius multiplies the enumeration's work by about bits / radius, so the two paths' costs
 * cross quickly (at radius 4 for that data: 2.9 ms enumerating against 2.5 ms scanning).
 */
const PROBE_COST = 2;

/**
 * Which path {@link searchRadius} takes for this index and radius (the same for every query).
 *
 * `'enumerate'` when the codes have at most 32 bits and the expected enumeration work,
 * `hammingBallSize(bits, radius)` codes times a binary search of `log2(count) + 1` probes
 * (each weighted by `PROBE_COST` = 2), is smaller than scanning `count` items;
 * `'scan'` otherwise.
 *
 * @throws AekitError `InvalidArgument` for a radius that is not a non-negative integer.
 */
export function searchStrategy(index: HashIndex, radius: number): HashSearchStrategy {
  checkCount(radius, 'radius', 'searchStrategy()');
  const { bits, count } = index.codes;
  if (bits > 32) return 'scan';
  const probes = Math.log2(count + 1) + 1;
  return hammingBallSize(bits, radius) * probes * PROBE_COST < count ? 'enumerate' : 'scan';
}

function checkQuery(index: HashIndex, query: unknown, where: string): asserts query is Uint32Array {
  const { bits } = index.codes;
  const words = codeWords(bits);
  if (!(query instanceof Uint32Array)) {
    throw invalid(where, `the query must be a Uint32Array of ${words} word(s) (see parseCode).`);
  }
  if (query.length !== words) {
    throw invalid(
      where,
      `the query has ${query.length} word(s), but ${bits}-bit codes take ${words} (see parseCode).`,
    );
  }
  if ((query[words - 1]! & unusedMask(bits)) !== 0) {
    throw invalid(where, `the query has bits set above bit ${bits - 1}.`);
  }
}

/** Distance between the query and item `i`; `words` > 1 (one-word codes are inlined). */
function distanceTo(data: Uint32Array, i: number, words: number, query: Uint32Array): number {
  let d = 0;
  for (let w = 0, at = i * words; w < words; w++, at++) d += popcount32(data[at]! ^ query[w]!);
  return d;
}

/** Growable pair of arrays collecting matches (item, distance) of a scan. */
class Matches {
  items = new Uint32Array(64);
  dists = new Uint16Array(64);
  length = 0;
  push(item: number, dist: number): void {
    if (this.length === this.items.length) {
      const items = new Uint32Array(this.length * 2);
      items.set(this.items);
      this.items = items;
      const dists = new Uint16Array(this.length * 2);
      dists.set(this.dists);
      this.dists = dists;
    }
    this.items[this.length] = item;
    this.dists[this.length++] = dist;
  }
}

/**
 * Linear scan: one pass collects the matches in item order, then a counting sort by distance
 * (stable, so item numbers stay increasing within a distance). One pass rather than count
 * then fill, because matches are usually few and the distances are the costly part.
 */
function scanRadius(codes: PackedCodes, query: Uint32Array, radius: number): HashSearchResult {
  const { data, count } = codes;
  const words = codeWords(codes.bits);
  const found = new Matches();
  if (words === 1) {
    const q = query[0]!;
    for (let i = 0; i < count; i++) {
      const d = popcount32(data[i]! ^ q);
      if (d <= radius) found.push(i, d);
    }
  } else {
    for (let i = 0; i < count; i++) {
      const d = distanceTo(data, i, words, query);
      if (d <= radius) found.push(i, d);
    }
  }
  const offsets = new Uint32Array(radius + 2);
  for (let m = 0; m < found.length; m++) offsets[found.dists[m]! + 1]!++;
  for (let d = 1; d <= radius + 1; d++) offsets[d]! += offsets[d - 1]!;
  const indices = new Uint32Array(found.length);
  const distances = new Uint16Array(found.length);
  for (let m = 0; m < found.length; m++) {
    const d = found.dists[m]!;
    const at = offsets[d]!++;
    indices[at] = found.items[m]!;
    distances[at] = d;
  }
  return { indices, distances };
}

/** First position `p` with `sorted[p] >= code`. */
function lowerBound(sorted: Uint32Array, code: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < code) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Calls `visit` with every code at Hamming distance exactly `flips` from `code`, by flipping
 * each combination of `flips` bit positions (chosen in increasing order, from `start`).
 */
function forEachAtDistance(
  code: number,
  bits: number,
  flips: number,
  start: number,
  visit: (code: number) => void,
): void {
  if (flips === 0) {
    visit(code >>> 0);
    return;
  }
  for (let p = start; p <= bits - flips; p++) {
    forEachAtDistance(code ^ (1 << p), bits, flips - 1, p + 1, visit);
  }
}

/**
 * Enumeration: for each distance d = 0..radius, every code at distance d is looked up in the
 * sorted codes; the items found at one distance come from several codes, so they are sorted
 * by item number afterwards (items of one code are already in order).
 */
function enumerateRadius(
  lookup: Lookup,
  bits: number,
  query: number,
  radius: number,
): HashSearchResult {
  const { sorted, order } = lookup;
  const n = sorted.length;
  const found: number[] = [];
  const visit = (code: number): void => {
    for (let p = lowerBound(sorted, code); p < n && sorted[p] === code; p++) found.push(order[p]!);
  };
  const bounds = [0];
  for (let d = 0; d <= radius; d++) {
    forEachAtDistance(query, bits, d, 0, visit);
    bounds.push(found.length);
  }
  const indices = Uint32Array.from(found);
  const distances = new Uint16Array(indices.length);
  for (let d = 0; d <= radius; d++) {
    indices.subarray(bounds[d]!, bounds[d + 1]!).sort();
    distances.fill(d, bounds[d]!, bounds[d + 1]!);
  }
  return { indices, distances };
}

/**
 * Every item whose code is within Hamming distance `radius` of `query`, sorted by distance,
 * then by item number.
 *
 * For codes of at most 32 bits and a radius whose Hamming ball is small compared to the
 * number of items, it enumerates the `hammingBallSize(bits, radius)` codes near the query and
 * binary-searches each in the index's sorted codes; otherwise it scans every item. See
 * {@link searchStrategy}.
 *
 * @param query - `codeWords(bits)` words with no bit set above `bits` (see {@link parseCode},
 *   {@link codeAt}).
 * @param radius - A non-negative integer; a radius of `bits` or more returns every item.
 * @throws AekitError `InvalidArgument` for a query of the wrong length or with bits set above
 *   `bits`, a radius that is not a non-negative integer, or `strategy: 'enumerate'` with codes
 *   of more than 32 bits.
 */
export function searchRadius(
  index: HashIndex,
  query: Uint32Array,
  radius: number,
  options: SearchRadiusOptions = {},
): HashSearchResult {
  const where = 'searchRadius()';
  validatePackedCodes(index?.codes, `${where}: index.codes`, false);
  checkQuery(index, query, where);
  checkCount(radius, 'radius', where);
  const { bits } = index.codes;
  const r = Math.min(radius, bits);
  const wanted = options.strategy ?? 'auto';
  const strategy = wanted === 'auto' ? searchStrategy(index, r) : wanted;
  if (strategy === 'enumerate') {
    const lookup = lookupOf(index);
    if (lookup === null) {
      throw invalid(where, `strategy "enumerate" needs codes of at most 32 bits, not ${bits}.`);
    }
    return enumerateRadius(lookup, bits, query[0]!, r);
  }
  if (strategy !== 'scan') {
    throw invalid(where, `strategy must be "auto", "enumerate" or "scan", got ${show(wanted)}.`);
  }
  return scanRadius(index.codes, query, r);
}

/**
 * The `k` items nearest to `query` (every item when there are fewer), sorted by distance,
 * then by item number (so among items at the same distance, the lowest numbers are kept).
 *
 * O(count + bits) with no sort: a first pass builds the histogram of distances, which gives
 * the distance D of the k-th item and how many items at distance D to keep; a second pass
 * recomputes the distances and places each kept item at its final position (a counting sort,
 * stable in item order). Recomputing a distance is cheaper than storing and re-reading one.
 *
 * @throws AekitError `InvalidArgument` for a query of the wrong length or with bits set above
 *   `bits`, or a `k` that is not a non-negative integer.
 */
export function searchNearest(index: HashIndex, query: Uint32Array, k: number): HashSearchResult {
  const where = 'searchNearest()';
  validatePackedCodes(index?.codes, `${where}: index.codes`, false);
  checkQuery(index, query, where);
  checkCount(k, 'k', where);
  const { bits, count, data } = index.codes;
  const words = codeWords(bits);
  const total = Math.min(k, count);
  const indices = new Uint32Array(total);
  const distances = new Uint16Array(total);
  if (total === 0) return { indices, distances };
  const q = query[0]!;

  const hist = new Uint32Array(bits + 1);
  if (words === 1) for (let i = 0; i < count; i++) hist[popcount32(data[i]! ^ q)]!++;
  else for (let i = 0; i < count; i++) hist[distanceTo(data, i, words, query)]!++;

  // D: distance of the total-th nearest item; `take` of the items at distance D are kept.
  let before = 0;
  let cutoff = 0;
  while (before + hist[cutoff]! < total) before += hist[cutoff++]!;
  let take = total - before;
  const offsets = new Uint32Array(cutoff + 1);
  for (let d = 1; d <= cutoff; d++) offsets[d] = offsets[d - 1]! + hist[d - 1]!;

  for (let i = 0; i < count; i++) {
    const d = words === 1 ? popcount32(data[i]! ^ q) : distanceTo(data, i, words, query);
    if (d > cutoff || (d === cutoff && take-- <= 0)) continue;
    const at = offsets[d]!++;
    indices[at] = i;
    distances[at] = d;
  }
  return { indices, distances };
}

// ---------------------------------------------------------------------------------------------
// File format

/** The first 10 bytes of an `aekit-hash/2` file, the format {@link serializeHashIndex} writes. */
export const HASH_INDEX_MAGIC = 'AEKITHASH2';
/** The `format` field of the header of the files {@link serializeHashIndex} writes. */
export const HASH_INDEX_FORMAT = 'aekit-hash/2';
/** The magic of the first format, `aekit-hash/1` (no checksum), which is still read. */
export const HASH_INDEX_MAGIC_V1 = 'AEKITHASH1';
/** The `format` field of an `aekit-hash/1` header. */
export const HASH_INDEX_FORMAT_V1 = 'aekit-hash/1';

/** Each version's magic and header format; the magics differ only in their last byte. */
const VERSIONS = [
  { magic: new TextEncoder().encode(HASH_INDEX_MAGIC), format: HASH_INDEX_FORMAT, checksum: true },
  {
    magic: new TextEncoder().encode(HASH_INDEX_MAGIC_V1),
    format: HASH_INDEX_FORMAT_V1,
    checksum: false,
  },
] as const;
const MAGIC = VERSIONS[0].magic;
/** Magic, then the uint32 header length. */
const PREFIX_BYTES = MAGIC.length + 4;
/** The uint32 CRC-32 at the end of an `aekit-hash/2` file. */
const CHECKSUM_BYTES = 4;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const align4 = (n: number): number => (n + 3) & ~3;

/** The JSON header of an `aekit-hash/2` (or `/1`) file. */
interface HashIndexHeader {
  format: typeof HASH_INDEX_FORMAT | typeof HASH_INDEX_FORMAT_V1;
  bits: number;
  count: number;
  labels: boolean;
  ids?: string[];
  meta: Record<string, unknown>;
}

let crcTable: Uint32Array | undefined;

/**
 * The CRC-32 of `bytes` (IEEE 802.3, reflected, as zip, gzip and PNG compute it):
 * `crc32(TextEncoder('123456789')) === 0xcbf43926`.
 *
 * Why CRC-32 for the `aekit-hash/2` checksum: it must be computed synchronously in browsers
 * and Node alike, by this module, which imports nothing (it is loaded through an import map
 * without a bundler), so neither `node:crypto` nor an npm package, and WebCrypto's `digest`
 * is asynchronous only. The checksum guards against accidents (a flipped bit, a truncated or
 * spliced copy): CRC-32 catches every burst of up to 32 bits and any one or two flipped bits
 * in files up to 512 MiB, and misses other damage with a chance of 2^-32, in a dozen lines.
 * A cryptographic hash would add nothing against deliberate edits: whoever can change the
 * file can write a new digest too.
 */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const table = crcTable;
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Copies the 32-bit words of `src` into `out` at `offset`, little-endian. */
function writeWords(out: Uint8Array, offset: number, src: Uint32Array | Int32Array): void {
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), offset);
  } else {
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    for (let i = 0; i < src.length; i++) view.setUint32(offset + 4 * i, src[i]! >>> 0, true);
  }
}

/**
 * Writes an index in the `aekit-hash/2` format:
 *
 * | bytes | content |
 * |---|---|
 * | 10 | ASCII magic `AEKITHASH2` |
 * | 4 | uint32 LE: byte length H of the JSON header |
 * | H | UTF-8 JSON `{ format: 'aekit-hash/2', bits, count, labels: boolean, ids?: string[], meta }` |
 * | 0–3 | zero bytes, so the codes start at a multiple of 4 |
 * | 4 · count · words | the codes, uint32 LE, laid out as {@link PackedCodes} |
 * | 4 · count | int32 LE labels, when `labels` is true |
 * | 4 | uint32 LE: the {@link crc32} of every byte before it |
 *
 * `aekit-hash/1` is the same without the checksum (magic `AEKITHASH1`, format
 * `aekit-hash/1`).
 *
 * The alignment lets {@link parseHashIndex} view the codes in place. `meta` goes through
 * `JSON.stringify`, so values JSON cannot represent (functions, `undefined`) are dropped.
 *
 * @throws AekitError `InvalidArgument` for malformed codes, ids or labels whose length is not
 *   the number of codes, or a `meta` that JSON cannot serialise (a BigInt, a cycle).
 */
export function serializeHashIndex(index: HashIndex): Uint8Array {
  const where = 'serializeHashIndex()';
  validatePackedCodes(index?.codes, `${where}: index.codes`, false);
  const { bits, count, data } = index.codes;
  // An index built by hand may not have been checked by createHashIndex; a file whose ids or
  // labels do not match its codes would only fail when read back.
  if (index.ids !== undefined && (!Array.isArray(index.ids) || index.ids.length !== count)) {
    throw invalid(where, `index.ids must be an array of ${count} strings, one per code.`);
  }
  if (
    index.labels !== undefined &&
    (!(index.labels instanceof Int32Array) || index.labels.length !== count)
  ) {
    throw invalid(where, `index.labels must be an Int32Array of ${count} labels, one per code.`);
  }
  const header: HashIndexHeader = {
    format: HASH_INDEX_FORMAT,
    bits,
    count,
    labels: index.labels !== undefined,
    ...(index.ids === undefined ? {} : { ids: [...index.ids] }),
    meta: { ...index.meta },
  };
  let json: string;
  try {
    json = JSON.stringify(header);
  } catch (err) {
    throw invalid(where, `meta cannot be written as JSON: ${(err as Error).message}`);
  }
  const headerBytes = new TextEncoder().encode(json);
  const codesAt = align4(PREFIX_BYTES + headerBytes.length);
  const labelsAt = codesAt + data.byteLength;
  const checksumAt = labelsAt + (index.labels === undefined ? 0 : 4 * count);
  const out = new Uint8Array(checksumAt + CHECKSUM_BYTES);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(MAGIC.length, headerBytes.length, true);
  out.set(headerBytes, PREFIX_BYTES);
  writeWords(out, codesAt, data);
  if (index.labels !== undefined) writeWords(out, labelsAt, index.labels);
  view.setUint32(checksumAt, crc32(out.subarray(0, checksumAt)), true);
  return out;
}

/**
 * `length` 32-bit LE words of `bytes` from `offset`: a view of the same memory when the
 * position is 4-byte aligned in its buffer and the platform is little-endian (as every
 * current browser and Node platform is), else a copy.
 */
function readWords<T extends Uint32Array | Int32Array>(
  Type: {
    new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
    new (n: number): T;
  },
  bytes: Uint8Array,
  offset: number,
  length: number,
): T {
  const at = bytes.byteOffset + offset;
  if (LITTLE_ENDIAN && at % 4 === 0) return new Type(bytes.buffer, at, length);
  const out = new Type(length);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + 4 * length));
  } else {
    const view = new DataView(bytes.buffer, at, 4 * length);
    for (let i = 0; i < length; i++) out[i] = view.getUint32(4 * i, true);
  }
  return out;
}

/**
 * Reads an `aekit-hash/2` file (see {@link serializeHashIndex} for the layout), checking its
 * checksum, or an `aekit-hash/1` file (which has none).
 *
 * The codes and labels are views of `bytes` when they are 4-byte aligned in its buffer (do
 * not modify `bytes` while the index is in use); a `bytes` that starts at an unaligned offset
 * of its buffer (e.g. a slice of a larger buffer) is copied. Header fields other than those of
 * the format are ignored.
 *
 * @param bytes - The whole file.
 * @param source - How to name the file in errors, e.g. its path.
 * @throws AekitError `InvalidHashIndex` naming `source` and what is wrong: too short, another
 *   magic, a checksum that does not match the content (`aekit-hash/2`), a header that is not UTF-8 JSON or lacks a field, a length that does not match the
 *   header (truncated or with extra bytes), non-zero padding, bits set above `bits`;
 *   `InvalidArgument` when `bytes` is not a `Uint8Array`.
 */
export function parseHashIndex(bytes: Uint8Array, source = 'index'): HashIndex {
  if (!(bytes instanceof Uint8Array)) {
    throw invalid('parseHashIndex()', 'bytes must be a Uint8Array (the whole file).');
  }
  const fail = (reason: string): Error => aekitError('InvalidHashIndex', source, reason);
  const version = VERSIONS.find(({ magic }) =>
    magic.every((b, i) => i >= bytes.length || bytes[i] === b),
  );
  if (!version) {
    const start = Array.from(bytes.subarray(0, MAGIC.length), (b) =>
      b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.',
    ).join('');
    throw fail(
      `it starts with "${start}", not "${HASH_INDEX_MAGIC}" (nor "${HASH_INDEX_MAGIC_V1}", the older format), so it is not an aekit hash index.`,
    );
  }
  const minimum = PREFIX_BYTES + (version.checksum ? CHECKSUM_BYTES : 0);
  if (bytes.length < minimum) {
    throw fail(
      `it is only ${bytes.length} bytes long, less than the magic, the header length${version.checksum ? ' and the checksum' : ''} (${minimum} bytes): it is truncated.`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  // What follows is checked against the content before the checksum.
  const size = bytes.length - (version.checksum ? CHECKSUM_BYTES : 0);
  if (version.checksum) {
    const recorded = view.getUint32(size, true);
    const computed = crc32(bytes.subarray(0, size));
    if (recorded !== computed) {
      const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
      throw fail(
        `its checksum does not match its content (CRC-32 ${hex(computed)}, recorded ${hex(recorded)}): the file was changed or cut short after it was written.`,
      );
    }
  }
  const headerLength = view.getUint32(MAGIC.length, true);
  if (PREFIX_BYTES + headerLength > size) {
    throw fail(
      `the header is ${headerLength} bytes long but only ${size - PREFIX_BYTES} bytes follow: the file is truncated.`,
    );
  }
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(
      bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLength),
    );
    header = JSON.parse(text);
  } catch (err) {
    throw fail(`the header is not UTF-8 JSON (${(err as Error).message}).`);
  }
  if (!isPlainObject(header)) throw fail('the header is not a JSON object.');
  const { format, bits, count, labels, ids, meta } = header;
  if (format !== version.format) {
    throw fail(
      `the header's format is ${show(format)}, not "${version.format}" (the format its magic "${new TextDecoder().decode(version.magic)}" announces).`,
    );
  }
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 1 || bits > MAX_CODE_BITS) {
    throw fail(`the header's bits is ${show(bits)}, not an integer from 1 to ${MAX_CODE_BITS}.`);
  }
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
    throw fail(`the header's count is ${show(count)}, not a non-negative integer.`);
  }
  if (typeof labels !== 'boolean') {
    throw fail(`the header's labels is ${show(labels)}, not true or false.`);
  }
  if (ids !== undefined) {
    if (!Array.isArray(ids) || ids.length !== count) {
      throw fail(
        `the header's ids is not an array of ${count} strings (one per code)${Array.isArray(ids) ? `: it has ${ids.length}` : ''}.`,
      );
    }
    const bad = ids.findIndex((id) => typeof id !== 'string');
    if (bad >= 0) throw fail(`id ${bad} in the header is ${show(ids[bad])}, not a string.`);
  }
  if (!isPlainObject(meta)) throw fail("the header's meta is missing or not a JSON object.");

  const codesAt = align4(PREFIX_BYTES + headerLength);
  for (let p = PREFIX_BYTES + headerLength; p < Math.min(codesAt, size); p++) {
    if (bytes[p] !== 0) throw fail(`the padding after the header (byte ${p}) is not zero.`);
  }
  const words = codeWords(bits);
  const labelsAt = codesAt + 4 * count * words;
  const expected = labelsAt + (labels ? 4 * count : 0);
  if (size !== expected) {
    const body = `${count} codes of ${bits} bits${labels ? ' and their labels' : ''}`;
    throw fail(
      size < expected
        ? `it is ${size} bytes long, but the header announces ${body}, which end at byte ${expected}: the file is truncated.`
        : `it has ${size - expected} unexpected byte(s) after the ${body} the header announces.`,
    );
  }
  const codes: PackedCodes = {
    bits,
    count,
    data: readWords(Uint32Array, bytes, codesAt, count * words),
  };
  const dirty = firstDirtyItem(codes);
  if (dirty >= 0) {
    throw fail(`the code of item ${dirty} has bits set above bit ${bits - 1}.`);
  }
  const labelArray = labels ? readWords(Int32Array, bytes, labelsAt, count) : undefined;
  return makeIndex(
    codes,
    ids === undefined ? undefined : Object.freeze(ids as string[]),
    labelArray,
    Object.freeze(meta),
  );
}
