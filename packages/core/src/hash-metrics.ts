/**
 * Retrieval quality of semantic-hashing codes: how well items that share or nearly share a
 * code share a label, compared with the same codes given to the items at random.
 */
import { aekitError } from './errors.js';
import { codeWords, type PackedCodes, popcount32, validatePackedCodes } from './hashing.js';
import { createRng, permutation } from './random.js';

/**
 * The stream name of the random baseline's permutation: the codes of the baseline are
 * `codes` with item `i` given the code of item `permutation(count, createRng(seed, HASH_METRICS_STREAM))[i]`.
 */
export const HASH_METRICS_STREAM = 'hash-metrics';

/** Purity of the radius-1 neighbourhoods (see {@link hashRetrievalMetrics}). */
export interface RadiusPurity {
  /** Mean Gini purity of the counted sets; `null` when no set has 2 items or more. */
  readonly mean: number | null;
  /** Number of counted sets: queries whose neighbourhood holds at least 2 items. */
  readonly sets: number;
  /** Mean number of items in a counted set (the query included); `null` when none. */
  readonly meanSize: number | null;
}

/** The figures {@link hashRetrievalMetrics} reports for one assignment of codes to items. */
export interface HashRetrievalFigures {
  /** Mean over queries of the share of the `k` nearest other items that have the query's label. */
  readonly precisionAtK: number;
  /** Label purity of the sets of items within Hamming distance 1 of each query. */
  readonly radius1Purity: RadiusPurity;
}

/** Result of {@link hashRetrievalMetrics}. */
export interface HashRetrievalMetrics extends HashRetrievalFigures {
  /** The `k` of precision@k actually used: the one asked for, at most `count - 1`. */
  readonly k: number;
  /** The same figures for the same codes dealt to the items at random: the chance level. */
  readonly random: HashRetrievalFigures;
}

/** Options of {@link hashRetrievalMetrics}. */
export interface HashRetrievalOptions {
  /** Number of neighbours of precision@k, a positive integer (default 10). */
  readonly k?: number;
  /** Seed of the random baseline's permutation (default 0). */
  readonly seed?: number;
}

const invalid = (what: string): Error =>
  aekitError('InvalidArgument', `hashRetrievalMetrics(): ${what}`);

/**
 * Items grouped by code. Group `g` has the unique code `codes[g * words ..]` and the items
 * `members[start[g] .. start[g + 1])` in increasing order; `labelIds`/`labelCounts` from
 * `labelStart[g]` to `labelStart[g + 1]` say how many of them have each (dense) label.
 */
interface Groups {
  readonly size: number;
  readonly codes: Uint32Array;
  readonly start: Uint32Array;
  readonly members: Uint32Array;
  readonly labelStart: Uint32Array;
  readonly labelIds: Uint32Array;
  readonly labelCounts: Uint32Array;
}

function groupByCode(
  data: Uint32Array,
  words: number,
  n: number,
  labels: Uint32Array,
  labelCount: number,
): Groups {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  // Sorted by code, then by item number, so each group's members come out in increasing order.
  if (words === 1) order.sort((a, b) => data[a]! - data[b]! || a - b);
  else {
    order.sort((a, b) => {
      for (let w = 0; w < words; w++) {
        const diff = data[a * words + w]! - data[b * words + w]!;
        if (diff !== 0) return diff;
      }
      return a - b;
    });
  }
  const sameCode = (a: number, b: number): boolean => {
    for (let w = 0; w < words; w++) if (data[a * words + w] !== data[b * words + w]) return false;
    return true;
  };
  const starts: number[] = [];
  for (let p = 0; p < n; p++) if (p === 0 || !sameCode(order[p - 1]!, order[p]!)) starts.push(p);
  const size = starts.length;
  starts.push(n);
  const codes = new Uint32Array(size * words);
  for (let g = 0; g < size; g++) {
    const item = order[starts[g]!]!;
    codes.set(data.subarray(item * words, (item + 1) * words), g * words);
  }

  const counts = new Uint32Array(labelCount);
  const ids: number[] = [];
  const tallies: number[] = [];
  const labelStart = new Uint32Array(size + 1);
  for (let g = 0; g < size; g++) {
    const first = ids.length;
    for (let p = starts[g]!; p < starts[g + 1]!; p++) {
      const label = labels[order[p]!]!;
      if (counts[label]!++ === 0) ids.push(label);
    }
    for (let t = first; t < ids.length; t++) {
      tallies.push(counts[ids[t]!]!);
      counts[ids[t]!] = 0;
    }
    labelStart[g + 1] = ids.length;
  }
  return {
    size,
    codes,
    start: Uint32Array.from(starts),
    members: order,
    labelStart,
    labelIds: Uint32Array.from(ids),
    labelCounts: Uint32Array.from(tallies),
  };
}

