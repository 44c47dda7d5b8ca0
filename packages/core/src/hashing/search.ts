/**
 * An index of packed codes and its Hamming-distance search: every item within a radius
 * (by enumerating the Hamming ball or by scanning), or the k nearest.
 *
 * What it exports beyond `@aekit/core/hashing` (`makeIndex`, `isPlainObject`) serves the
 * other files of `hashing/` only.
 */
import {
  checkCount,
  codeAt,
  codeWords,
  hammingBallSize,
  invalid,
  type PackedCodes,
  parseCode,
  popcount32,
  show,
  unusedMask,
  validatePackedCodes,
} from './codes.js';

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
export function makeIndex(
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

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
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
