/**
 * Where the table lives: a connection string (with the table name in its `table` query
 * parameter), a `pg.Pool` the caller owns, or nothing (the `PG*` environment variables).
 */
import { aekitError, aekitErrorWithCause } from '@aekit/core/errors';
import pg from 'pg';

/** A connection string (`postgres://user@host:port/db?table=NAME`), a pool, or nothing. */
export type Connection = string | pg.Pool | undefined;

/** The pool to use, whether this package owns it (and ends it), and the table name given. */
export interface ResolvedConnection {
  readonly pool: pg.Pool;
  readonly owned: boolean;
  /** The `table` query parameter of a connection string, when it has one. */
  readonly table: string | undefined;
  /** Where the server is, for messages: `host:port/database`. */
  readonly target: string;
}

/**
 * Splits a connection string into the URL given to pg (without the `table` parameter) and
 * the table name.
 */
export function parseConnectionString(connection: string): { url: string; table?: string } {
  let url: URL;
  try {
    url = new URL(connection);
  } catch {
    throw aekitError(
      'InvalidArgument',
      `"${connection}" is not a connection string: expected postgres://user@host:port/database[?table=NAME].`,
    );
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw aekitError(
      'InvalidArgument',
      `"${url.protocol}" connection strings are not PostgreSQL ones: expected postgres://user@host:port/database[?table=NAME].`,
    );
  }
  const table = url.searchParams.get('table') ?? undefined;
  url.searchParams.delete('table');
  return { url: url.toString(), ...(table === undefined ? {} : { table }) };
}

/** `host:port/database` of a pool's settings, completed as pg does (`PG*` variables, defaults). */
function describe(config: pg.PoolConfig | undefined): string {
  const env = process.env;
  let { host, port, database } = config ?? {};
  if (config?.connectionString !== undefined) {
    const url = new URL(config.connectionString);
    host = decodeURIComponent(url.hostname) || url.searchParams.get('host') || undefined;
    port = url.port ? Number(url.port) : undefined;
    database = decodeURIComponent(url.pathname.slice(1)) || undefined;
  }
  host ??= env.PGHOST ?? pg.defaults.host ?? 'localhost';
  port ??= Number(env.PGPORT ?? pg.defaults.port ?? 5432);
  database ??= env.PGDATABASE ?? env.PGUSER ?? env.USER ?? 'postgres';
  return `${host}:${port}/${database}`;
}

/** The pool for `connection` (see {@link Connection}). */
export function resolveConnection(connection: Connection): ResolvedConnection {
  if (connection instanceof pg.Pool) {
    return {
      pool: connection,
      owned: false,
      table: undefined,
      target: describe(connection.options),
    };
  }
  if (connection === undefined) {
    return { pool: new pg.Pool(), owned: true, table: undefined, target: describe(undefined) };
  }
  if (typeof connection !== 'string') {
    throw aekitError(
      'InvalidArgument',
      'openHashTable(): the connection must be a connection string, a pg.Pool or undefined.',
    );
  }
  const { url, table } = parseConnectionString(connection);
  const config = { connectionString: url };
  return { pool: new pg.Pool(config), owned: true, table, target: describe(config) };
}

/** Error codes of a connection that failed before the server answered. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
]);

/**
 * A first connection from the pool, turning a refused or unanswered connection (and a
 * server that rejects the login or database) into `DatabaseUnreachable`.
 */
export async function connect(resolved: ResolvedConnection): Promise<pg.PoolClient> {
  try {
    return await resolved.pool.connect();
  } catch (err) {
    const code = (err as { code?: string }).code;
    const message = err instanceof Error ? err.message : String(err);
    // 28xxx: authentication; 3D000: no such database; 57P03: the server is starting up.
    if (
      (code !== undefined && UNREACHABLE.has(code)) ||
      /^(28|3D|57P0)/.test(code ?? '') ||
      /connect|timeout|terminated/i.test(message)
    ) {
      throw aekitErrorWithCause(
        err,
        'DatabaseUnreachable',
        resolved.target,
        code ? `${message} (${code})` : message,
      );
    }
    throw err;
  }
}
