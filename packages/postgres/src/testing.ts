/**
 * `@aekit/postgres/testing`: a private PostgreSQL server in a temporary folder, for tests
 * and benchmarks of the hash tables.
 *
 * @packageDocumentation
 */
export {
  findPostgresBin,
  POSTGRES_ROOT,
  startTemporaryPostgres,
  type TemporaryPostgres,
  type TemporaryPostgresOptions,
} from './temporary-postgres.js';
