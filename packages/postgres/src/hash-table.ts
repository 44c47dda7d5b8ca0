/**
 * A table of semantic-hashing codes in PostgreSQL, searched with multi-index hashing.
 *
 * Each row holds an id, an item number (insertion order, from 0, without gaps), an optional
 * label, the code as `bit(n)` and its `m` substrings as integer columns `s0 … s(m-1)`. Each
 * substring column has a btree index that INCLUDEs the code and the item number, so a radius
 * query is answered by index-only scans: the substring values near the query's are looked up
 * and the candidates filtered by `bit_count(code # query)` without visiting the table (the
 * table is visited only for the ids and labels of the items found).
 */
import { aekitError } from '@aekit/core/errors';
import pg from 'pg';
import { type Connection, connect, resolveConnection } from './connection.js';
import {
  ballValues,
  bitText,
  createLayout,
  expectedCandidates,
  type HashLayout,
  lookupCount,
  substringRadii,
  substringValues,
} from './layout.js';
import {
  checkCode,
  ensureIndexes,
  type HashItem,
  type LoadOptions,
  type LoadProgress,
  type LoadTarget,
  loadItems,
} from './load.js';
import { createTable, findTable } from './schema.js';

/** The table name used when neither the options nor the connection string give one. */
export const DEFAULT_TABLE = 'aekit_hash';

/**
 * The most substring values a radius query looks up through the indexes; past it
 * {@link HashTable.searchRadius} scans the table instead, and {@link HashTable.searchNearest}
 * stops growing its radius. At about 1 µs a lookup (measured with 10,000,000 rows), 20,000
 * lookups cost about as much as the candidates of a radius past which a scan is competitive.
 */
export const MAX_LOOKUPS = 20_000;

/** Options of {@link openHashTable}. */
export interface OpenHashTableOptions {
  /**
   * The table name (any characters; it is quoted). Default: the connection string's `table`
   * parameter, else {@link DEFAULT_TABLE}.
   */
  readonly table?: string;
  /**
   * The code width in bits. Needed to create the table; an existing table must have this
   * width (else `HashTableMismatch`), and when left out its own width is used.
   */
  readonly bits?: number;
  /**
   * Number of substrings (indexed columns) of a new table; default
   * {@link defaultSubstringCount} (substrings of at most 24 bits). Ignored for an existing table.
   */
  readonly substrings?: number;
}

/** How a search found its items: the substring indexes, or a scan of every row. */
export type TableSearchStrategy = 'index' | 'scan';

/** Items found by a search, sorted by distance, then by item number. */
export interface TableSearchResult {
  /** The ids of the items found. */
  readonly ids: string[];
  /** Their item numbers (insertion order: equal to an in-memory index's of the same codes). */
  readonly items: number[];
  /** Their labels (null where none was given). */
  readonly labels: (number | null)[];
  /** Their Hamming distances to the query. */
  readonly distances: Uint16Array;
  /** Rows examined: candidates read from the substring indexes, or every row for a scan. */
  readonly candidates: number;
  /** Whether the indexes answered, or a scan of every row. */
  readonly strategy: TableSearchStrategy;
  /** The radius searched last (for `searchNearest`, the radius that held `k` items). */
  readonly radius: number;
}

/** Options of {@link HashTable.searchRadius}. */
export interface TableSearchRadiusOptions {
  /**
   * `'auto'` (default): the indexes unless the query would look up more than
   * {@link MAX_LOOKUPS} substring values. Forcing a strategy is for tests and benchmarks.
   */
  readonly strategy?: 'auto' | TableSearchStrategy;
}

/** Options of {@link HashTable.searchNearest}. */
export interface SearchNearestOptions {
  /**
   * The largest radius searched through the indexes before scanning instead; default
   * {@link defaultMaxRadius} of the table's row count.
   */
  readonly maxRadius?: number;
}