/**
 * Collects the groups whose code is within distance `limit` of group `a`'s code into
 * `found`/`foundDist` and returns how many there are. The hot loop of the metrics: a XOR, a
 * popcount and a rarely taken branch per pair of distinct codes. Multi-word codes stop adding
 * words once the distance is over the limit.
 */
function collectWithin(
  codes: Uint32Array,
  words: number,
  groups: number,
  a: number,
  limit: number,
  found: Uint32Array,
  foundDist: Uint16Array,
): number {
  let c = 0;
  if (words === 1) {
    const code = codes[a]!;
    for (let b = 0; b < groups; b++) {
      const d = popcount32(code ^ codes[b]!);
      if (d <= limit) {
        found[c] = b;
        foundDist[c++] = d;
      }
    }
    return c;
  }
  const base = a * words;
  for (let b = 0, at = 0; b < groups; b++, at += words) {
    let d = 0;
    for (let w = 0; w < words && d <= limit; w++)
      d += popcount32(codes[base + w]! ^ codes[at + w]!);
    if (d <= limit) {
      found[c] = b;
      foundDist[c++] = d;
    }
  }
  return c;
}

/**
 * How far beyond the previous group's cut-off distance the next group looks first (see
 * {@link figures}). Larger: fewer groups looked at twice, longer candidate lists.
 */
const CUTOFF_SLACK = 1;

/**
 * The figures for one assignment of codes to items. Exact.
 *
 * Items that share a code have the same neighbourhood (up to the query itself, left out, and
 * the tie at the cut-off of precision@k, both handled below), so the work is per distinct
 * code ("group"): for each group, the groups near it. Only groups within the cut-off distance
 * of the k-th neighbour (and within distance 1, for purity) matter, so each group first
 * collects the groups within `limit` = the previous group's cut-off + `CUTOFF_SLACK`;
 * when they hold fewer than k other items, it collects again with no limit. The collection
 * is O(u · words) per group for u groups, O(u² · words) in all, with no histogram or store in
 * the loop for the far groups (most of them), which is what keeps 10,000 distinct codes fast.
 */
