/**
 * Loading items into a table: COPY FROM STDIN in batches, one transaction per batch.
 *
 * Two paths, measured on 1,000,000 random 30-bit codes with this package's indexes: inserting
 * into indexed tables runs at ~40,000 items/s (each row adds a random key to every substring
 * index), while copying into the bare table and building the indexes afterwards (sorted
 * builds) runs several times faster. So a load into an empty table (a bulk load) drops the
 * indexes, copies each batch straight into the table and builds the indexes at the end; a
 * load into a table that has rows (an append) keeps them, copies each batch into a temporary
 * table and inserts the rows whose id is new. If a bulk load is interrupted, the committed
 * batches stay, and the next {@link ensureIndexes} (every open does one) builds the indexes.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { aekitError } from '@aekit/core/errors';
import { codeWords } from '@aekit/core/hashing';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import {
  createLayout,
  defaultSubstringCount,
  type HashLayout,
  substringValue,
  writeBitBinary,
} from './layout.js';
import {
  changeLayout,
  dropIndexStatements,
  fixLayout,
  indexStatements,
  substringColumns,
} from './schema.js';

/** One item to load. */
export interface HashItem {
  /** Its unique id (any text). An id already in the table is skipped. */
  readonly id: string;
  /** An int32 label (e.g. a class), or null. */
  readonly label?: number | null;
  /** The code, `codeWords(bits)` words packed as `@aekit/core` packs them. */
  readonly code: Uint32Array;
}

/** Progress of a load, reported after each batch. */
export interface LoadProgress {
  /** Items read from the source so far. */
  readonly read: number;
  /** Items added to the table so far (the others had ids already loaded). */
  readonly inserted: number;
  /** Batches committed so far. */
  readonly batches: number;
}

/** Options of a load. */
export interface LoadOptions {
  /** Items per batch: one COPY and one transaction each. Default 100,000. */
  readonly batchSize?: number;
  /**
   * About how many items this load holds (default: the length of an array of items). The
   * first load into a table created without `substrings` or `expectedItems` chooses the
   * table's layout from it ({@link defaultSubstringCount}).
   */
  readonly expectedItems?: number;
  /** Called after each committed batch. */
  readonly onProgress?: (progress: LoadProgress) => void;
  /**
   * Called when the load starts a step after the batches: `'indexes'` (building the indexes
   * after a bulk load into an empty table), `'vacuum'` (VACUUM ANALYZE), `'done'`.
   */
  readonly onStep?: (step: LoadStep) => void;
}

/** A step of a load after its batches (see {@link LoadOptions.onStep}). */
export type LoadStep = 'indexes' | 'vacuum' | 'done';

/**
 * Session settings of a load's connection, reset at its end. Index builds get more memory
 * than the usual default (64MB) so that a 10,000,000-row btree sorts in fewer passes (a
 * server configured with more keeps its own). Commits are synchronous even where the server
 * commits asynchronously: the VACUUM at the end marks a page all-visible (which lets
 * searches read the indexes alone) only once its rows' commits are flushed, and measured
 * with asynchronous commits, ~17% of the pages of 2,000,000 rows loaded just before stayed
 * unmarked; one flush per batch of 100,000 rows costs nothing measurable.
 */
const LOAD_SETTINGS = [
  "SET synchronous_commit = 'on'",
  `SELECT set_config('maintenance_work_mem', '512MB', false)
   WHERE pg_size_bytes(current_setting('maintenance_work_mem')) < pg_size_bytes('512MB')`,
];
/**
 * Settings of the index builds of a bulk load, two at a time: no parallel workers for
 * either. Measured with 10,000,000 random 64-bit codes (5 indexes) on 2 busy cores: one at
 * a time with the server's parallel workers 38.1 s, two at a time with them 33.1 s, two at a
 * time without them 28.5 s (at 2,000,000 rows, the item index alone built in 0.54 s without
 * workers, 1.08 s with two).
 */
const BUILD_SETTINGS = [LOAD_SETTINGS[1]!, 'SET max_parallel_maintenance_workers = 0'];
const RESET_SETTINGS = [
  'RESET synchronous_commit',
  'RESET maintenance_work_mem',
  'RESET max_parallel_maintenance_workers',
];

/** The table being loaded. */
export interface LoadTarget {
  readonly table: string;
  readonly oid: number;
  /** Its layout: the first load may change a provisional one. */
  layout: HashLayout;
  /** Whether the layout was chosen without knowing the number of items. */
  provisional: boolean;
}

const { escapeIdentifier } = pg;

