/**
 * Semantic hashing: binary codes packed as bits, Hamming-distance search over an index of
 * codes, and the `aekit-hash/2` file that stores such an index (with a CRC-32 of its content;
 * `aekit-hash/1` files, without one, are still read).
 *
 * Three files behind this one entry: `hashing/codes.ts` (packing and distance),
 * `hashing/search.ts` (the index and its search) and `hashing/format.ts` (the file). They are
 * loaded in browsers through an import map, without a bundler, so they import nothing but
 * each other and `./errors.js`, and use only what browsers and Node share: typed arrays,
 * `DataView`, `TextEncoder` and `TextDecoder` (no `Buffer`, no `node:*`).
 *
 * Layout of packed codes: a code of `bits` bits takes `words = ceil(bits / 32)` uint32 words;
 * bit `j` of item `i` is bit `j & 31` (least significant first) of word `i * words + (j >> 5)`,
 * and the bits of the last word above `bits` are always 0 (every function here relies on it:
 * they would otherwise add to every Hamming distance).
 *
 * @packageDocumentation
 */
export {
  codeAt,
  codeWords,
  formatCode,
  hammingBallSize,
  hammingDistance,
  MAX_CODE_BITS,
  type PackedCodes,
  packBits,
  packedCodesFromWords,
  parseCode,
  popcount32,
  unpackBits,
  validatePackedCodes,
} from './hashing/codes.js';
export {
  crc32,
  HASH_INDEX_FORMAT,
  HASH_INDEX_FORMAT_V1,
  HASH_INDEX_MAGIC,
  HASH_INDEX_MAGIC_V1,
  parseHashIndex,
  serializeHashIndex,
} from './hashing/format.js';
export {
  createHashIndex,
  type HashIndex,
  type HashIndexOptions,
  type HashSearchResult,
  type HashSearchStrategy,
  type SearchRadiusOptions,
  searchNearest,
  searchRadius,
  searchStrategy,
} from './hashing/search.js';
