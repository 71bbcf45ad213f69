/**
 * `backdev/runtime/db`: one Kysely instance for a generated project. With `DATABASE_URL` (or `url`) it
 * talks to PostgreSQL through node-postgres; without, it runs an embedded PGlite database stored in
 * `.data/pglite` (or in memory with `dataDir: 'memory://'`), so a new project needs no server.
 */
import { mkdirSync } from 'node:fs';
import { Kysely, PostgresDialect, type Dialect } from 'kysely';
import { PGliteDialect } from './pglite.js';

export { PGliteDialect } from './pglite.js';
export { DataError, mapDataErrors, sqlState, toDataError, type DataErrorDetail, type DataOperation, type ErrorMapping } from './errors.js';
export {
  decodeCursor,
  readCursor,
  type CursorKind,
  encodeCursor,
  FolderMigrationProvider,
  isForeignKeyViolation,
  isUniqueViolation,
  migrateStepwise,
  migrateToLatest,
  violatedConstraint,
} from './helpers.js';

export interface DatabaseOptions {
  /** A postgres:// URL; defaults to the DATABASE_URL environment variable (`null`: ignore it, use PGlite). */
  url?: string | null | undefined;
  /** Where the embedded database keeps its files when there is no URL (default `.data/pglite`). */
  dataDir?: string | undefined;
  /** Connection pool size for PostgreSQL (default 10). */
  poolSize?: number | undefined;
}

/** Which database `createDatabase` would use for these options, for logs: `postgres` or `pglite:<dir>`. */
export function describeDatabase(options: DatabaseOptions = {}): string {
  const url = resolveUrl(options);
  return url ? 'postgres' : `pglite:${options.dataDir ?? '.data/pglite'}`;
}

function resolveUrl(options: DatabaseOptions): string | undefined {
  return options.url === null ? undefined : (options.url ?? process.env.DATABASE_URL) || undefined;
}

/*
 * Both drivers return the same JavaScript values, matching the JSON types of the API: `date` as
 * 'YYYY-MM-DD' (not a Date at local midnight), `bigint` as a number (exact up to 2^53), `timestamptz` as a
 * Date, `numeric` as a string, `jsonb` parsed.
 */
const DATE_OID = 1082;
const INT8_OID = 20;

export function createDialect(options: DatabaseOptions = {}): Dialect {
  const url = resolveUrl(options);
  if (url) {
    return new PostgresDialect({
      pool: async () => {
        const { default: pg } = await import('pg');
        const parse = (oid: number, format?: 'text' | 'binary') =>
          oid === DATE_OID ? (v: string) => v : oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format);
        return new pg.Pool({ connectionString: url, max: options.poolSize ?? 10, types: { getTypeParser: parse as typeof pg.types.getTypeParser } });
      },
    });
  }
  const dataDir = options.dataDir ?? '.data/pglite';
  return new PGliteDialect({
    database: async () => {
      const { PGlite, types } = await import('@electric-sql/pglite');
      if (dataDir !== 'memory://') mkdirSync(dataDir, { recursive: true });
      const parsers = { [types.DATE]: (v: string) => v, [types.INT8]: (v: string) => Number(v) };
      return PGlite.create(dataDir === 'memory://' ? { parsers } : { dataDir, parsers });
    },
  });
}

/** A Kysely instance; nothing connects until the first query. Call `destroy()` on shutdown. */
export function createDatabase<DB>(options: DatabaseOptions = {}): Kysely<DB> {
  return new Kysely<DB>({ dialect: createDialect(options) });
}
