import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AekitErrors } from './errors.js';
import {
  codeAt,
  codeWords,
  crc32,
  createHashIndex,
  formatCode,
  HASH_INDEX_FORMAT,
  HASH_INDEX_FORMAT_V1,
  HASH_INDEX_MAGIC,
  HASH_INDEX_MAGIC_V1,
  type HashIndex,
  type HashSearchResult,
  hammingBallSize,
  hammingDistance,
  MAX_CODE_BITS,
  type PackedCodes,
  packBits,
  packedCodesFromWords,
  parseCode,
  parseHashIndex,
  popcount32,
  searchNearest,
  searchRadius,
  searchStrategy,
  serializeHashIndex,
  unpackBits,
} from './hashing.js';
import { createRng, type Rng } from './random.js';
import { expectCode } from './test-utils/index.js';

/*
 * The reference implementations below read codes bit by bit (no popcount, no packing
 * arithmetic beyond the documented layout), so they check the fast paths independently.
 */

/** Bit j of item i, straight from the documented layout. */
function bitOf(codes: PackedCodes, i: number, j: number): number {
  const words = Math.ceil(codes.bits / 32);
  return (codes.data[i * words + Math.floor(j / 32)]! >>> (j % 32)) & 1;
}

function bruteDistance(codes: PackedCodes, i: number, query: Uint32Array): number {
  let d = 0;
  for (let j = 0; j < codes.bits; j++) {
    if (bitOf(codes, i, j) !== ((query[Math.floor(j / 32)]! >>> (j % 32)) & 1)) d++;
  }
  return d;
}

/** Every item with its distance, sorted by distance then item number. */
function bruteRanking(codes: PackedCodes, query: Uint32Array): { i: number; d: number }[] {
  const all = Array.from({ length: codes.count }, (_, i) => ({
    i,
    d: bruteDistance(codes, i, query),
  }));
  return all.sort((a, b) => a.d - b.d || a.i - b.i);
}

function asPairs(result: HashSearchResult): { i: number; d: number }[] {
  expect(result.indices.length).toBe(result.distances.length);
  return Array.from(result.indices, (i, p) => ({ i, d: result.distances[p]! }));
}

/** Random 0/1 values for `count` codes of `bits` bits. */
function randomBits(rng: Rng, count: number, bits: number): number[] {
  return Array.from({ length: count * bits }, () => (rng() < 0.5 ? 1 : 0));
}

/**
 * Codes around a few random centres, each item its centre with 0 to `maxFlips` random bits
 * flipped: so radius searches find many items, with many ties and duplicate codes.
 */
function clusteredCodes(
  rng: Rng,
  bits: number,
  count: number,
  centres: number,
  maxFlips: number,
): PackedCodes {
  const centreBits = Array.from({ length: centres }, () => randomBits(rng, 1, bits));
  const values: number[] = [];
  for (let i = 0; i < count; i++) {
    const item = centreBits[Math.floor(rng() * centres)]!.slice();
    const flips = Math.floor(rng() * (maxFlips + 1));
    for (let f = 0; f < flips; f++) {
      const j = Math.floor(rng() * bits);
      item[j] = 1 - item[j]!;
    }
    values.push(...item);
  }
  return packBits(values, bits);
}

describe('the module', () => {
  it('imports nothing but its own files and errors.js, and no Node API (browsers load it through an import map)', () => {
    const allowed: Record<string, string[]> = {
      './hashing.ts': ['./hashing/codes.js', './hashing/search.js', './hashing/format.js'],
      './hashing/codes.ts': ['../errors.js'],
      './hashing/search.ts': ['./codes.js'],
      './hashing/format.ts': ['../errors.js', './codes.js', './search.js'],
    };
    for (const [file, expected] of Object.entries(allowed)) {
      const source = readFileSync(new URL(file, import.meta.url), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '') // comments may mention Buffer
        .replace(/\/\/.*$/gm, '');
      const imports = [...source.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+'([^']+)'/gm)].map(
        (m) => m[1],
      );
      expect(imports.sort(), file).toEqual(expected.sort());
      expect(source, file).not.toMatch(/\bimport\s*\(|\brequire\s*\(|\bBuffer\b|\bprocess\.|node:/);
    }
  });
});

describe('codeWords', () => {
  it('is ceil(bits / 32)', () => {
    expect([1, 30, 32, 33, 64, 65, 1024].map(codeWords)).toEqual([1, 1, 1, 2, 2, 3, 32]);
  });

  it('rejects bits outside 1..1024 and non-integers', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, MAX_CODE_BITS + 1]) {
      const err = expectCode(() => codeWords(bad), 'InvalidArgument');
      expect(err.message).toContain('integer from 1 to 1024');
    }
  });
});