function invalid(what: string): Error {
  return aekitError('InvalidArgument', what);
}

/**
 * Checks a code: a `Uint32Array` of `codeWords(bits)` words, no bit set above `bits`.
 *
 * @throws AekitError `InvalidArgument` naming `where`.
 */
export function checkCode(code: unknown, bits: number, where: string): asserts code is Uint32Array {
  const words = codeWords(bits);
  if (!(code instanceof Uint32Array) || code.length !== words) {
    throw invalid(
      `${where}: a code must be a Uint32Array of ${words} word(s) for ${bits}-bit codes.`,
    );
  }
  const high = bits & 31;
  if (high !== 0 && code[words - 1]! >>> high !== 0) {
    throw invalid(`${where}: the code has bits set above bit ${bits - 1}.`);
  }
}

function checkItem(item: unknown, bits: number, where: string): asserts item is HashItem {
  if (typeof item !== 'object' || item === null) throw invalid(`${where} is not an object.`);
  const { id, label, code } = item as Partial<HashItem>;
  if (typeof id !== 'string') throw invalid(`${where}: id must be a string.`);
  if (
    label !== undefined &&
    label !== null &&
    !(Number.isInteger(label) && label >= -(2 ** 31) && label < 2 ** 31)
  ) {
    throw invalid(`${where}: label must be an int32 integer or null, got ${String(label)}.`);
  }
  checkCode(code, bits, where);
}

/** The signature, flags and header extension of a binary COPY stream. */
const COPY_HEADER = Buffer.from([
  ...Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'),
  ...[0, 0, 0, 0],
  ...[0, 0, 0, 0],
]);
/** The end of a binary COPY stream: a field count of -1. */
const COPY_TRAILER = Buffer.from([0xff, 0xff]);
/** Rows per buffer of a binary COPY stream. */
const ROWS_PER_CHUNK = 2000;

/**
 * The items of a load, pulled one at a time: checked, and without the ids seen earlier in
 * the load. `next()` answers synchronously for a synchronous iterable (no promise per item).
 */
interface ItemSource {
  /** The next new item, or undefined at the end. */
  next(): HashItem | undefined | Promise<HashItem | undefined>;
  /** Items read from the iterable so far (new or not). */
  readonly read: number;
}

function itemSource(
  items: Iterable<HashItem> | AsyncIterable<HashItem>,
  bits: number,
  where: string,
): ItemSource {
  const seen = new Set<string>();
  let read = 0;
  const accept = (result: IteratorResult<HashItem>): HashItem | null | undefined => {
    if (result.done) return undefined;
    const item = result.value;
    checkItem(item, bits, `${where}: item ${read}`);
    read++;
    if (seen.has(item.id)) return null;
    seen.add(item.id);
    return item;
  };
  if (Symbol.iterator in items) {
    const iterator = items[Symbol.iterator]();
    return {
      next() {
        for (;;) {
          const item = accept(iterator.next());
          if (item !== null) return item;
        }
      },
      get read() {
        return read;
      },
    };
  }
  const iterator = items[Symbol.asyncIterator]();
  return {
    async next() {
      for (;;) {
        const item = accept(await iterator.next());
        if (item !== null) return item;
      }
    },
    get read() {
      return read;
    },
  };
}

/** A batch being streamed: its first item, its first item number, and its rows so far. */
interface BatchState {
  readonly first: HashItem;
  readonly number: number;
  readonly size: number;
  rows: number;
}

/**
 * The binary COPY stream of a batch (columns: number, id, label, code, substrings), in
 * chunks, pulling up to `batch.size` items from the source as the server takes the chunks,
 * so that reading and encoding the items overlap the server's work. Binary rows, written
 * into Buffers here, spare the server parsing text (`bit(n)` as `0`/`1` characters, integers
 * as digits).
 */
