import { describe, expect, it } from 'vitest';
import { HASH_METRICS_STREAM, hashRetrievalMetrics } from './hash-metrics.js';
import {
  codeWords,
  type PackedCodes,
  packBits,
  packedCodesFromWords,
  unpackBits,
} from './hashing.js';
import { createRng, permutation, type Rng } from './random.js';
import { expectCode } from './test-utils/index.js';

/*
 * The reference is the definition, computed naively: every query ranks every other item by
 * (distance, item number) with a full sort; distances are counted bit by bit on unpacked
 * codes. Figures are compared to 12 decimal places: the implementation sums in another order.
 */

interface Figures {
  precisionAtK: number;
  radius1Purity: { mean: number | null; sets: number; meanSize: number | null };
}

function bruteFigures(codes: PackedCodes, labels: ArrayLike<number>, k: number): Figures {
  const n = codes.count;
  const bits = Array.from({ length: n }, (_, i) => unpackBits(codes, i));
  const dist = (a: number, b: number) => {
    let d = 0;
    for (let j = 0; j < codes.bits; j++) if (bits[a]![j] !== bits[b]![j]) d++;
    return d;
  };
  let precision = 0;
  let puritySum = 0;
  let sets = 0;
  let sizeSum = 0;
  for (let q = 0; q < n; q++) {
    const others = [];
    for (let i = 0; i < n; i++) if (i !== q) others.push({ i, d: dist(q, i) });
    others.sort((a, b) => a.d - b.d || a.i - b.i);
    const top = others.slice(0, k);
    precision += top.filter((x) => labels[x.i] === labels[q]).length / k;

    const set = [q, ...others.filter((x) => x.d <= 1).map((x) => x.i)];
    if (set.length >= 2) {
      const counts = new Map<number, number>();
      for (const i of set) counts.set(labels[i]!, (counts.get(labels[i]!) ?? 0) + 1);
      let purity = 0;
      for (const c of counts.values()) purity += (c / set.length) ** 2;
      puritySum += purity;
      sets++;
      sizeSum += set.length;
    }
  }
  return {
    precisionAtK: precision / n,
    radius1Purity: {
      mean: sets === 0 ? null : puritySum / sets,
      sets,
      meanSize: sets === 0 ? null : sizeSum / sets,
    },
  };
}

/** The random baseline's codes, as documented: item i gets the code of item perm[i]. */
function permuted(codes: PackedCodes, seed: number): PackedCodes {
  const words = codeWords(codes.bits);
  const perm = permutation(codes.count, createRng(seed, HASH_METRICS_STREAM));
  const data = new Uint32Array(codes.data.length);
  for (let i = 0; i < codes.count; i++) {
    data.set(codes.data.subarray(perm[i]! * words, (perm[i]! + 1) * words), i * words);
  }
  return packedCodesFromWords(data, codes.bits);
}

function expectFigures(actual: Figures, expected: Figures): void {
  expect(actual.precisionAtK).toBeCloseTo(expected.precisionAtK, 12);
  const a = actual.radius1Purity;
  const e = expected.radius1Purity;
  expect(a.sets).toBe(e.sets);
  if (e.mean === null) {
    expect(a.mean).toBeNull();
    expect(a.meanSize).toBeNull();
  } else {
    expect(a.mean).toBeCloseTo(e.mean, 12);
    expect(a.meanSize).toBeCloseTo(e.meanSize!, 12);
  }
}

function checkAgainstBrute(
  codes: PackedCodes,
  labels: ArrayLike<number>,
  k: number,
  seed = 0,
): void {
  const result = hashRetrievalMetrics(codes, labels, { k, seed });
  const kUsed = Math.min(k, codes.count - 1);
  expect(result.k).toBe(kUsed);
  expectFigures(result, bruteFigures(codes, labels, kUsed));
  expectFigures(result.random, bruteFigures(permuted(codes, seed), labels, kUsed));
}

/** Codes from integer values (bit j of the value is bit j of the code). */
const fromInts = (values: number[], bits: number): PackedCodes =>
  packBits(
    values.flatMap((v) => Array.from({ length: bits }, (_, j) => (v >>> j) & 1)),
    bits,
  );

/**
 * Items around `centres` random codes (0 to `maxFlips` bits flipped), labelled by their
 * centre, with a share `noise` of labels replaced at random: correlated but imperfect.
 */
function clustered(
  rng: Rng,
  bits: number,
  n: number,
  centres: number,
  maxFlips: number,
  noise: number,
): { codes: PackedCodes; labels: number[] } {
  const centreBits = Array.from({ length: centres }, () =>
    Array.from({ length: bits }, () => (rng() < 0.5 ? 1 : 0)),
  );
  const values: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rng() * centres);
    const item = centreBits[c]!.slice();
    const flips = Math.floor(rng() * (maxFlips + 1));
    for (let f = 0; f < flips; f++) {
      const j = Math.floor(rng() * bits);
      item[j] = 1 - item[j]!;
    }
    values.push(...item);
    labels.push(rng() < noise ? Math.floor(rng() * centres) : c);
  }
  return { codes: packBits(values, bits), labels };
}