describe('packBits', () => {
  it('lays out 30-bit codes one word each, least significant bit first', () => {
    const values = new Array(60).fill(0);
    values[0] = 1; // item 0, bit 0
    values[29] = 0.9; // item 0, bit 29
    values[30 + 5] = 0.7; // item 1, bit 5
    const codes = packBits(values, 30);
    expect(codes.bits).toBe(30);
    expect(codes.count).toBe(2);
    expect(Array.from(codes.data)).toEqual([(1 | (1 << 29)) >>> 0, 1 << 5]);
  });

  it('uses the top bit of the word for bit 31 of 32-bit codes', () => {
    const values = new Array(64).fill(0);
    values[31] = 1;
    values[32 + 0] = 1;
    values[32 + 16] = 1;
    expect(Array.from(packBits(values, 32).data)).toEqual([0x80000000, 0x00010001]);
  });

  it('puts bit 32 of 33-bit codes in a second word, unused bits zero', () => {
    const values = new Array(66).fill(0);
    values[32] = 1; // item 0: bit 32 only
    values[33 + 0] = 1; // item 1: bits 0 and 31
    values[33 + 31] = 1;
    const codes = packBits(values, 33);
    expect(codes.count).toBe(2);
    expect(Array.from(codes.data)).toEqual([0, 1, 0x80000001, 0]);
  });

  it('fills both words of 64-bit codes', () => {
    const values = new Array(64).fill(0);
    values[0] = 1;
    values[63] = 1;
    values[40] = 1;
    expect(Array.from(packBits(values, 64).data)).toEqual([1, (0x80000000 | (1 << 8)) >>> 0]);
  });

  it('sets a bit only for values strictly greater than 0.5, like ONNX Greater', () => {
    const codes = packBits([0.5, 0.5000001, 1, 0, Number.NaN, -1, 2, 0.49999], 8);
    expect(Array.from(unpackBits(codes, 0))).toEqual([0, 1, 1, 0, 0, 0, 1, 0]);
  });

  it('accepts typed arrays and empty input', () => {
    expect(packBits(Float32Array.from([0.9, 0.1, 0.6]), 3).data[0]).toBe(0b101);
    const empty = packBits([], 7);
    expect(empty.count).toBe(0);
    expect(empty.data.length).toBe(0);
  });

  it('rejects a length that is not a multiple of bits, and bad bits', () => {
    const err = expectCode(() => packBits([1, 0, 1], 2), 'InvalidArgument');
    expect(err.message).toContain('3 values is not a whole number of 2-bit codes');
    expectCode(() => packBits([1], 0), 'InvalidArgument');
    expectCode(() => packBits(new Array(1025).fill(0), 1025), 'InvalidArgument');
  });

  it('round-trips with unpackBits for 30, 32, 33 and 64 bits', () => {
    const rng = createRng(1, 'pack');
    for (const bits of [1, 30, 32, 33, 64, 95]) {
      const values = randomBits(rng, 5, bits);
      const codes = packBits(values, bits);
      expect(codes.data.length).toBe(5 * codeWords(bits));
      for (let i = 0; i < 5; i++) {
        expect(Array.from(unpackBits(codes, i))).toEqual(values.slice(i * bits, (i + 1) * bits));
        for (let j = 0; j < bits; j++) expect(bitOf(codes, i, j)).toBe(values[i * bits + j]);
      }
    }
  });
});

describe('packedCodesFromWords and codeAt', () => {
  it('wraps words without copying and views one code', () => {
    const data = new Uint32Array([1, 2, 3, 4, 5, 6]);
    const codes = packedCodesFromWords(data, 40);
    expect(codes.count).toBe(3);
    expect(codes.data).toBe(data);
    const one = codeAt(codes, 1);
    expect(Array.from(one)).toEqual([3, 4]);
    expect(one.buffer).toBe(data.buffer);
  });

  it('rejects lengths that are not whole codes and unused bits that are set', () => {
    expectCode(() => packedCodesFromWords(new Uint32Array(3), 40), 'InvalidArgument');
    const err = expectCode(
      () => packedCodesFromWords(new Uint32Array([0, 0, 0, 0x100]), 40),
      'InvalidArgument',
    );
    expect(err.message).toContain('item 1 has bits set above bit 39');
    expectCode(() => packedCodesFromWords(new Uint32Array([1 << 30]), 30), 'InvalidArgument');
    expect(packedCodesFromWords(new Uint32Array([(1 << 29) >>> 0]), 30).count).toBe(1);
  });

  it('rejects items out of range', () => {
    const codes = packBits([1, 0, 0, 1], 2);
    for (const bad of [-1, 2, 0.5]) {
      expectCode(() => codeAt(codes, bad), 'InvalidArgument');
      expectCode(() => unpackBits(codes, bad), 'InvalidArgument');
      expectCode(() => formatCode(codes, bad), 'InvalidArgument');
    }
  });
});