async function* copyRows(
  layout: HashLayout,
  source: ItemSource,
  batch: BatchState,
): AsyncGenerator<Buffer> {
  const { bits, substrings } = layout;
  const fields = 4 + substrings.length;
  const codeBytes = (bits + 7) >>> 3;
  // Bytes of a row besides its id: field count, item, id length, label, code, substrings.
  const fixed = 2 + 12 + 4 + 8 + 8 + codeBytes + 8 * substrings.length;
  let chunk = Buffer.allocUnsafe(ROWS_PER_CHUNK * (fixed + 32));
  let at = 0;
  yield COPY_HEADER;
  let item: HashItem | undefined = batch.first;
  while (item !== undefined) {
    const { id, label, code } = item;
    const room = fixed + 3 * id.length;
    if (at + room > chunk.length) {
      yield chunk.subarray(0, at);
      chunk = Buffer.allocUnsafe(Math.max(ROWS_PER_CHUNK * (fixed + 32), room));
      at = 0;
    }
    const number = batch.number + batch.rows;
    chunk.writeInt16BE(fields, at);
    chunk.writeInt32BE(8, at + 2);
    chunk.writeUInt32BE(Math.floor(number / 2 ** 32), at + 6);
    chunk.writeUInt32BE(number >>> 0, at + 10);
    const length = chunk.write(id, at + 18, 'utf8');
    chunk.writeInt32BE(length, at + 14);
    at += 18 + length;
    if (label === undefined || label === null) {
      chunk.writeInt32BE(-1, at);
      at += 4;
    } else {
      chunk.writeInt32BE(4, at);
      chunk.writeInt32BE(label, at + 4);
      at += 8;
    }
    chunk.writeInt32BE(4 + codeBytes, at);
    at = writeBitBinary(code, bits, chunk, at + 4);
    for (const { start, length: width } of substrings) {
      chunk.writeInt32BE(4, at);
      chunk.writeInt32BE(substringValue(code, start, width), at + 4);
      at += 8;
    }
    batch.rows++;
    if (batch.rows === batch.size) break;
    const next = source.next();
    item = next instanceof Promise ? await next : next;
  }
  yield chunk.subarray(0, at);
  yield COPY_TRAILER;
}

/** Lock key of loads into `table`: one load at a time, so that item numbers stay dense. */
const loadLock = (table: string): string => `aekit-load:${table}`;

/**
 * Builds the indexes the table lacks (after an interrupted bulk load), unless a load is in
 * progress (it builds them when it ends).
 */
export async function ensureIndexes(client: pg.ClientBase, target: LoadTarget): Promise<void> {
  const { rows } = await client.query<{ free: boolean }>(
    'SELECT pg_try_advisory_lock(hashtext($1)) AS free',
    [loadLock(target.table)],
  );
  if (!rows[0]!.free) return;
  try {
    for (const sql of indexStatements(target.table, target.oid, target.layout)) {
      await client.query(sql);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [loadLock(target.table)]);
  }
}

/**
 * Appends `items` to the table (see the module notes), then vacuums and analyses it so that
 * searches read the indexes alone.
 *
 * @throws AekitError `InvalidArgument` for an item without a string id, with a bad label or
 *   with a code of the wrong shape (the batches before it stay loaded).
 */
export async function loadItems(
  pool: pg.Pool,
  target: LoadTarget,
  items: Iterable<HashItem> | AsyncIterable<HashItem>,
  options: LoadOptions = {},
): Promise<LoadProgress> {
  const where = 'load()';
  const { table, layout } = target;
  const batchSize = options.batchSize ?? 100_000;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw invalid(`${where}: batchSize must be a positive integer, got ${String(batchSize)}.`);
  }
  const t = escapeIdentifier(table);
  const client = await pool.connect();
  let locked = false;
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [loadLock(table)]);
    locked = true;
    for (const sql of LOAD_SETTINGS) await client.query(sql);
    const { rows } = await client.query<{ next: number }>(
      `SELECT coalesce(max(item) + 1, 0)::float8 AS next FROM ${t}`,
    );
    let next = rows[0]!.next;
    // A bulk load (into an empty table) drops the indexes; an append needs all of them.
    const bulk = next === 0;
    const statements = bulk
      ? dropIndexStatements(target.oid, layout)
      : indexStatements(table, target.oid, layout);
    for (const sql of statements) await client.query(sql);
    if (bulk && target.provisional) await sizeLayout(client, target, items, options);
    const source = itemSource(items, layout.bits, where);
    let progress: LoadProgress = { read: 0, inserted: 0, batches: 0 };
    for (;;) {
      const pulled = source.next();
      const first = pulled instanceof Promise ? await pulled : pulled;
      if (first === undefined) break;
      const batch: BatchState = { first, number: bulk ? next : 0, size: batchSize, rows: 0 };
      const inserted = bulk
        ? await copyBatch(client, target, source, batch)
        : await appendBatch(client, target, source, batch, next);
      next += inserted;
      progress = {
        read: source.read,
        inserted: progress.inserted + inserted,
        batches: progress.batches + 1,
      };
      options.onProgress?.(progress);
    }
    const read = source.read;
    progress = { ...progress, read };
    if (bulk) {
      options.onStep?.('indexes');
      await buildIndexes(pool, client, indexStatements(table, target.oid, target.layout));
    }
    if (progress.inserted > 0) {
      options.onStep?.('vacuum');
      await client.query(`VACUUM (ANALYZE) ${t}`);
    }
    options.onStep?.('done');
    return progress;
  } finally {
    for (const sql of RESET_SETTINGS) await client.query(sql).catch(() => undefined);
    if (locked) {
      await client
        .query('SELECT pg_advisory_unlock(hashtext($1))', [loadLock(table)])
        .catch(() => undefined);
    }
    client.release();
  }
}