/** A table of codes, open for loading and searching. */
export interface HashTable {
  /** The table name (unquoted). */
  readonly table: string;
  /** Code width in bits. */
  readonly bits: number;
  /** How the codes are split into indexed substrings. */
  readonly layout: HashLayout;
  /**
   * Appends items, in batches: each batch is copied (COPY FROM STDIN) into a temporary table
   * and inserted in one transaction, so an interrupted load leaves whole batches. Items whose
   * id is already in the table, or earlier in the same load, are skipped. Item numbers
   * continue from the last one. After a load the table is vacuumed and analysed, so that the
   * searches read the indexes alone.
   *
   * @returns The final progress.
   * @throws AekitError `InvalidArgument` for an item with a wrong code or label.
   */
  load(
    items: Iterable<HashItem> | AsyncIterable<HashItem>,
    options?: LoadOptions,
  ): Promise<LoadProgress>;
  /**
   * Every item within Hamming distance `radius` of `query`, sorted by distance, then by item
   * number: the same items in the same order as core's `searchRadius` over the same codes.
   */
  searchRadius(
    query: Uint32Array,
    radius: number,
    options?: TableSearchRadiusOptions,
  ): Promise<TableSearchResult>;
  /**
   * The `k` items nearest to `query` (all when there are fewer), sorted by distance, then by
   * item number, as core's `searchNearest`. Searches radius 0, 1, … through the indexes until
   * `k` items are within it; past `maxRadius`, scans every row (`strategy: 'scan'`).
   */
  searchNearest(
    query: Uint32Array,
    k: number,
    options?: SearchNearestOptions,
  ): Promise<TableSearchResult>;
  /** Number of items in the table. */
  count(): Promise<number>;
  /** Ends the pool when this table opened it (not a pool that was passed in). */
  close(): Promise<void>;
}

const { escapeIdentifier } = pg;

function invalid(what: string): Error {
  return aekitError('InvalidArgument', what);
}

function checkNonNegativeInteger(
  value: unknown,
  name: string,
  where: string,
): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalid(`${where}: ${name} must be a non-negative integer, got ${String(value)}.`);
  }
}

/**
 * Opens a table of codes, creating it (with its indexes) when it does not exist.
 *
 * @param connection - A connection string `postgres://user@host:port/db?table=NAME` (the
 *   `table` parameter is removed before pg sees the URL), a `pg.Pool` (left open by
 *   {@link HashTable.close}), or undefined for the `PG*` environment variables.
 * @throws AekitError `DatabaseUnreachable` when the server cannot be reached,
 *   `HashTableMismatch` when the table exists but is not an aekit table or has another code
 *   width, `InvalidArgument` for bad options (or no `bits` to create a table with).
 */
export async function openHashTable(
  connection?: Connection,
  options: OpenHashTableOptions = {},
): Promise<HashTable> {
  const resolved = resolveConnection(connection);
  const table = options.table ?? resolved.table ?? DEFAULT_TABLE;
  if (typeof table !== 'string' || table.length === 0) {
    throw invalid('openHashTable(): table must be a non-empty string.');
  }
  let client: pg.PoolClient | undefined;
  try {
    if (options.bits !== undefined) createLayout(options.bits, options.substrings); // checks
    client = await connect(resolved);
    const target = await ensureTable(client, table, options);
    await ensureIndexes(client, target);
    client.release();
    client = undefined;
    return createHashTable(resolved.pool, resolved.owned, target);
  } catch (err) {
    client?.release();
    if (resolved.owned) await resolved.pool.end();
    if (err instanceof RangeError) throw invalid(`openHashTable(): ${err.message}`);
    throw err;
  }
}