describe('formatCode and parseCode', () => {
  it('writes most significant digit first, zero-padded to ceil(bits / 4) digits', () => {
    const words = (bits: number, data: number[]) =>
      packedCodesFromWords(new Uint32Array(data), bits);
    expect(formatCode(words(30, [1 << 29]), 0)).toBe('20000000');
    expect(formatCode(words(30, [0x2b]), 0)).toBe('0000002b');
    expect(formatCode(words(32, [0xdeadbeef]), 0)).toBe('deadbeef');
    expect(formatCode(words(33, [0, 1]), 0)).toBe('100000000');
    expect(formatCode(words(33, [0xf, 0]), 0)).toBe('00000000f');
    expect(formatCode(words(64, [0x89abcdef, 0x01234567]), 0)).toBe('0123456789abcdef');
    expect(formatCode(words(4, [9]), 0)).toBe('9');
    expect(formatCode(words(5, [0x1f]), 0)).toBe('1f');
  });

  it('reads back what it writes, with or without 0x, any case', () => {
    const rng = createRng(2, 'format');
    for (const bits of [1, 3, 30, 32, 33, 64, 100, 1024]) {
      const codes = packBits(randomBits(rng, 4, bits), bits);
      for (let i = 0; i < codes.count; i++) {
        const hex = formatCode(codes, i);
        expect(hex).toHaveLength(Math.ceil(bits / 4));
        expect(Array.from(parseCode(hex, bits))).toEqual(Array.from(codeAt(codes, i)));
        expect(Array.from(parseCode(`0x${hex.toUpperCase()}`, bits))).toEqual(
          Array.from(codeAt(codes, i)),
        );
      }
    }
  });

  it('accepts short codes and extra leading zeros', () => {
    expect(Array.from(parseCode('1', 30))).toEqual([1]);
    expect(Array.from(parseCode('0000000000003', 30))).toEqual([3]);
    expect(Array.from(parseCode('0X1', 33))).toEqual([1, 0]);
    expect(Array.from(parseCode('100000000', 33))).toEqual([0, 1]);
  });

  it('rejects bits at or above the code length', () => {
    const err = expectCode(() => parseCode('40000000', 30), 'InvalidArgument');
    expect(err.message).toContain('has bit 30 set, but a 30-bit code has only bits 0 to 29');
    expectCode(() => parseCode('200000000', 33), 'InvalidArgument');
    expectCode(() => parseCode('10', 4), 'InvalidArgument');
    expect(Array.from(parseCode('f', 4))).toEqual([15]);
  });

  it('rejects empty strings and characters that are not hex digits', () => {
    expect(expectCode(() => parseCode('', 8), 'InvalidArgument').message).toContain(
      'no hexadecimal digits',
    );
    expectCode(() => parseCode('0x', 8), 'InvalidArgument');
    const err = expectCode(() => parseCode('0x1g', 8), 'InvalidArgument');
    expect(err.message).toContain('"g" at position 3 is not a hex digit');
    expectCode(() => parseCode(' 1', 8), 'InvalidArgument');
    expectCode(() => parseCode('-1', 8), 'InvalidArgument');
  });
});

describe('popcount32 and hammingDistance', () => {
  it('counts set bits, reading the word as unsigned', () => {
    expect(popcount32(0)).toBe(0);
    expect(popcount32(1)).toBe(1);
    expect(popcount32(0xffffffff)).toBe(32);
    expect(popcount32(-1)).toBe(32);
    expect(popcount32(0x80000000)).toBe(1);
    expect(popcount32(0x55555555)).toBe(16);
    const rng = createRng(3, 'popcount');
    for (let t = 0; t < 1000; t++) {
      const x = Math.floor(rng() * 2 ** 32);
      let naive = 0;
      for (let j = 0; j < 32; j++) naive += Math.floor(x / 2 ** j) % 2;
      expect(popcount32(x)).toBe(naive);
    }
  });

  it('is the number of differing bits over every word', () => {
    expect(hammingDistance([0b1011, 0xffffffff], [0b0001, 0])).toBe(2 + 32);
    expect(hammingDistance(new Uint32Array([5]), new Uint32Array([5]))).toBe(0);
    expectCode(() => hammingDistance([1], [1, 2]), 'InvalidArgument');
  });

  it('counts the Hamming ball', () => {
    expect(hammingBallSize(30, 0)).toBe(1);
    expect(hammingBallSize(30, 1)).toBe(31);
    expect(hammingBallSize(30, 2)).toBe(1 + 30 + 435);
    expect(hammingBallSize(30, 3)).toBe(1 + 30 + 435 + 4060);
    expect(hammingBallSize(4, 10)).toBe(16);
    expect(hammingBallSize(32, 32)).toBe(2 ** 32);
  });
});