/**
 * Runs the index builds of a bulk load on two connections at once (the load's and one more
 * from the pool, when the pool may open two), each taking the next statement when it is
 * done; CREATE INDEX statements on one table do not block each other. See
 * {@link BUILD_SETTINGS}.
 */
async function buildIndexes(
  pool: pg.Pool,
  client: pg.PoolClient,
  statements: readonly string[],
): Promise<void> {
  const queue = [...statements];
  const work = async (on: pg.ClientBase): Promise<void> => {
    for (let sql = queue.shift(); sql !== undefined; sql = queue.shift()) await on.query(sql);
  };
  const max = (pool as { options?: { max?: number } }).options?.max ?? 10;
  if (max < 2 || statements.length < 2) return work(client);
  for (const sql of BUILD_SETTINGS) await client.query(sql);
  const other = await pool.connect();
  try {
    for (const sql of BUILD_SETTINGS) await other.query(sql);
    const results = await Promise.allSettled([work(client), work(other)]);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  } finally {
    for (const sql of RESET_SETTINGS) await other.query(sql).catch(() => undefined);
    other.release();
  }
}

/**
 * Chooses the layout of a table created without knowing its size, from the size of its first
 * load (when known), and records it as final.
 */
async function sizeLayout(
  client: pg.ClientBase,
  target: LoadTarget,
  items: Iterable<HashItem> | AsyncIterable<HashItem>,
  options: LoadOptions,
): Promise<void> {
  const size = options.expectedItems ?? (Array.isArray(items) ? items.length : undefined);
  const { bits } = target.layout;
  const layout =
    size === undefined ? target.layout : createLayout(bits, defaultSubstringCount(bits, size));
  if (layout.substrings.length !== target.layout.substrings.length) {
    await changeLayout(client, target.table, target.layout, layout);
  } else {
    await fixLayout(client, target.table, layout);
  }
  target.layout = layout;
  target.provisional = false;
}

/** Runs `body` in a transaction on `client`. */
async function transaction<T>(client: pg.PoolClient, body: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await body();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** A bulk batch: the next items (new ids, the table being loaded from empty) copied in. */
function copyBatch(
  client: pg.PoolClient,
  target: LoadTarget,
  source: ItemSource,
  batch: BatchState,
): Promise<number> {
  const columns = ['item', 'id', 'label', 'code', ...substringColumns(target.layout)].join(', ');
  const sql = `COPY ${escapeIdentifier(target.table)} (${columns}) FROM STDIN (FORMAT binary)`;
  return transaction(client, async () => {
    await pipeline(
      Readable.from(copyRows(target.layout, source, batch)),
      client.query(copyFrom(sql)),
    );
    return batch.rows;
  });
}

/**
 * An appended batch: the next items copied into a temporary table, then the rows whose id
 * is not in the table yet are inserted, numbered from `first` in the order given.
 */
function appendBatch(
  client: pg.PoolClient,
  target: LoadTarget,
  source: ItemSource,
  batch: BatchState,
  first: number,
): Promise<number> {
  const { layout } = target;
  const t = escapeIdentifier(target.table);
  const subs = substringColumns(layout);
  return transaction(client, async () => {
    await client.query(
      `CREATE TEMP TABLE aekit_staging (ord bigint, id text COLLATE "C", label integer,
         code bit(${layout.bits}), ${subs.map((s) => `${s} integer`).join(', ')})
       ON COMMIT DROP`,
    );
    await pipeline(
      Readable.from(copyRows(layout, source, batch)),
      client.query(copyFrom('COPY aekit_staging FROM STDIN (FORMAT binary)')),
    );
    await client.query('ANALYZE aekit_staging');
    const inserted = await client.query(
      `INSERT INTO ${t} (item, id, label, code, ${subs.join(', ')})
       SELECT $1::bigint + row_number() OVER (ORDER BY ord) - 1, id, label, code, ${subs.join(', ')}
       FROM aekit_staging st WHERE NOT EXISTS (SELECT 1 FROM ${t} x WHERE x.id = st.id)`,
      [first],
    );
    return inserted.rowCount ?? 0;
  });
}
