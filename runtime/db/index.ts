/**
 * `backdev/runtime/db`: one Kysely instance for a generated project. With `DATABASE_URL` (or `url`) it
 * talks to PostgreSQL through node-postgres; without, it runs an embedded PGlite database stored in
 * `.data/pglite` (or in memory with `dataDir: 'memory://'`), so a new project needs no server.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { Kysely, PostgresDialect, type DatabaseIntrospector, type Dialect, type Driver } from 'kysely';
import { BackdevPostgresIntrospector } from './introspector.js';
import { createMigrator, FolderMigrationProvider, migrateStepwise } from './helpers.js';
import { lockDataDir } from './lock.js';
import { PGliteDialect } from './pglite.js';
import { createPGlite } from './pglite-template.js';

export { PGliteDialect } from './pglite.js';
export { DatabaseLockedError, lockDataDir, type LockHolder, type LockOptions } from './lock.js';
export { isBatchQuery, runStatements, STATEMENT_BATCH, StatementError, type BatchQuery, type Statement } from './statements.js';
export { DataError, mapDataErrors, sqlState, toDataError, unreachableReason, type DataErrorDetail, type DataOperation, type ErrorMapping } from './errors.js';
export {
  decodeCursor,
  readCursor,
  type CursorKind,
  createMigrator,
  encodeCursor,
  FolderMigrationProvider,
  MigrationLoadError,
  type MigrationLoader,
  type TypeScriptImports,
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

export interface CreateDatabaseOptions extends DatabaseOptions {
  /**
   * A span per statement, under the active span (the request's, in a server that traces): the dialect is
   * wrapped with `traceDialect` of `backdev/runtime/tracing` when the database opens. It records only while
   * a tracing instance runs (`startServer({ tracing })`, `createTracing().start()`); otherwise a statement
   * costs one check. Without `@opentelemetry/api` installed the database works untraced. Default false.
   */
  tracing?: boolean | undefined;
  /** Wraps the dialect before Kysely uses it (applied after `tracing`): instrumentation of your own. */
  wrapDialect?: ((dialect: Dialect) => Dialect) | undefined;
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

/** Kysely's PostgreSQL dialect with the introspector of ./introspector.ts (the same answers, cheaper). */
class BackdevPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new BackdevPostgresIntrospector(db);
  }
}

export function createDialect(options: DatabaseOptions = {}): Dialect {
  const url = resolveUrl(options);
  if (url) {
    return new BackdevPostgresDialect({
      pool: async () => {
        const { default: pg } = await import('pg');
        const parse = (oid: number, format?: 'text' | 'binary') =>
          oid === DATE_OID ? (v: string) => v : oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format);
        const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10, types: { getTypeParser: parse as typeof pg.types.getTypeParser } });
        // A connection the server ends while it is checked out (a transaction between two statements, say:
        // pg_terminate_backend, a failover, a restart) emits 'error' on its client, and an 'error' nobody
        // listens to ends the process. The statement that uses it next fails with that error instead, and
        // the pool drops the connection.
        pool.on('connect', (client) => client.on('error', () => {}));
        // An idle connection the server ends is reported on the pool, which drops it and opens another when
        // one is needed: without a listener, that report would end the process too.
        pool.on('error', () => {});
        return pool;
      },
    });
  }
  const dataDir = options.dataDir ?? '.data/pglite';
  // One process at a time on a folder (see lock.ts): taken when the database opens, released on destroy().
  let release: (() => void) | undefined;
  return new PGliteDialect({
    database: async () => {
      const { PGlite, types } = await import('@electric-sql/pglite');
      if (dataDir !== 'memory://') {
        mkdirSync(dataDir, { recursive: true });
        release = await lockDataDir(dataDir);
      }
      const parsers = { [types.DATE]: (v: string) => v, [types.INT8]: (v: string) => Number(v) };
      try {
        return await createPGlite(PGlite, dataDir, { parsers });
      } catch (err) {
        release?.();
        throw err;
      }
    },
    onDestroy: () => release?.(),
  });
}