function figures(
  data: Uint32Array,
  bits: number,
  n: number,
  labels: Uint32Array,
  labelCount: number,
  k: number,
): HashRetrievalFigures {
  const words = codeWords(bits);
  const groups = groupByCode(data, words, n, labels, labelCount);
  const { size: u, codes, start, members, labelStart, labelIds, labelCounts } = groups;

  const near = new Uint32Array(u); // groups within the limit of the current group
  const nearDist = new Uint16Array(u); // and their distances
  const hist = new Float64Array(bits + 1); // number of near items at each distance
  const tally = new Float64Array(labelCount); // label counts of a set of groups
  const touched = new Uint32Array(labelCount); // labels with a non-zero tally
  let touchedCount = 0;
  const tieTally = new Float64Array(labelCount);
  const tieItems = new Uint32Array(n);

  const addGroup = (g: number): void => {
    for (let t = labelStart[g]!; t < labelStart[g + 1]!; t++) {
      const label = labelIds[t]!;
      if (tally[label] === 0) touched[touchedCount++] = label;
      tally[label]! += labelCounts[t]!;
    }
  };
  const clearTally = (): void => {
    for (let t = 0; t < touchedCount; t++) tally[touched[t]!] = 0;
    touchedCount = 0;
  };

  let sameSum = 0; // over queries: neighbours among the k nearest that share its label
  let puritySum = 0;
  let purityWeight = 0; // number of counted sets
  let setSizeSum = 0;
  let limit = 1;

  for (let a = 0; a < u; a++) {
    let nearCount = 0;
    let within = 0; // items within the limit, the query included
    for (let attempt = 0; attempt < 2; attempt++) {
      nearCount = collectWithin(codes, words, u, a, limit, near, nearDist);
      hist.fill(0);
      for (let t = 0; t < nearCount; t++) {
        const g = near[t]!;
        hist[nearDist[t]!]! += start[g + 1]! - start[g]!;
      }
      within = 0;
      for (let d = 0; d <= limit; d++) within += hist[d]!;
      if (within > k || limit >= bits) break;
      limit = bits; // too few: look at every group
    }
    const first = start[a]!;
    const m = start[a + 1]! - first; // the queries of this group

    // Radius-1 purity: the same set (this group and those one bit away) for all m queries.
    const setSize = hist[0]! + hist[1]!;
    if (setSize >= 2) {
      for (let t = 0; t < nearCount; t++) if (nearDist[t]! <= 1) addGroup(near[t]!);
      let squares = 0;
      for (let t = 0; t < touchedCount; t++) squares += tally[touched[t]!]! ** 2;
      clearTally();
      puritySum += (m * squares) / (setSize * setSize);
      purityWeight += m;
      setSizeSum += m * setSize;
    }

    // Precision@k. Every query of the group sees its m - 1 group mates at distance 0, then the
    // same groups at each distance; `cutoff` is the distance of the k-th neighbour and `take`
    // the number of neighbours kept at that distance (the lowest item numbers).
    hist[0]! -= 1;
    let before = 0;
    let cutoff = 0;
    while (before + hist[cutoff]! < k) before += hist[cutoff++]!;
    const take = k - before;
    limit = Math.min(bits, Math.max(1, cutoff + CUTOFF_SLACK));

    if (cutoff === 0) {
      // All k neighbours share the query's code: the k first group mates in item order,
      // skipping the query itself. Query j (0-based in the group) sees members 0..k-1 when
      // j >= k, and members 0..k without itself when j < k.
      for (let p = first; p < first + k; p++) {
        const label = labels[members[p]!]!;
        if (tally[label] === 0) touched[touchedCount++] = label;
        tally[label]! += 1;
      }
      const next = labels[members[first + k]!]!;
      for (let j = 0; j < m; j++) {
        const label = labels[members[first + j]!]!;
        sameSum += j >= k ? tally[label]! : tally[label]! + (next === label ? 1 : 0) - 1;
      }
      clearTally();
      continue;
    }

    // Neighbours closer than the cut-off: every group at distance < cutoff (this one
    // included, so the query is subtracted below). At the cut-off: the `take` lowest item
    // numbers among the groups at that distance, the same for every query of the group.
    let tieCount = 0;
    for (let t = 0; t < nearCount; t++) {
      const g = near[t]!;
      const d = nearDist[t]!;
      if (d < cutoff) addGroup(g);
      else if (d === cutoff) {
        tieItems.set(members.subarray(start[g]!, start[g + 1]!), tieCount);
        tieCount += start[g + 1]! - start[g]!;
      }
    }
    const tie = tieItems.subarray(0, tieCount);
    if (tieCount > take) tie.sort();
    for (let t = 0; t < take; t++) tieTally[labels[tie[t]!]!]! += 1;
    for (let j = 0; j < m; j++) {
      const label = labels[members[first + j]!]!;
      sameSum += tally[label]! - 1 + tieTally[label]!;
    }
    for (let t = 0; t < take; t++) tieTally[labels[tie[t]!]!] = 0;
    clearTally();
  }

  return {
    precisionAtK: sameSum / (n * k),
    radius1Purity: {
      mean: purityWeight === 0 ? null : puritySum / purityWeight,
      sets: purityWeight,
      meanSize: purityWeight === 0 ? null : setSizeSum / purityWeight,
    },
  };
}