describe('hashRetrievalMetrics', () => {
  // Five items of 3 bits: 000 A, 000 A, 001 B, 011 A, 111 B.
  const tiny = fromInts([0b000, 0b000, 0b001, 0b011, 0b111], 3);
  const tinyLabels = [0, 0, 1, 0, 1];

  it('matches figures worked out by hand, ties broken by item number', () => {
    // k = 2. Item 0: 1 (d0), 2 (d1) -> A, B = 1/2. Item 1: 0, 2 -> 1/2. Item 2 (B): 0, 1, 3 all
    // at d1, the lowest numbers 0, 1 are kept -> A, A = 0. Item 3 (A): 2, 4 at d1 -> B, B = 0.
    // Item 4 (B): 3 (d1), 2 (d2) -> A, B = 1/2. Mean 1.5 / 5 = 0.3.
    // Radius 1: {0,1,2} twice (A A B: 5/9), {0,1,2,3} (A A B A: 10/16), {2,3,4} (B A B: 5/9),
    // {3,4} (A B: 1/2): mean (3 * 5/9 + 5/8 + 1/2) / 5 = 67/120, sizes (3+3+4+3+2)/5 = 3.
    const expected = {
      precisionAtK: 0.3,
      radius1Purity: { mean: 67 / 120, sets: 5, meanSize: 3 },
    };
    expectFigures(bruteFigures(tiny, tinyLabels, 2), expected);
    const result = hashRetrievalMetrics(tiny, tinyLabels, { k: 2 });
    expectFigures(result, expected);
    expect(result.k).toBe(2);
    // k = 1: items 0, 1 find each other (A, A), item 2 finds 0 (A != B), item 3 finds 2,
    // item 4 finds 3: 2 / 5.
    expect(hashRetrievalMetrics(tiny, tinyLabels, { k: 1 }).precisionAtK).toBeCloseTo(0.4, 12);
  });

  it('lowers k to count - 1 and reports the k it used', () => {
    const result = hashRetrievalMetrics(tiny, tinyLabels, { k: 10 });
    expect(result.k).toBe(4);
    // With every other item ranked, precision is the share of same-label others: A items
    // see 2 of 4, B items see 1 of 4: (3 * 2/4 + 2 * 1/4) / 5 = 0.4.
    expect(result.precisionAtK).toBeCloseTo(0.4, 12);
    checkAgainstBrute(tiny, tinyLabels, 10);
  });

  it('agrees with the brute force on small hand-made data, every k', () => {
    // Duplicated codes (ties at distance 0), and a label pattern that is not by code.
    const codes = fromInts([5, 5, 5, 4, 7, 5, 0, 4, 5, 12, 13, 5, 4, 4, 15], 4);
    const labels = [1, 2, 1, 1, 2, 2, 1, 1, 1, 3, 3, 2, 1, 2, 3];
    for (let k = 1; k <= 15; k++) checkAgainstBrute(codes, labels, k, k);
  });

  const configs = [
    {
      name: 'many duplicates (k-th neighbour in the own bucket)',
      bits: 4,
      n: 300,
      centres: 3,
      flips: 1,
    },
    { name: 'small buckets, ties at the cut-off', bits: 8, n: 250, centres: 4, flips: 3 },
    { name: '30 bits', bits: 30, n: 300, centres: 6, flips: 4 },
    { name: '32 bits', bits: 32, n: 300, centres: 6, flips: 4 },
    { name: 'two words', bits: 40, n: 250, centres: 5, flips: 5 },
    { name: 'three words', bits: 70, n: 150, centres: 3, flips: 6 },
  ];
  for (const { name, bits, n, centres, flips } of configs) {
    it(`agrees with the brute force: ${name}`, () => {
      const rng = createRng(bits * 7 + n, 'metrics');
      const { codes, labels } = clustered(rng, bits, n, centres, flips, 0.2);
      for (const k of [1, 3, 10, 40]) checkAgainstBrute(codes, labels, k, k);
    });
  }

  it('agrees with the brute force on uniformly random 30-bit codes (all distinct)', () => {
    const rng = createRng(8, 'uniform');
    const n = 700;
    const codes = packedCodesFromWords(
      Uint32Array.from({ length: n }, () => Math.floor(rng() * 2 ** 30)),
      30,
    );
    const labels = Array.from({ length: n }, () => Math.floor(rng() * 5));
    checkAgainstBrute(codes, labels, 10, 3);
  });

  it('agrees with the brute force where neighbourhoods change size abruptly', () => {
    // A dense cluster, then isolated far codes: the distance of the k-th neighbour jumps
    // from one distinct code to the next.
    const rng = createRng(9, 'jumps');
    const values: number[] = [];
    for (let i = 0; i < 60; i++) values.push(i % 3);
    for (let i = 0; i < 40; i++) values.push(Math.floor(rng() * 2 ** 24));
    const codes = fromInts(values, 24);
    const labels = values.map((v) => v % 2);
    for (const k of [2, 5, 30, 70]) checkAgainstBrute(codes, labels, k);
  });

  it('takes labels as any numbers compared for equality', () => {
    const codes = fromInts([1, 1, 2, 3, 3, 3], 2);
    const labels = [-7, 2.5, -7, 2.5, 100, 100];
    checkAgainstBrute(codes, labels, 2);
    const dense = [0, 1, 0, 1, 2, 2];
    expect(hashRetrievalMetrics(codes, labels, { k: 2 })).toEqual(
      hashRetrievalMetrics(codes, dense, { k: 2 }),
    );
  });

  it('gives 1 for codes that are the labels, and about the class frequency at random', () => {
    // Four classes of 250, interleaved; code = label written twice (bits 0-3 and 4-7), so two
    // classes are always at least 2 bits apart and a radius-1 set is exactly one class.
    const n = 1000;
    const labels = Array.from({ length: n }, (_, i) => i % 4);
    const codes = fromInts(
      labels.map((c) => c | (c << 4)),
      8,
    );
    const result = hashRetrievalMetrics(codes, labels, { seed: 5 });
    expect(result.k).toBe(10);
    expect(result.precisionAtK).toBe(1);
    expect(result.radius1Purity).toEqual({ mean: 1, sets: n, meanSize: 250 });
    // The baseline keeps the four buckets of 250, with the labels mixed: precision and
    // purity near the chance level 1/4 (purity's expectation is 1/4 + 3/4 / 250).
    expect(result.random.precisionAtK).toBeGreaterThan(0.17);
    expect(result.random.precisionAtK).toBeLessThan(0.33);
    expect(result.random.radius1Purity.mean).toBeGreaterThan(0.245);
    expect(result.random.radius1Purity.mean).toBeLessThan(0.27);
    expect(result.random.radius1Purity.sets).toBe(n);
    expect(result.random.radius1Purity.meanSize).toBe(250);
  });

  it('gives about the sum of squared class frequencies at random with unequal classes', () => {
    // Classes of 70%, 20% and 10%: a query of class c finds its class with probability about
    // p_c, so the mean over queries is about 0.49 + 0.04 + 0.01 = 0.54.
    const n = 2000;
    const labels = Array.from({ length: n }, (_, i) => (i % 10 < 7 ? 0 : i % 10 < 9 ? 1 : 2));
    const codes = fromInts(
      labels.map((c) => c * 0b11),
      4,
    );
    const result = hashRetrievalMetrics(codes, labels, { k: 50, seed: 1 });
    expect(result.precisionAtK).toBe(1);
    expect(result.random.precisionAtK).toBeGreaterThan(0.49);
    expect(result.random.precisionAtK).toBeLessThan(0.59);
    expect(result.random.radius1Purity.mean).toBeCloseTo(0.54, 1);
  });

  it('reports no purity sets when every code is alone in its radius-1 ball', () => {
    const codes = fromInts([0b0000, 0b0011, 0b1100, 0b1111], 4);
    const result = hashRetrievalMetrics(codes, [0, 0, 1, 1], { k: 1 });
    expect(result.radius1Purity).toEqual({ mean: null, sets: 0, meanSize: null });
    expect(result.random.radius1Purity).toEqual({ mean: null, sets: 0, meanSize: null });
    // Item 0 (0000): 0011 and 1100 at d2, the lower number 1 wins (same label). Item 1 (0011):
    // 0000 and 1111 at d2 -> 0 (same). Item 2 (1100): 0 (other). Item 3 (1111): 1 (other).
    expect(result.precisionAtK).toBe(0.5);
  });

  it('is reproducible for a seed and changes with it', () => {
    const { codes, labels } = clustered(createRng(10, 'seed'), 12, 400, 5, 3, 0.1);
    const a = hashRetrievalMetrics(codes, labels, { seed: 1 });
    expect(hashRetrievalMetrics(codes, labels, { seed: 1 })).toEqual(a);
    const b = hashRetrievalMetrics(codes, labels, { seed: 2 });
    expect(b.precisionAtK).toBe(a.precisionAtK);
    expect(b.random.precisionAtK).not.toBe(a.random.precisionAtK);
  });

  it('rejects bad arguments', () => {
    const codes = fromInts([1, 2, 3], 2);
    const cases: [() => unknown, string][] = [
      [() => hashRetrievalMetrics(codes, [1, 2]), 'one label per code (3), got 2'],
      [() => hashRetrievalMetrics(fromInts([1], 2), [1]), 'at least 2 items, got 1'],
      [() => hashRetrievalMetrics(codes, [1, 2, Number.NaN]), 'label 2 is NaN'],
      [() => hashRetrievalMetrics(codes, [1, 2, 3], { k: 0 }), 'k must be a positive integer'],
      [() => hashRetrievalMetrics(codes, [1, 2, 3], { k: 1.5 }), 'k must be a positive integer'],
      [
        () => hashRetrievalMetrics(codes, [1, 2, 3], { seed: Number.NaN }),
        'seed must be a finite number',
      ],
      [
        () => hashRetrievalMetrics({ bits: 2, count: 3, data: new Uint32Array(2) }, [1, 2, 3]),
        'data holds 2 words',
      ],
    ];
    for (const [fn, message] of cases) {
      expect(expectCode(fn, 'InvalidArgument').message).toContain(message);
    }
  });
});