/** A Kysely instance; nothing connects until the first query. Call `destroy()` on shutdown. */
export function createDatabase<DB>(options: CreateDatabaseOptions = {}): Kysely<DB> {
  let dialect = createDialect(options);
  if (options.tracing) dialect = tracedWhenAvailable(dialect);
  if (options.wrapDialect) dialect = options.wrapDialect(dialect);
  return new Kysely<DB>({ dialect });
}

/**
 * `dialect` whose driver is wrapped with `traceDialect` when it initialises (the first query). The tracing
 * module is loaded then, not here: it needs `@opentelemetry/api`, an optional dependency, and this module
 * must load without it. Kysely calls nothing but `init()` before initialisation has finished (and `destroy()`
 * only after it).
 */
function tracedWhenAvailable(dialect: Dialect): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createDriver: () => {
      let inner: Driver | undefined;
      const init = async () => {
        const traced = await import('../tracing/kysely.js').then(
          (m) => m.traceDialect(dialect),
          (err: NodeJS.ErrnoException) => {
            if (err?.code === 'ERR_MODULE_NOT_FOUND') return dialect; // no @opentelemetry/api: untraced
            throw err;
          },
        );
        inner ??= traced.createDriver();
        await inner.init();
      };
      // Plain methods rather than a Proxy: they run for every statement.
      const driver = (): Driver => inner!;
      const wrapper: Driver = {
        init: async () => {
          await init();
          // Savepoints only where the driver has them (Kysely checks for the method when one is asked for).
          const d = inner!;
          if (d.savepoint) wrapper.savepoint = (connection, name, compile) => d.savepoint!(connection, name, compile);
          if (d.rollbackToSavepoint) wrapper.rollbackToSavepoint = (connection, name, compile) => d.rollbackToSavepoint!(connection, name, compile);
          if (d.releaseSavepoint) wrapper.releaseSavepoint = (connection, name, compile) => d.releaseSavepoint!(connection, name, compile);
        },
        acquireConnection: () => driver().acquireConnection(),
        beginTransaction: (connection, settings) => driver().beginTransaction(connection, settings),
        commitTransaction: (connection) => driver().commitTransaction(connection),
        rollbackTransaction: (connection) => driver().rollbackTransaction(connection),
        releaseConnection: (connection) => driver().releaseConnection(connection),
        destroy: () => inner?.destroy() ?? Promise.resolve(),
      };
      return wrapper;
    },
  };
}

/**
 * What is wrong with the database settings of `env` (DATABASE_URL), one sentence each naming the variable
 * and the fix; empty when they are usable. Values are not echoed (a URL may hold a password).
 */
export function databaseConfigProblems(env: Record<string, string | undefined> = process.env): string[] {
  const url = env.DATABASE_URL?.trim();
  if (!url) return [];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return ['DATABASE_URL is not a URL: write it as postgres://user:password@host:5432/database (or leave it empty to use the embedded database in .data/pglite)'];
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    return [`DATABASE_URL must start with postgres:// or postgresql:// (it starts with ${parsed.protocol}//): only PostgreSQL is supported; leave it empty to use the embedded database`];
  }
  return [];
}

export interface MigrateOnStartOptions extends DatabaseOptions {
  /** The migrations folder (default `db/migrations`). */
  folder?: string;
}

/**
 * Applies the pending migrations of `folder` (each in its own transaction) and returns their names; a
 * missing or empty folder is nothing to do. Servers call it before listening, so a restart picks up new
 * migrations. Throws the migration's error (with its name) when one fails; those before it stay applied.
 */
export async function migrateOnStart(options: MigrateOnStartOptions = {}): Promise<string[]> {
  const folder = options.folder ?? 'db/migrations';
  if (!existsSync(folder)) return [];
  const provider = new FolderMigrationProvider(folder);
  if (Object.keys(await provider.getMigrations()).length === 0) return [];
  const db = createDatabase<unknown>(options);
  try {
    const { results = [], error } = await migrateStepwise(createMigrator({ db, provider }), 'up');
    if (error) {
      const failed = results.find((r) => r.status === 'Error')?.migrationName;
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`migration ${failed ?? '(unknown)'} failed: ${message}`, { cause: error });
    }
    return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
  } finally {
    await db.destroy();
  }
}