describe('createHashIndex', () => {
  const codes = packBits([1, 0, 0, 1, 1, 1], 2);

  it('returns a plain frozen object: the search structure is not on it', () => {
    const index = createHashIndex(codes, {
      ids: ['a', 'b', 'c'],
      labels: [3, -4, 5],
      meta: { x: 1 },
    });
    expect(Object.keys(index)).toEqual(['codes', 'ids', 'labels', 'meta']);
    expect(Object.getOwnPropertyNames(index)).toEqual(['codes', 'ids', 'labels', 'meta']);
    expect(Object.getOwnPropertySymbols(index)).toEqual([]);
    expect(Object.keys(index.codes)).toEqual(['bits', 'count', 'data']);
    expect(Object.isFrozen(index)).toBe(true);
    expect(index.labels).toBeInstanceOf(Int32Array);
    expect(Array.from(index.labels!)).toEqual([3, -4, 5]);
    expect(index.meta).toEqual({ x: 1 });
    expect(Object.keys(createHashIndex(codes))).toEqual(['codes', 'meta']);
    expect(createHashIndex(codes).meta).toEqual({});
  });

  it('keeps an Int32Array of labels and the codes by reference, copies ids', () => {
    const labels = new Int32Array([1, 2, 3]);
    const ids = ['a', 'b', 'c'];
    const index = createHashIndex(codes, { labels, ids });
    expect(index.labels).toBe(labels);
    expect(index.codes.data).toBe(codes.data);
    ids[0] = 'changed';
    expect(index.ids).toEqual(['a', 'b', 'c']);
  });

  it('rejects ids, labels and meta that do not fit', () => {
    const cases: [unknown, string][] = [
      [{ ids: ['a'] }, 'there are 1 ids for 3 codes'],
      [{ ids: ['a', 2, 'c'] }, 'id 1 is 2, not a string'],
      [{ labels: [1, 2] }, 'there are 2 labels for 3 codes'],
      [{ labels: [1, 2.5, 3] }, 'label 1 is 2.5, not an int32 integer'],
      [{ labels: [1, 2 ** 31, 3] }, 'not an int32 integer'],
      [{ meta: [] }, 'meta must be a plain object'],
    ];
    for (const [options, message] of cases) {
      const err = expectCode(() => createHashIndex(codes, options as never), 'InvalidArgument');
      expect(err.message).toContain(message);
    }
  });

  it('rejects malformed codes', () => {
    const bad = [
      { bits: 2, count: 4, data: codes.data },
      { bits: 0, count: 3, data: codes.data },
      { bits: 2, count: 3, data: [2, 1, 3] },
      { bits: 2, count: 3, data: new Uint32Array([2, 1, 4]) },
    ];
    for (const c of bad) expectCode(() => createHashIndex(c as never), 'InvalidArgument');
  });
});