/** Finds `table`, creating it first when it does not exist; checks its code width. */
async function ensureTable(
  client: pg.PoolClient,
  table: string,
  options: OpenHashTableOptions,
): Promise<LoadTarget> {
  await client.query('BEGIN');
  try {
    // Two processes creating the same table: the second waits, then finds it.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`aekit-create:${table}`]);
    let found = await findTable(client, table);
    if (found === undefined) {
      if (options.bits === undefined) {
        throw invalid(`openHashTable(): table "${table}" does not exist; give bits to create it.`);
      }
      const layout = createLayout(options.bits, options.substrings);
      found = { oid: await createTable(client, table, layout), layout };
    } else if (options.bits !== undefined && found.layout.bits !== options.bits) {
      throw aekitError(
        'HashTableMismatch',
        table,
        `it holds ${found.layout.bits}-bit codes, not ${options.bits}-bit ones.`,
      );
    }
    await client.query('COMMIT');
    return { table, ...found };
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

/** The statements a search sends, built once per table. */
interface Statements {
  /** Matches by the indexes, for each set of substrings searched (a bit mask of them). */
  readonly byIndex: Map<number, string>;
  /** Matches within a radius by a scan. */
  readonly scanRadius: string;
  /** The k nearest by a scan. */
  readonly scanNearest: string;
  /** Number of rows. */
  readonly count: string;
}

/**
 * The radius query through the substrings in `mask`: a UNION ALL of index-only scans
 * (`s_k = ANY(values)`) gives the candidates with their distances; the matches are
 * deduplicated and joined to the table for their ids and labels; every row carries the
 * number of candidates (a row with a null item when nothing matches).
 */
function indexSql(table: string, layout: HashLayout, mask: number): string {
  const t = escapeIdentifier(table);
  const parts: string[] = [];
  layout.substrings.forEach((_, k) => {
    if (mask & (1 << k)) {
      parts.push(
        `SELECT item, bit_count(code # $1::bit(${layout.bits})) AS d FROM ${t} WHERE s${k} = ANY($${parts.length + 3}::integer[])`,
      );
    }
  });
  return `WITH c AS (${parts.join(' UNION ALL ')}),
    hit AS (SELECT DISTINCT item, d FROM c WHERE d <= $2)
    SELECT (SELECT count(*) FROM c)::float8 AS candidates, h.item::float8 AS item, h.d, t.id, t.label
    FROM (SELECT 1) AS one LEFT JOIN (hit h JOIN ${t} t ON t.item = h.item) ON true`;
}

function statements(table: string, layout: HashLayout): Statements {
  const t = escapeIdentifier(table);
  const distance = `bit_count(code # $1::bit(${layout.bits}))`;
  return {
    byIndex: new Map(),
    scanRadius: `SELECT item::float8 AS item, d, id, label FROM
      (SELECT item, ${distance} AS d, id, label FROM ${t}) c WHERE d <= $2`,
    scanNearest: `SELECT item::float8 AS item, ${distance} AS d, id, label FROM ${t}
      ORDER BY d, item LIMIT $2`,
    count: `SELECT count(*)::float8 AS n FROM ${t}`,
  };
}

interface Row {
  readonly item: number | null;
  readonly d: number;
  readonly id: string;
  readonly label: number | null;
}

/** Sorts rows by distance, then item, into a result. */
function toResult(
  rows: readonly Row[],
  candidates: number,
  strategy: TableSearchStrategy,
  radius: number,
): TableSearchResult {
  const sorted = rows.filter((r) => r.item !== null).sort((a, b) => a.d - b.d || a.item! - b.item!);
  return {
    ids: sorted.map((r) => r.id),
    items: sorted.map((r) => r.item!),
    labels: sorted.map((r) => r.label),
    distances: Uint16Array.from(sorted, (r) => r.d),
    candidates,
    strategy,
    radius,
  };
}

/**
 * The largest radius {@link HashTable.searchNearest} searches through the indexes by default
 * in a table of `rows` rows: its lookups stay within {@link MAX_LOOKUPS} and the candidates
 * expected for random codes within a quarter of the rows (past that, reading the candidates
 * from the indexes costs about as much as a sequential scan of every row).
 */
export function defaultMaxRadius(layout: HashLayout, rows: number): number {
  let r = 0;
  while (
    r < layout.bits &&
    lookupCount(layout, r + 1) <= MAX_LOOKUPS &&
    expectedCandidates(layout, r + 1, rows) <= rows / 4
  ) {
    r++;
  }
  return r;
}

function createHashTable(pool: pg.Pool, owned: boolean, target: LoadTarget): HashTable {
  const { table, layout } = target;
  const { bits } = layout;
  const sql = statements(table, layout);
  let closed = false;
  /** The planner's row count (exact after a load's ANALYZE), read once per load. */
  let rows: number | undefined;
  const rowEstimate = async (): Promise<number> => {
    if (rows === undefined) {
      const { rows: found } = await pool.query<{ n: number }>(
        'SELECT greatest(reltuples, 0)::float8 AS n FROM pg_class WHERE oid = $1',
        [target.oid],
      );
      rows = found[0]?.n ?? 0;
    }
    return rows;
  };

  const checkQuery = (query: unknown, where: string): void => {
    if (closed) throw invalid(`${where}: the table was closed.`);
    checkCode(query, bits, where);
  };

  async function scanRadius(query: Uint32Array, radius: number): Promise<TableSearchResult> {
    const [matches, count] = await Promise.all([
      pool.query<Row>(sql.scanRadius, [bitText(query, bits), radius]),
      pool.query<{ n: number }>(sql.count),
    ]);
    return toResult(matches.rows, count.rows[0]!.n, 'scan', radius);
  }

  async function indexRadius(query: Uint32Array, radius: number): Promise<TableSearchResult> {
    const radii = substringRadii(layout, radius);
    const values = substringValues(layout, query);
    // The substrings searched (a bit mask), and the values each looks up ($3, $4, …).
    let mask = 0;
    const params: unknown[] = [bitText(query, bits), radius];
    layout.substrings.forEach((s, k) => {
      const r = radii[k]!;
      if (r < 0) return;
      mask |= 1 << k;
      params.push(ballValues(values[k]!, s.length, r));
    });
    let text = sql.byIndex.get(mask);
    if (text === undefined) {
      text = indexSql(table, layout, mask);
      sql.byIndex.set(mask, text);
    }
    const { rows } = await pool.query<Row & { candidates: number }>(text, params);
    return toResult(rows, rows[0]?.candidates ?? 0, 'index', radius);
  }

  return {
    table,
    bits,
    layout,

    load(items, options = {}) {
      if (closed) return Promise.reject(invalid('load(): the table was closed.'));
      rows = undefined;
      return loadItems(pool, target, items, options);
    },

    async searchRadius(query, radius, options = {}) {
      const where = 'searchRadius()';
      checkQuery(query, where);
      checkNonNegativeInteger(radius, 'radius', where);
      const r = Math.min(radius, bits);
      const wanted = options.strategy ?? 'auto';
      if (wanted !== 'auto' && wanted !== 'index' && wanted !== 'scan') {
        throw invalid(
          `${where}: strategy must be "auto", "index" or "scan", got ${String(wanted)}.`,
        );
      }
      const strategy =
        wanted === 'auto' ? (lookupCount(layout, r) <= MAX_LOOKUPS ? 'index' : 'scan') : wanted;
      return strategy === 'index' ? indexRadius(query, r) : scanRadius(query, r);
    },

    async searchNearest(query, k, options = {}) {
      const where = 'searchNearest()';
      checkQuery(query, where);
      checkNonNegativeInteger(k, 'k', where);
      const maxRadius = options.maxRadius ?? defaultMaxRadius(layout, await rowEstimate());
      checkNonNegativeInteger(maxRadius, 'maxRadius', where);
      let candidates = 0;
      for (let r = 0; r <= Math.min(maxRadius, bits); r++) {
        const found = await indexRadius(query, r);
        candidates += found.candidates;
        if (found.items.length >= k) {
          return {
            ids: found.ids.slice(0, k),
            items: found.items.slice(0, k),
            labels: found.labels.slice(0, k),
            distances: found.distances.slice(0, k),
            candidates,
            strategy: 'index',
            radius: r,
          };
        }
        if (r === bits) return { ...found, candidates };
      }
      const [nearest, count] = await Promise.all([
        pool.query<Row>(sql.scanNearest, [bitText(query, bits), k]),
        pool.query<{ n: number }>(sql.count),
      ]);
      const result = toResult(nearest.rows, candidates + count.rows[0]!.n, 'scan', bits);
      const last = result.distances.at(-1);
      return { ...result, radius: last ?? 0 };
    },

    async count() {
      const { rows } = await pool.query<{ n: number }>(sql.count);
      return rows[0]!.n;
    },

    async close() {
      if (closed) return;
      closed = true;
      if (owned) await pool.end();
    },
  };
}