/**
 * Retrieval quality of binary codes, with the chance level of the same codes.
 *
 * - **precision@k**: each item in turn is the query; the other items (the query left out)
 *   are ranked by Hamming distance to it, ties broken by item number, and precision is the
 *   share of the `k` first that have the query's label. Reported: the mean over queries. With
 *   fewer than `k` other items, `k` is lowered to `count - 1` (and reported as `k`).
 * - **radius-1 purity**: for each query, the set of items (the query included) whose code is
 *   within Hamming distance 1 of its code. Only sets of at least 2 items count (a lone item is
 *   trivially pure). The Gini purity of a set is the sum over labels of (share of the
 *   label)²: 1 for a set of one label, 1/L for L labels in equal shares. Reported: the mean
 *   purity over counted sets (one per query, so a crowded bucket weighs as much as its
 *   items), how many sets counted, and their mean size.
 * - **random**: the same figures after dealing the same codes to the items in a seeded random
 *   order: item `i` gets the code of item `permutation(count, createRng(seed, 'hash-metrics'))[i]`.
 *   Permuting the codes, rather than drawing fresh random bits, keeps every bucket's size and
 *   the distances between buckets, and breaks only the link between an item's code and its
 *   content; so it is the chance level of these very codes. Codes that put everything in a
 *   few large buckets do well on purity and precision only as far as the labels' frequencies
 *   allow, and the baseline shows that level (about the sum of squared class frequencies for
 *   purity, about the class frequency for precision).
 *
 * The figures are exact. Items that share a code have the same neighbourhood, so the work is
 * on distances between distinct codes: O(u² · words) for u distinct codes, plus a sort of the
 * items. 10,000 items of 30 bits, all codes distinct (the worst case), take about half a
 * second for both sets of figures; trained codes, which share codes, take less.
 *
 * @param codes - `count` codes, `count >= 2`.
 * @param labels - One label per item; any finite numbers, compared for equality.
 * @throws AekitError `InvalidArgument` for malformed codes, fewer than 2 items, a labels length
 *   other than `count`, a label that is not a finite number, a `k` that is not a positive
 *   integer, or a `seed` that is not a finite number.
 */
export function hashRetrievalMetrics(
  codes: PackedCodes,
  labels: ArrayLike<number>,
  options: HashRetrievalOptions = {},
): HashRetrievalMetrics {
  validatePackedCodes(codes, 'hashRetrievalMetrics(): codes');
  const { k = 10, seed = 0 } = options;
  const n = codes.count;
  if (n < 2) throw invalid(`retrieval needs at least 2 items, got ${n}.`);
  if (labels === null || typeof labels !== 'object' || labels.length !== n) {
    throw invalid(`there must be one label per code (${n}), got ${labels?.length ?? labels}.`);
  }
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) {
    throw invalid(`k must be a positive integer, got ${k}.`);
  }
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw invalid(`seed must be a finite number, got ${seed}.`);
  }
  const dense = new Uint32Array(n);
  const ids = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const label = labels[i];
    if (typeof label !== 'number' || !Number.isFinite(label)) {
      throw invalid(`label ${i} is ${label}, not a finite number.`);
    }
    let id = ids.get(label);
    if (id === undefined) {
      id = ids.size;
      ids.set(label, id);
    }
    dense[i] = id;
  }
  const kUsed = Math.min(k, n - 1);
  const { bits, data } = codes;
  const words = codeWords(bits);

  const order = permutation(n, createRng(seed, HASH_METRICS_STREAM));
  const shuffled = new Uint32Array(n * words);
  for (let i = 0; i < n; i++) {
    const from = order[i]!;
    shuffled.set(data.subarray(from * words, (from + 1) * words), i * words);
  }

  return {
    ...figures(data, bits, n, dense, ids.size, kUsed),
    k: kUsed,
    random: figures(shuffled, bits, n, dense, ids.size, kUsed),
  };
}