describe('searchRadius and searchNearest', () => {
  const configs = [
    { bits: 30, count: 4000, centres: 12, flips: 4 },
    { bits: 30, count: 40, centres: 4, flips: 3 },
    { bits: 12, count: 3000, centres: 5, flips: 3 },
    { bits: 32, count: 2500, centres: 8, flips: 4 },
    { bits: 33, count: 1500, centres: 8, flips: 4 },
    { bits: 64, count: 800, centres: 6, flips: 4 },
    { bits: 100, count: 300, centres: 4, flips: 4 },
  ];

  for (const { bits, count, centres, flips } of configs) {
    describe(`${count} codes of ${bits} bits`, () => {
      const rng = createRng(bits * 1000 + count, 'search');
      const codes = clusteredCodes(rng, bits, count, centres, flips);
      const index = createHashIndex(codes);
      const queries = [
        ...Array.from({ length: 8 }, () => codeAt(codes, Math.floor(rng() * count))),
        ...Array.from({ length: 3 }, () => packBits(randomBits(rng, 1, bits), bits).data),
      ];
      const strategies =
        bits <= 32 ? (['auto', 'enumerate', 'scan'] as const) : (['auto', 'scan'] as const);

      it('finds exactly the items within each radius 0..3, by distance then item', () => {
        let found = 0;
        for (const query of queries) {
          const ranking = bruteRanking(codes, query);
          for (let radius = 0; radius <= 3; radius++) {
            const expected = ranking.filter((x) => x.d <= radius);
            found += expected.length;
            for (const strategy of strategies) {
              expect(asPairs(searchRadius(index, query, radius, { strategy }))).toEqual(expected);
            }
          }
        }
        expect(found).toBeGreaterThan(queries.length); // the data has real matches, not just self
      });

      it('finds the k nearest for k = 1..20, ties by item number', () => {
        for (const query of queries) {
          const ranking = bruteRanking(codes, query);
          for (let k = 1; k <= 20; k++) {
            expect(asPairs(searchNearest(index, query, k))).toEqual(ranking.slice(0, k));
          }
          expect(asPairs(searchNearest(index, query, count + 5))).toEqual(ranking);
          expect(searchNearest(index, query, 0).indices.length).toBe(0);
        }
      });
    });
  }

  it('returns everything for a radius of bits or more', () => {
    const codes = clusteredCodes(createRng(4, 'all'), 10, 50, 3, 5);
    const index = createHashIndex(codes);
    const query = codeAt(codes, 0);
    const all = bruteRanking(codes, query);
    expect(asPairs(searchRadius(index, query, 10))).toEqual(all);
    expect(asPairs(searchRadius(index, query, 1000))).toEqual(all);
    expect(asPairs(searchRadius(index, query, 10, { strategy: 'enumerate' }))).toEqual(all);
  });

  it('handles an empty index', () => {
    const index = createHashIndex(packBits([], 16));
    const query = new Uint32Array(1);
    expect(searchRadius(index, query, 2).indices.length).toBe(0);
    expect(searchRadius(index, query, 2, { strategy: 'enumerate' }).indices.length).toBe(0);
    expect(searchNearest(index, query, 5).indices.length).toBe(0);
  });

  it('builds the search structure for an index object made by hand', () => {
    const codes = clusteredCodes(createRng(5, 'plain'), 20, 500, 4, 3);
    const plain: HashIndex = { codes, meta: {} };
    const query = codeAt(codes, 7);
    const expected = bruteRanking(codes, query).filter((x) => x.d <= 2);
    expect(asPairs(searchRadius(plain, query, 2, { strategy: 'enumerate' }))).toEqual(expected);
    expect(asPairs(searchRadius(plain, query, 2, { strategy: 'enumerate' }))).toEqual(expected);
  });

  it('reports distances above 255 for long codes', () => {
    const ones = new Uint32Array(32).fill(0xffffffff);
    const index = createHashIndex(packedCodesFromWords(new Uint32Array(32), 1024));
    const result = searchNearest(index, ones, 1);
    expect(Array.from(result.distances)).toEqual([1024]);
    expect(Array.from(searchRadius(index, ones, 1024).distances)).toEqual([1024]);
  });

  it('rejects bad queries, radii, k and strategies', () => {
    const index = createHashIndex(packBits(new Array(60).fill(1), 30));
    const long = createHashIndex(packBits(new Array(40).fill(1), 40));
    const q = new Uint32Array([5]);
    expect(
      expectCode(() => searchRadius(index, new Uint32Array(2), 1), 'InvalidArgument').message,
    ).toContain('the query has 2 word(s), but 30-bit codes take 1');
    expectCode(() => searchRadius(index, [5] as never, 1), 'InvalidArgument');
    expect(
      expectCode(() => searchNearest(index, new Uint32Array([1 << 30]), 1), 'InvalidArgument')
        .message,
    ).toContain('bits set above bit 29');
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(expectCode(() => searchRadius(index, q, bad), 'InvalidArgument').message).toContain(
        'radius must be a non-negative integer',
      );
      expect(expectCode(() => searchNearest(index, q, bad), 'InvalidArgument').message).toContain(
        'k must be a non-negative integer',
      );
    }
    expect(
      expectCode(
        () => searchRadius(long, new Uint32Array(2), 1, { strategy: 'enumerate' }),
        'InvalidArgument',
      ).message,
    ).toContain('at most 32 bits');
    expectCode(() => searchRadius(index, q, 1, { strategy: 'fast' as never }), 'InvalidArgument');
  });
});

describe('searchStrategy', () => {
  const big = createHashIndex(
    packedCodesFromWords(
      Uint32Array.from({ length: 100_000 }, (_, i) => Math.imul(i, 2654435761) >>> 2),
      30,
    ),
  );

  it('enumerates small radii over many short codes', () => {
    expect([0, 1, 2].map((r) => searchStrategy(big, r))).toEqual([
      'enumerate',
      'enumerate',
      'enumerate',
    ]);
  });

  it('scans for large radii, few items, or codes of more than 32 bits', () => {
    expect(searchStrategy(big, 5)).toBe('scan');
    expect(searchStrategy(big, 30)).toBe('scan');
    const few = createHashIndex(packBits(new Array(30 * 50).fill(0), 30));
    expect(searchStrategy(few, 0)).toBe('enumerate');
    expect(searchStrategy(few, 1)).toBe('scan');
    const long = createHashIndex(packedCodesFromWords(new Uint32Array(2 * 100_000), 33));
    expect(searchStrategy(long, 0)).toBe('scan');
  });

  it('agrees with what the search does (forcing the other path changes nothing)', () => {
    const query = codeAt(big.codes, 123);
    for (let radius = 0; radius <= 3; radius++) {
      const auto = searchRadius(big, query, radius);
      expect(auto).toEqual(searchRadius(big, query, radius, { strategy: 'scan' }));
      expect(auto).toEqual(searchRadius(big, query, radius, { strategy: 'enumerate' }));
    }
  });
});

