/**
 * An in-memory hash index (`aekit hash`'s, or `buildHashIndex`'s) copied into a table:
 * what `aekit hash RUN --data SRC --to postgres://…` runs after hashing.
 */
import { codeAt, type HashIndex } from '@aekit/core/hashing';
import type { Connection } from './connection.js';
import { openHashTable } from './hash-table.js';
import type { HashItem, LoadOptions, LoadProgress } from './load.js';

/** Options of {@link loadIndexIntoTable}. */
export interface LoadIndexOptions extends LoadOptions {
  /** The table (default: the connection string's `table`, else `aekit_hash`). */
  readonly table?: string;
  /**
   * Ids of items the index has no ids for: this prefix and the item number (`mnist/train:7`).
   * The same data loaded twice gets the same ids, so nothing is duplicated; give different
   * data a different prefix. Default `item:`.
   */
  readonly idPrefix?: string;
}

/** What {@link loadIndexIntoTable} did. */
export interface LoadIndexReport extends LoadProgress {
  readonly table: string;
  readonly bits: number;
  /** Rows in the table afterwards. */
  readonly rows: number;
}

/** The index's items as rows: ids (or prefix + number), labels and codes. */
function* itemsOf(index: HashIndex, idPrefix: string): Generator<HashItem> {
  const { count } = index.codes;
  for (let i = 0; i < count; i++) {
    yield {
      id: index.ids?.[i] ?? `${idPrefix}${i}`,
      label: index.labels ? index.labels[i]! : null,
      code: codeAt(index.codes, i),
    };
  }
}

/**
 * Appends the items of `index` to a table of its code width (created when missing), in
 * batches of one transaction each; items whose id is there already are skipped.
 *
 * @throws AekitError `DatabaseUnreachable`, `HashTableMismatch` (a table of another code
 *   width), `InvalidArgument`.
 */
export async function loadIndexIntoTable(
  connection: Connection | undefined,
  index: HashIndex,
  options: LoadIndexOptions = {},
): Promise<LoadIndexReport> {
  const { bits } = index.codes;
  // A new table's layout is sized for this many items (multi-index hashing's rule).
  const table = await openHashTable(connection, {
    bits,
    expectedItems: Math.max(1, index.codes.count),
    ...(options.table !== undefined ? { table: options.table } : {}),
  });
  try {
    const progress = await table.load(itemsOf(index, options.idPrefix ?? 'item:'), {
      ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    return { ...progress, table: table.table, bits, rows: await table.count() };
  } finally {
    await table.close();
  }
}
