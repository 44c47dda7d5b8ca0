/**
 * The table's schema: its columns, its indexes (named after the table's oid, so that a name
 * never exceeds PostgreSQL's 63 bytes whatever the table is called) and the comment that
 * records its format and layout.
 */
import { aekitError } from '@aekit/core/errors';
import pg from 'pg';
import type { HashLayout } from './layout.js';

/** Name of the table format, written in the table's comment. */
export const HASH_TABLE_FORMAT = 'aekit-hash-table/1';

const { escapeIdentifier, escapeLiteral } = pg;

/** What the table's comment holds (JSON). */
interface TableMeta {
  readonly format: string;
  readonly bits: number;
  readonly substrings: HashLayout['substrings'];
  /** True while the layout may still be sized by the first load (see {@link TableInfo}). */
  readonly provisional?: boolean;
}

/** A table as found in the catalogue. */
export interface TableInfo {
  /** Its oid, which names its indexes. */
  readonly oid: number;
  /** Its layout. */
  readonly layout: HashLayout;
  /**
   * Whether the layout was chosen without knowing how many items the table would hold
   * (neither `substrings` nor `expectedItems` given): the first load, into the empty table,
   * may then choose it again from its own size.
   */
  readonly provisional: boolean;
}

/** The substring columns, `s0, s1, …`. */
export function substringColumns(layout: HashLayout): string[] {
  return layout.substrings.map((_, k) => `s${k}`);
}

/**
 * Every index of the table, as `CREATE INDEX IF NOT EXISTS` statements: unique on `item`
 * (the order of ties) and on `id` (no duplicates; the column's collation is "C", which
 * compares bytes: its build is several times faster than a locale's), and one btree per
 * substring column that INCLUDEs the code and the item, so that radius queries are
 * index-only scans.
 */
export function indexStatements(table: string, oid: number, layout: HashLayout): string[] {
  const t = escapeIdentifier(table);
  return [
    `CREATE UNIQUE INDEX IF NOT EXISTS aekit_${oid}_item ON ${t} (item)`,
    `CREATE UNIQUE INDEX IF NOT EXISTS aekit_${oid}_id ON ${t} (id)`,
    ...substringColumns(layout).map(
      (s) => `CREATE INDEX IF NOT EXISTS aekit_${oid}_${s} ON ${t} (${s}) INCLUDE (code, item)`,
    ),
  ];
}

/** The statements that drop every index of {@link indexStatements} (before a bulk load). */
export function dropIndexStatements(oid: number, layout: HashLayout): string[] {
  return ['item', 'id', ...substringColumns(layout)].map(
    (name) => `DROP INDEX IF EXISTS aekit_${oid}_${name}`,
  );
}

/** The statement that records the table's format and layout in its comment. */
function commentStatement(table: string, layout: HashLayout, provisional: boolean): string {
  const meta: TableMeta = {
    format: HASH_TABLE_FORMAT,
    bits: layout.bits,
    substrings: layout.substrings,
    ...(provisional ? { provisional } : {}),
  };
  return `COMMENT ON TABLE ${escapeIdentifier(table)} IS ${escapeLiteral(JSON.stringify(meta))}`;
}

/** Creates the table (without its indexes) and its comment; returns its oid. */
export async function createTable(
  client: pg.ClientBase,
  table: string,
  layout: HashLayout,
  provisional: boolean,
): Promise<number> {
  const t = escapeIdentifier(table);
  const columns = substringColumns(layout).map((s) => `${s} integer NOT NULL`);
  await client.query(
    `CREATE TABLE ${t} (item bigint NOT NULL, id text COLLATE "C" NOT NULL, label integer,
       code bit(${layout.bits}) NOT NULL, ${columns.join(', ')})`,
  );
  await client.query(commentStatement(table, layout, provisional));
  return (await findTable(client, table))!.oid;
}

/**
 * Gives an empty table, whose indexes were dropped, another layout: its substring columns
 * are replaced, and its comment records the layout as final.
 */
export async function changeLayout(
  client: pg.ClientBase,
  table: string,
  from: HashLayout,
  to: HashLayout,
): Promise<void> {
  const drop = substringColumns(from).map((s) => `DROP COLUMN ${s}`);
  const add = substringColumns(to).map((s) => `ADD COLUMN ${s} integer NOT NULL`);
  await client.query(`ALTER TABLE ${escapeIdentifier(table)} ${[...drop, ...add].join(', ')}`);
  await client.query(commentStatement(table, to, false));
}

/** Records the table's layout as final (after its first load). */
export async function fixLayout(
  client: pg.ClientBase,
  table: string,
  layout: HashLayout,
): Promise<void> {
  await client.query(commentStatement(table, layout, false));
}

/**
 * The table's oid and layout, or undefined when there is no such table.
 *
 * @throws AekitError `HashTableMismatch` when the table exists but its comment does not
 *   describe an aekit hash table.
 */
export async function findTable(
  client: pg.ClientBase,
  table: string,
): Promise<TableInfo | undefined> {
  const { rows } = await client.query<{ oid: number; comment: string | null }>(
    `SELECT c.oid::integer AS oid, obj_description(c.oid, 'pg_class') AS comment
     FROM pg_class c WHERE c.oid = to_regclass($1)`,
    [escapeIdentifier(table)],
  );
  if (rows.length === 0) return undefined;
  const { oid, comment } = rows[0]!;
  let meta: Partial<TableMeta> | undefined;
  try {
    meta = comment === null ? undefined : (JSON.parse(comment) as Partial<TableMeta>);
  } catch {
    meta = undefined;
  }
  if (meta?.format !== HASH_TABLE_FORMAT || !Number.isInteger(meta.bits) || !meta.substrings) {
    throw aekitError(
      'HashTableMismatch',
      table,
      `it exists but is not an aekit hash table (its comment does not describe ${HASH_TABLE_FORMAT}).`,
    );
  }
  return {
    oid,
    layout: { bits: meta.bits!, substrings: meta.substrings },
    provisional: meta.provisional === true,
  };
}
