/**
 * `@aekit/postgres`: semantic-hashing codes in PostgreSQL. A table holds each item's id,
 * label and code (`bit(n)`, any width) with its substrings in indexed integer columns
 * (multi-index hashing); radius and k-nearest searches return the same items, in the same
 * order, as `@aekit/core`'s in-memory index over the same codes.
 *
 * @example
 * ```ts
 * import { openHashTable } from '@aekit/postgres';
 * const table = await openHashTable('postgres://me@localhost/docs?table=codes', { bits: 64 });
 * await table.load(items); // { id, label?, code: Uint32Array }
 * const { ids, distances } = await table.searchRadius(query, 3);
 * await table.close();
 * ```
 *
 * @packageDocumentation
 */
export { type Connection, parseConnectionString } from './connection.js';
export { type LoadIndexOptions, type LoadIndexReport, loadIndexIntoTable } from './from-index.js';
export {
  DEFAULT_TABLE,
  defaultMaxRadius,
  type HashTable,
  MAX_LOOKUPS,
  nearestRadii,
  type OpenHashTableOptions,
  openHashTable,
  type SearchNearestOptions,
  type TableSearchRadiusOptions,
  type TableSearchResult,
  type TableSearchStrategy,
} from './hash-table.js';
export {
  ballValues,
  bitText,
  createLayout,
  defaultSubstringCount,
  expectedCandidates,
  type HashLayout,
  lookupCount,
  MAX_SUBSTRING_BITS,
  type Substring,
  substringRadii,
  substringValue,
  substringValues,
  writeBitBinary,
} from './layout.js';
export type { HashItem, LoadOptions, LoadProgress, LoadStep } from './load.js';
export { HASH_TABLE_FORMAT } from './schema.js';
