/**
 * A Kysely dialect for PGlite (PostgreSQL compiled to WebAssembly, in-process): lets a project run with an
 * embedded database and no server. PGlite has one session, so connections are handed out one at a time.
 */
import type { PGlite } from '@electric-sql/pglite';
import {
  CompiledQuery,
  PostgresAdapter,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
} from 'kysely';
import { BackdevPostgresIntrospector } from './introspector.js';
import { isBatchQuery } from './statements.js';

export interface PGliteDialectConfig {
  /** The PGlite instance, or a function creating it on first use. */
  database: PGlite | (() => Promise<PGlite>);
  /** Close the instance when Kysely is destroyed (default: true when created by the function). */
  closeOnDestroy?: boolean;
  /** Called when Kysely is destroyed, after the instance is closed (e.g. to release a folder lock). */
  onDestroy?: () => void | Promise<void>;
}

export class PGliteDialect implements Dialect {
  constructor(private readonly config: PGliteDialectConfig) {}
  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PGliteDriver(this.config);
  }
  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new BackdevPostgresIntrospector(db);
  }
}

class PGliteDriver implements Driver {
  #db: PGlite | undefined;
  #connection: PGliteConnection | undefined;
  /** Resolves when the connection is free; each acquirer chains on it. */
  #free: Promise<void> = Promise.resolve();
  #release: (() => void) | undefined;

  constructor(private readonly config: PGliteDialectConfig) {}

  async init(): Promise<void> {
    const source = this.config.database;
    this.#db = typeof source === 'function' ? await source() : source;
    await this.#db.waitReady;
    this.#connection = new PGliteConnection(this.#db);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const previous = this.#free;
    let release!: () => void;
    this.#free = new Promise((resolve) => (release = resolve));
    await previous;
    this.#release = release;
    return this.#connection!;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin'));
  }
  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async releaseConnection(): Promise<void> {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }

  async destroy(): Promise<void> {
    const owned = this.config.closeOnDestroy ?? typeof this.config.database === 'function';
    try {
      if (owned && this.#db && !this.#db.closed) await this.#db.close();
    } finally {
      this.#db = undefined;
      await this.config.onDestroy?.();
    }
  }
}

class PGliteConnection implements DatabaseConnection {
  constructor(private readonly db: PGlite) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    // Several statements (runStatements): `query` takes one, `exec` runs them all in one call.
    if (isBatchQuery(compiled)) {
      await this.db.exec(compiled.sql);
      return { rows: [] };
    }
    const result = await this.db.query<R>(compiled.sql, [...compiled.parameters]);
    const affected = result.affectedRows;
    return {
      rows: result.rows,
      ...(affected !== undefined && compiled.query.kind !== 'SelectQueryNode' ? { numAffectedRows: BigInt(affected) } : {}),
    };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('PGlite does not support streaming queries');
  }
}
