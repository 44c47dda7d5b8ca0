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
import { hammingBallSize } from '@aekit/core/hashing';
import pg from 'pg';
import { type Connection, connect, resolveConnection } from './connection.js';
import {
  ballValues,
  bitText,
  createLayout,
  defaultSubstringCount,
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
 * stops growing its radius. 50,000 lookups (~100 ms at ~2 µs each, measured with 2,000,000
 * rows) cost under a tenth of a scan of 10,000,000 rows (~0.25 µs a row), and cover the
 * radius that holds the 10 nearest of 10,000,000 random 64-bit codes (14: 24,203 lookups).
 */
export const MAX_LOOKUPS = 50_000;

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
   * About how many items the table will hold, which chooses the number of substrings of a
   * new table ({@link defaultSubstringCount}: substrings of about `log2(expectedItems)`
   * bits). Ignored for an existing table, and when `substrings` is given.
   */
  readonly expectedItems?: number;
  /**
   * Number of substrings (indexed columns) of a new table, overriding `expectedItems`;
   * default {@link defaultSubstringCount}. Ignored for an existing table.
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
  /**
   * Rows examined: candidates read from the substring indexes, or every row for a scan (for
   * the scan of `searchNearest`, the row count of the table's statistics).
   */
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
  /**
   * How the codes are split into indexed substrings. A table created without `substrings`
   * or `expectedItems` gets its layout from its first load when the load's size is known
   * (an array, or `expectedItems` in the load's options).
   */
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
    if (options.expectedItems !== undefined) {
      checkNonNegativeInteger(options.expectedItems, 'expectedItems', 'openHashTable()');
    }
    if (options.bits !== undefined) layoutFor(options.bits, options); // checks
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

/** The layout of a new table of `bits`-bit codes. */
function layoutFor(bits: number, options: OpenHashTableOptions): HashLayout {
  return createLayout(
    bits,
    options.substrings ?? defaultSubstringCount(bits, options.expectedItems),
  );
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
      const layout = layoutFor(options.bits, options);
      const provisional = options.substrings === undefined && options.expectedItems === undefined;
      found = { oid: await createTable(client, table, layout, provisional), layout, provisional };
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

/**
 * Costs of a search, in microseconds, measured with 2,000,000 random codes on a busy 2-core
 * machine: an index lookup (a btree descent for one substring value: 4,526 in ~10 ms), a
 * candidate read from an index-only scan and compared with the query (64 bits, radius 14:
 * 24,203 lookups and 18,700 candidates in ~55 ms), a row of a sequential scan (2,000,000 rows
 * in ~0.5 s with two parallel workers), and a statement's fixed cost.
 */
const COST = { lookup: 2, candidate: 0.5, scanRow: 0.25, statement: 500 } as const;

/**
 * Index searches with more lookups than this run in a transaction that switches JIT
 * compilation off (two more round trips, ~0.2 ms): their plans cost past `jit_above_cost`
 * at 10,000,000 rows, and compiling takes longer than the lookups it would speed up.
 */
const HEAVY_LOOKUPS = 2000;

/** The settings of a heavy search's transaction (one simple query: one round trip). */
const HEAVY_SETTINGS = 'BEGIN; SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0';

/** Estimated microseconds of a radius query through the indexes of `rows` random codes. */
function indexCost(layout: HashLayout, radius: number, rows: number): number {
  return (
    COST.statement +
    lookupCount(layout, radius) * COST.lookup +
    expectedCandidates(layout, radius, rows) * COST.candidate
  );
}

/** Estimated microseconds of a scan of `rows` rows. */
const scanCost = (rows: number): number => COST.statement + rows * COST.scanRow;

/**
 * The search statement through the substrings in `mask` (a bit mask), or a scan of every
 * row when `mask` is 0. One pass over the candidates (for each substring, a nested loop of
 * index-only scans over the values looked up; UNION ALL) counts them and collects those within the radius (`$2`); the `$3` nearest of
 * them (all when null), duplicates removed, are joined to the table for their ids and
 * labels. Every row carries the number of candidates; a row with a null item says that
 * nothing matched. Parameters: `$1` the query as `bit(n)` text, `$2` the radius, `$3` the
 * limit, `$4…` the substring values looked up.
 */
function searchSql(table: string, layout: HashLayout, mask: number): string {
  const t = escapeIdentifier(table);
  const distance = `bit_count(code # $1::bit(${layout.bits}))`;
  const parts: string[] = [];
  layout.substrings.forEach((_, k) => {
    if (mask & (1 << k)) {
      parts.push(
        `SELECT item, ${distance} AS d FROM unnest($${parts.length + 4}::integer[]) AS v(s)
         JOIN ${t} ON s${k} = v.s`,
      );
    }
  });
  if (mask === 0) parts.push(`SELECT item, ${distance} AS d FROM ${t}`);
  // current_schema() is a parallel-unsafe function (pg_proc.proparallel = 'u'): it keeps
  // the planner from gathering the index lookups in parallel workers, whose start-up cost
  // 10-60 ms on 2 busy cores (measured: 64 bits, radius 9, 2M rows, 68 ms with 2 workers,
  // ~8 ms of work). A scan (mask 0) may use them.
  const serial = mask === 0 ? '' : ', current_schema() AS serial';
  return `SELECT c.n::float8 AS candidates, u.item::float8 AS item, u.d, t.id, t.label${serial}
    FROM (SELECT count(*) AS n,
            array_agg(x.item) FILTER (WHERE x.d <= $2) AS items,
            array_agg(x.d) FILTER (WHERE x.d <= $2) AS ds
          FROM (${parts.join(' UNION ALL ')}) AS x) AS c
    LEFT JOIN LATERAL (SELECT DISTINCT v.item, v.d FROM unnest(c.items, c.ds) AS v(item, d)
                       ORDER BY v.d, v.item LIMIT $3) AS u ON true
    LEFT JOIN ${t} AS t ON t.item = u.item`;
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
 * in a table of `rows` rows: its lookups stay within {@link MAX_LOOKUPS} and its estimated
 * cost (lookups and candidates expected for random codes) within a scan's.
 */
export function defaultMaxRadius(layout: HashLayout, rows: number): number {
  let r = 0;
  while (
    r < layout.bits &&
    lookupCount(layout, r + 1) <= MAX_LOOKUPS &&
    indexCost(layout, r + 1, rows) <= scanCost(rows)
  ) {
    r++;
  }
  return r;
}

/**
 * The radii {@link HashTable.searchNearest} tries through the indexes, in order, up to
 * `maxRadius`. Searching radius 0, 1, 2… costs a statement each and sums the lookups of
 * every radius; instead the search starts at the smallest radius expected to hold `2k`
 * uniformly random codes (30 bits, 10M rows: 3; 64 bits: 14), preceded by one cheap probe
 * (the largest radius costing at most an eighth of it) that finds the neighbours of
 * clustered codes, which are nearer than random ones.
 */
export function nearestRadii(
  layout: HashLayout,
  rows: number,
  k: number,
  maxRadius: number,
): number[] {
  const { bits } = layout;
  const last = Math.min(maxRadius, bits);
  let start = 0;
  while (start < last && (rows * hammingBallSize(bits, start)) / 2 ** bits < 2 * k) start++;
  const radii: number[] = [];
  const budget = indexCost(layout, start, rows) / 8;
  for (let r = start - 1; r >= 0; r--) {
    if (indexCost(layout, r, rows) <= budget) {
      radii.push(r);
      break;
    }
  }
  for (let r = start; r <= last; r++) radii.push(r);
  return radii;
}

function createHashTable(pool: pg.Pool, owned: boolean, target: LoadTarget): HashTable {
  const { table } = target;
  const { bits } = target.layout;
  /** The search statements by mask, for {@link layoutOf}. */
  let byMask = new Map<number, string>();
  let layout = target.layout;
  /** The layout, which the first load may still change (then the statements are rebuilt). */
  const layoutOf = (): HashLayout => {
    if (target.layout !== layout) {
      layout = target.layout;
      byMask = new Map();
    }
    return layout;
  };
  const t = escapeIdentifier(table);
  const countSql = `SELECT count(*)::float8 AS n FROM ${t}`;
  // The k nearest of every row: a top-k sort (in parallel workers where the server has them).
  const scanNearestSql = `SELECT item::float8 AS item, d, id, label FROM
    (SELECT item, bit_count(code # $1::bit(${bits})) AS d, id, label FROM ${t}) AS x
    ORDER BY d, item LIMIT $2`;
  let closed = false;
  /** The planner's row count (exact after a load's VACUUM), read once per load. */
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

  /** Runs a search with many lookups in a transaction whose settings suit it (see {@link HEAVY_SETTINGS}). */
  async function heavyQuery<R extends pg.QueryResultRow>(
    text: string,
    params: unknown[],
  ): Promise<R[]> {
    const client = await pool.connect();
    try {
      await client.query(HEAVY_SETTINGS);
      const { rows: found } = await client.query<R>(text, params);
      await client.query('COMMIT');
      return found;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * The items within `radius` of `query` (the `limit` nearest of them when given), through
   * the indexes or by a scan.
   */
  async function search(
    query: Uint32Array,
    radius: number,
    limit: number | null,
    strategy: TableSearchStrategy,
  ): Promise<TableSearchResult> {
    const layout = layoutOf();
    const params: unknown[] = [bitText(query, bits), radius, limit];
    let mask = 0;
    let lookups = 0;
    if (strategy === 'index') {
      const radii = substringRadii(layout, radius);
      const values = substringValues(layout, query);
      layout.substrings.forEach((s, k) => {
        const r = radii[k]!;
        if (r < 0) return;
        mask |= 1 << k;
        const ball = ballValues(values[k]!, s.length, r);
        lookups += ball.length;
        params.push(ball);
      });
    }
    let text = byMask.get(mask);
    if (text === undefined) {
      text = searchSql(table, layout, mask);
      byMask.set(mask, text);
    }
    const found =
      strategy === 'index' && lookups > HEAVY_LOOKUPS
        ? await heavyQuery<Row & { candidates: number }>(text, params)
        : (await pool.query<Row & { candidates: number }>(text, params)).rows;
    return toResult(found, found[0]?.candidates ?? 0, strategy, radius);
  }

  return {
    table,
    bits,
    get layout() {
      return layoutOf();
    },

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
      const layout = layoutOf();
      const wanted = options.strategy ?? 'auto';
      if (wanted !== 'auto' && wanted !== 'index' && wanted !== 'scan') {
        throw invalid(
          `${where}: strategy must be "auto", "index" or "scan", got ${String(wanted)}.`,
        );
      }
      let strategy: TableSearchStrategy = wanted === 'auto' ? 'index' : wanted;
      if (wanted === 'auto' && lookupCount(layout, r) > MAX_LOOKUPS) strategy = 'scan';
      else if (wanted === 'auto' && lookupCount(layout, r) > 1000) {
        const n = await rowEstimate();
        if (indexCost(layout, r, n) > scanCost(n)) strategy = 'scan';
      }
      return search(query, r, null, strategy);
    },

    async searchNearest(query, k, options = {}) {
      const where = 'searchNearest()';
      checkQuery(query, where);
      checkNonNegativeInteger(k, 'k', where);
      const n = await rowEstimate();
      const layout = layoutOf();
      const maxRadius = options.maxRadius ?? defaultMaxRadius(layout, n);
      checkNonNegativeInteger(maxRadius, 'maxRadius', where);
      let candidates = 0;
      for (const r of nearestRadii(layout, n, k, maxRadius)) {
        const found = await search(query, r, k, 'index');
        candidates += found.candidates;
        // Every item within r was a candidate: k of them are the k nearest of all.
        if (found.items.length >= k || r === bits) return { ...found, candidates };
      }
      const scanned = await pool.query<Row>(scanNearestSql, [bitText(query, bits), k]);
      const nearest = toResult(scanned.rows, candidates + n, 'scan', 0);
      return { ...nearest, radius: nearest.distances.at(-1) ?? 0 };
    },

    async count() {
      const { rows: found } = await pool.query<{ n: number }>(countSql);
      return found[0]!.n;
    },

    async close() {
      if (closed) return;
      closed = true;
      if (owned) await pool.end();
    },
  };
}