describe('serializeHashIndex and parseHashIndex', () => {
  const align4 = (n: number) => Math.ceil(n / 4) * 4;

  function headerOf(bytes: Uint8Array): { length: number; json: unknown } {
    const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(10, true);
    return { length, json: JSON.parse(new TextDecoder().decode(bytes.subarray(14, 14 + length))) };
  }

  /** The uint32 LE that ends a file: its checksum. */
  const trailer = (bytes: Uint8Array): number =>
    new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.length - 4, true);

  it('computes the standard CRC-32 (zip, gzip, PNG)', () => {
    // The check value of CRC-32/ISO-HDLC, and crc32 of nothing.
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(new TextEncoder().encode('The quick brown fox jumps over the lazy dog'))).toBe(
      0x414fa339,
    );
  });

  it('writes magic, header length, JSON header, zero padding, LE codes, LE labels, CRC-32', () => {
    const codes = packedCodesFromWords(new Uint32Array([0x01020304, 0x3fffffff]), 30);
    const index = createHashIndex(codes, { ids: ['a', 'é'], labels: [-1, 7], meta: { run: 'r' } });
    const bytes = serializeHashIndex(index);
    expect(new TextDecoder().decode(bytes.subarray(0, 10))).toBe(HASH_INDEX_MAGIC);
    const { length, json } = headerOf(bytes);
    expect(json).toEqual({
      format: HASH_INDEX_FORMAT,
      bits: 30,
      count: 2,
      labels: true,
      ids: ['a', 'é'],
      meta: { run: 'r' },
    });
    const codesAt = align4(14 + length);
    expect(Array.from(bytes.subarray(14 + length, codesAt)).every((b) => b === 0)).toBe(true);
    expect(Array.from(bytes.subarray(codesAt, codesAt + 8))).toEqual([
      4, 3, 2, 1, 0xff, 0xff, 0xff, 0x3f,
    ]);
    expect(Array.from(bytes.subarray(codesAt + 8, codesAt + 16))).toEqual([
      0xff, 0xff, 0xff, 0xff, 7, 0, 0, 0,
    ]);
    expect(bytes.length).toBe(codesAt + 20);
    expect(trailer(bytes)).toBe(crc32(bytes.subarray(0, codesAt + 16)));
  });

  it('leaves out ids and labels when the index has none', () => {
    const bytes = serializeHashIndex(createHashIndex(packBits([1, 1, 0], 3)));
    const { length, json } = headerOf(bytes);
    expect(json).toEqual({ format: HASH_INDEX_FORMAT, bits: 3, count: 1, labels: false, meta: {} });
    expect(bytes.length).toBe(align4(14 + length) + 4 + 4);
  });

  const expectSame = (a: HashIndex, b: HashIndex) => {
    expect(b.codes.bits).toBe(a.codes.bits);
    expect(b.codes.count).toBe(a.codes.count);
    expect(Array.from(b.codes.data)).toEqual(Array.from(a.codes.data));
    expect(b.ids).toEqual(a.ids);
    expect(b.labels === undefined ? undefined : Array.from(b.labels)).toEqual(
      a.labels === undefined ? undefined : Array.from(a.labels),
    );
    expect(b.meta).toEqual(a.meta);
  };

  it('round-trips codes of 30, 32, 33, 64 and 1024 bits, with and without ids and labels', () => {
    const rng = createRng(6, 'serialize');
    for (const bits of [1, 30, 32, 33, 64, 1024]) {
      for (const count of [0, 1, 7]) {
        const codes = packBits(randomBits(rng, count, bits), bits);
        const ids = Array.from({ length: count }, (_, i) => `item-${i}-☃`);
        const labels = Array.from({ length: count }, (_, i) => ((i * 7919) % 13) - 6);
        const variants = [
          createHashIndex(codes),
          createHashIndex(codes, { ids }),
          createHashIndex(codes, { labels }),
          createHashIndex(codes, { ids, labels, meta: { model: 'm', bits, nested: { a: [1] } } }),
        ];
        for (const index of variants) {
          const parsed = parseHashIndex(serializeHashIndex(index), 'x.aekithash');
          expectSame(index, parsed);
          expect(Object.keys(parsed)).toEqual(Object.keys(index));
        }
      }
    }
  });

  it('views the codes in place when aligned and copies when the input starts unaligned', () => {
    const codes = clusteredCodes(createRng(7, 'align'), 30, 300, 4, 3);
    const index = createHashIndex(codes, { labels: Array.from({ length: 300 }, (_, i) => i % 5) });
    const bytes = serializeHashIndex(index);
    const inPlace = parseHashIndex(bytes);
    expect(inPlace.codes.data.buffer).toBe(bytes.buffer);
    expect(inPlace.labels!.buffer).toBe(bytes.buffer);
    const query = codeAt(codes, 0);
    const expected = searchRadius(index, query, 2);
    for (const offset of [1, 2, 3, 4, 5]) {
      const big = new Uint8Array(bytes.length + offset + 3).fill(0xaa);
      big.set(bytes, offset);
      const parsed = parseHashIndex(big.subarray(offset, offset + bytes.length));
      expectSame(index, parsed);
      expect(parsed.codes.data.buffer === big.buffer).toBe(offset % 4 === 0);
      expect(searchRadius(parsed, query, 2)).toEqual(expected);
      expect(searchRadius(parsed, query, 2, { strategy: 'enumerate' })).toEqual(expected);
    }
  });

  it('rejects hand-built indexes whose ids or labels do not match the codes', () => {
    const codes = packBits([1, 0, 1], 1);
    expectCode(() => serializeHashIndex({ codes, ids: ['a'], meta: {} }), 'InvalidArgument');
    const labels = [1, 2, 3] as unknown as Int32Array;
    expectCode(() => serializeHashIndex({ codes, labels, meta: {} }), 'InvalidArgument');
    expectCode(
      () => serializeHashIndex({ codes, labels: new Int32Array(2), meta: {} }),
      'InvalidArgument',
    );
  });

  it('rejects meta that JSON cannot write', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const index = createHashIndex(packBits([1], 1), { meta: cyclic });
    expectCode(() => serializeHashIndex(index), 'InvalidArgument');
    const big = createHashIndex(packBits([1], 1), { meta: { n: 1n } });
    expectCode(() => serializeHashIndex(big), 'InvalidArgument');
  });

  /**
   * A file with the given header text, padding byte and body, built by hand: `aekit-hash/1`
   * (no checksum), or with `magic` `aekit-hash/2` and its CRC-32 appended.
   */
  function file(header: unknown, body: number[] = [], pad = 0, magic = HASH_INDEX_MAGIC_V1) {
    const text = new TextEncoder().encode(
      typeof header === 'string' ? header : JSON.stringify(header),
    );
    const codesAt = align4(14 + text.length);
    const v2 = magic === HASH_INDEX_MAGIC;
    const end = codesAt + body.length;
    const out = new Uint8Array(end + (v2 ? 4 : 0)).fill(pad, 14 + text.length, codesAt);
    out.set(new TextEncoder().encode(magic));
    new DataView(out.buffer).setUint32(10, text.length, true);
    out.set(text, 14);
    out.set(body, codesAt);
    if (v2) new DataView(out.buffer).setUint32(end, crc32(out.subarray(0, end)), true);
    return out;
  }
  const good = { format: HASH_INDEX_FORMAT_V1, bits: 12, count: 2, labels: true, meta: {} };
  const goodV2 = { ...good, format: HASH_INDEX_FORMAT };
  const goodBody = [1, 0, 0, 0, 0xff, 0x0f, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0];

  function expectInvalid(bytes: Uint8Array, reason: string): void {
    const err = expectCode(() => parseHashIndex(bytes, 'codes/test.aekithash'), 'InvalidHashIndex');
    expect(err.message).toContain('"codes/test.aekithash" is not a valid aekit hash index');
    expect(err.message).toContain(reason);
    expect(err.hint).toContain('aekit hash');
    expect(err.title).toBe(AekitErrors.InvalidHashIndex.title);
  }

  it('reads the hand-built reference files, aekit-hash/2 and aekit-hash/1', () => {
    for (const bytes of [
      file({ ...goodV2, ids: ['p', 'q'], extra: 1 }, goodBody, 0, HASH_INDEX_MAGIC),
      file({ ...good, ids: ['p', 'q'], extra: 1 }, goodBody),
    ]) {
      const index = parseHashIndex(bytes);
      expect(Array.from(index.codes.data)).toEqual([1, 0xfff]);
      expect(Array.from(index.labels!)).toEqual([5, 6]);
      expect(index.ids).toEqual(['p', 'q']);
    }
  });

  it('refuses an aekit-hash/2 file with any one bit flipped, or cut short', () => {
    const index = createHashIndex(packedCodesFromWords(new Uint32Array([0x2a, 0x3b]), 12), {
      labels: [3, 8],
      ids: ['a', 'b'],
    });
    const bytes = serializeHashIndex(index);
    for (let bit = 0; bit < 8 * bytes.length; bit++) {
      const damaged = bytes.slice();
      damaged[bit >> 3]! ^= 1 << (bit & 7);
      // A flip in the magic makes it another file; anywhere else the checksum says so.
      expectInvalid(
        damaged,
        bit < 8 * 10 ? 'so it is not an aekit hash index' : 'its checksum does not match',
      );
    }
    expectInvalid(bytes.subarray(0, bytes.length - 4), 'its checksum does not match');
    expectInvalid(bytes.subarray(0, 40), 'its checksum does not match');
    expectInvalid(bytes.subarray(0, 15), 'it is truncated');
  });

  it('reads aekit-hash/1 files without a check: a flipped label goes unnoticed there', () => {
    const v1 = file(good, goodBody);
    v1[v1.length - 4]! ^= 1; // the first bit of the last label
    expect(Array.from(parseHashIndex(v1).labels!)).toEqual([5, 7]);
    const v2 = file(goodV2, goodBody, 0, HASH_INDEX_MAGIC);
    v2[v2.length - 8]! ^= 1;
    expectInvalid(v2, 'its checksum does not match its content (CRC-32 0x');
  });

  it('checks the structure of an aekit-hash/2 file whose checksum matches', () => {
    expectInvalid(file(good, goodBody, 0, HASH_INDEX_MAGIC), 'format is "aekit-hash/1"');
    expectInvalid(file(goodV2, goodBody.slice(0, 12), 0, HASH_INDEX_MAGIC), 'truncated');
    expectInvalid(file({ ...goodV2, bits: 0 }, goodBody, 0, HASH_INDEX_MAGIC), 'bits is 0');
  });

  it('rejects files that are not aekit hash indexes or are cut short', () => {
    expectInvalid(
      new TextEncoder().encode('PK\u0003\u0004 not an index'),
      'not "AEKITHASH2" (nor "AEKITHASH1", the older format)',
    );
    expectInvalid(new TextEncoder().encode('AEKITHASH3....'), 'it starts with "AEKITHASH3"');
    expectInvalid(new TextEncoder().encode('AEKITHASH2....'), 'truncated');
    expectInvalid(new Uint8Array(0), 'truncated');
    expectInvalid(new TextEncoder().encode('AEKITHA'), 'truncated');
    expectInvalid(new TextEncoder().encode('AEKITHASH1\u0001'), 'truncated');
    const whole = file(good, goodBody);
    expectInvalid(whole.subarray(0, 30), 'the header is');
    expectInvalid(whole.subarray(0, 30), 'the file is truncated');
    expectInvalid(whole.subarray(0, whole.length - 9), 'the file is truncated'); // into the codes
    expectInvalid(whole.subarray(0, whole.length - 1), 'the file is truncated'); // into the labels
    const longer = new Uint8Array(whole.length + 4);
    longer.set(whole);
    expectInvalid(longer, '4 unexpected byte(s) after the 2 codes of 12 bits and their labels');
    expectInvalid(file({ ...good, labels: false }, goodBody), 'unexpected byte(s)');
  });

  it('rejects headers that are not the aekit-hash/1 JSON header', () => {
    const cases: [Uint8Array, string][] = [
      [file('{"format": ', goodBody), 'the header is not UTF-8 JSON'],
      [file('"text"', goodBody), 'not a JSON object'],
      [file([good], goodBody), 'not a JSON object'],
      [file({ ...good, format: 'aekit-hash/2' }, goodBody), 'format is "aekit-hash/2"'],
      [file({ ...good, format: undefined }, goodBody), 'format is undefined'],
      [file({ ...good, bits: 0 }, goodBody), 'bits is 0, not an integer from 1 to 1024'],
      [file({ ...good, bits: '12' }, goodBody), 'bits is "12"'],
      [file({ ...good, bits: 1025 }, goodBody), 'bits is 1025'],
      [file({ ...good, count: -1 }, goodBody), 'count is -1'],
      [file({ ...good, count: 1.5 }, goodBody), 'count is 1.5'],
      [file({ ...good, labels: 1 }, goodBody), 'labels is 1, not true or false'],
      [
        file({ ...good, ids: ['a'] }, goodBody),
        'ids is not an array of 2 strings (one per code): it has 1',
      ],
      [file({ ...good, ids: 'ab' }, goodBody), 'ids is not an array of 2 strings'],
      [file({ ...good, ids: ['a', 3] }, goodBody), 'id 1 in the header is 3'],
      [file({ ...good, meta: undefined }, goodBody), 'meta is missing or not a JSON object'],
      [file({ ...good, meta: [1] }, goodBody), 'meta is missing or not a JSON object'],
    ];
    for (const [bytes, reason] of cases) expectInvalid(bytes, reason);
    // Invalid UTF-8 in the header.
    const bad = file('{"a":"xx"}', goodBody);
    bad[14 + 6] = 0xff;
    expectInvalid(bad, 'the header is not UTF-8 JSON');
  });

  it('rejects non-zero padding and codes with bits above the code length', () => {
    // A header whose end is not 4-byte aligned, so that there is padding to spoil.
    let header = { ...good, labels: false, meta: { pad: '' } };
    while ((14 + JSON.stringify(header).length) % 4 !== 2) {
      header = { ...header, meta: { pad: `${header.meta.pad}x` } };
    }
    expectInvalid(file(header, goodBody.slice(0, 8), 1), 'the padding after the header');
    expectInvalid(
      file(header, [0, 0, 0, 0, 0, 0x10, 0, 0]),
      'the code of item 1 has bits set above bit 11',
    );
  });

  it('rejects input that is not a Uint8Array', () => {
    expectCode(() => parseHashIndex([1, 2, 3] as never), 'InvalidArgument');
    expectCode(() => parseHashIndex(new ArrayBuffer(8) as never), 'InvalidArgument');
  });
});
