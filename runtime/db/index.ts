/**
 * `backdev/runtime/db`: one Kysely instance for a generated project. With `DATABASE_URL` (or `url`) it
 * talks to PostgreSQL through node-postgres; without, it runs an embedded PGlite database stored in
 * `.data/pglite` (or in memory with `dataDir: 'memory://'`), so a new project needs no server.
 */
import { Kysely, PostgresDialect, type Dialect } from 'kysely';
import { PGliteDialect } from './pglite.js';

export { PGliteDialect } from './pglite.js';

export interface DatabaseOptions {
  /** A postgres:// URL; defaults to the DATABASE_URL environment variable. */
  url?: string | undefined;
  /** Where the embedded database keeps its files when there is no URL (default `.data/pglite`). */
  dataDir?: string | undefined;
  /** Connection pool size for PostgreSQL (default 10). */
  poolSize?: number | undefined;
}

/** Which database `createDatabase` would use for these options, for logs: `postgres` or `pglite:<dir>`. */
export function describeDatabase(options: DatabaseOptions = {}): string {
  const url = options.url ?? process.env.DATABASE_URL;
  return url ? 'postgres' : `pglite:${options.dataDir ?? '.data/pglite'}`;
}

export function createDialect(options: DatabaseOptions = {}): Dialect {
  const url = options.url ?? process.env.DATABASE_URL;
  if (url) {
    return new PostgresDialect({
      pool: async () => {
        const { default: pg } = await import('pg');
        return new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
      },
    });
  }
  const dataDir = options.dataDir ?? '.data/pglite';
  return new PGliteDialect({
    database: async () => {
      const { PGlite } = await import('@electric-sql/pglite');
      return new PGlite(dataDir === 'memory://' ? undefined : dataDir);
    },
  });
}

/** A Kysely instance; nothing connects until the first query. Call `destroy()` on shutdown. */
export function createDatabase<DB>(options: DatabaseOptions = {}): Kysely<DB> {
  return new Kysely<DB>({ dialect: createDialect(options) });
}
