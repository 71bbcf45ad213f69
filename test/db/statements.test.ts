/**
 * runStatements (backdev/runtime/db): a migration's statements reach the database as one batch inside its
 * transaction; a failing one is named (position, SQL, SQLSTATE) and none is applied; a driver that refuses
 * a batch still gets every statement, one at a time. PGlite in memory, or the server of DATABASE_URL.
 */
import { sql, type CompiledQuery, type DatabaseConnection, type Dialect, type Driver, type Kysely } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase, isBatchQuery, runStatements, StatementError } from '../../runtime/db/index.js';
import { DATABASE_LABEL, DATABASE_URL, dropSchema, freshSchema, schemaName } from './support.js';

/** A dialect whose connections report every query to `seen`, and refuse batches when `refuseBatches`. */
function watched(dialect: Dialect, seen: CompiledQuery[], refuseBatches: () => boolean): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createDriver: (): Driver => {
      const inner = dialect.createDriver();
      const patched = new WeakSet<DatabaseConnection>();
      // The driver gets its own connection objects back (commit, release), so they are patched in place.
      const watch = (connection: DatabaseConnection): DatabaseConnection => {
        if (patched.has(connection)) return connection;
        patched.add(connection);
        const execute = connection.executeQuery.bind(connection);
        connection.executeQuery = (query) => {
          seen.push(query);
          if (isBatchQuery(query) && refuseBatches()) return Promise.reject(new Error('this driver takes one statement per query'));
          return execute(query);
        };
        return connection;
      };
      return {
        init: () => inner.init(),
        acquireConnection: async () => watch(await inner.acquireConnection()),
        beginTransaction: (c, s) => inner.beginTransaction(c, s),
        commitTransaction: (c) => inner.commitTransaction(c),
        rollbackTransaction: (c) => inner.rollbackTransaction(c),
        releaseConnection: (c) => inner.releaseConnection(c),
        destroy: () => inner.destroy(),
      };
    },
  };
}

describe(`runStatements on ${DATABASE_LABEL}`, () => {
  const seen: CompiledQuery[] = [];
  let refuse = false;
  const wrap = (d: Dialect) => watched(d, seen, () => refuse);
  const db: Kysely<any> = DATABASE_URL ? createDatabase({ url: DATABASE_URL, poolSize: 2, wrapDialect: wrap }) : createDatabase({ url: null, dataDir: 'memory://', wrapDialect: wrap });
  const schema = schemaName('run_statements');
  afterAll(async () => {
    await dropSchema(db, schema).catch(() => undefined);
    await db.destroy();
  });

  const tables = async () =>
    (await sql<{ name: string }>`select tablename as name from pg_tables where schemaname = ${schema} order by 1`.execute(db)).rows.map((r) => r.name);
  /** Runs the statements `make` builds in a migration-like transaction whose search_path is the test schema. */
  const migrate = (make: (trx: Kysely<any>) => Parameters<typeof runStatements>[1]) =>
    db.transaction().execute(async (trx) => {
      await sql`select set_config('search_path', ${schema}, true)`.execute(trx);
      seen.length = 0;
      await runStatements(trx, make(trx));
    });
  const create = (trx: Kysely<any>, name: string) => trx.schema.createTable(name).addColumn('id', 'integer', (c) => c.primaryKey());

  it('sends the statements in one batch behind a savepoint', async () => {
    await freshSchema(db, schema);
    await migrate((trx) => [create(trx, 'a'), create(trx, 'b'), sql`create index ${sql.ref('b_id_idx')} on ${sql.ref('b')} (${sql.ref('id')})`]);
    // The savepoint, then the batch (which releases it), then the commit.
    const sent = [...seen];
    expect(sent.filter(isBatchQuery)).toHaveLength(1);
    expect(sent.map((q) => q.sql.split(/\s/)[0])).toEqual(['savepoint', 'create', 'commit']);
    expect(await tables()).toEqual(['a', 'b']);
  });

  it('names the statement that fails, and applies none of them', async () => {
    await freshSchema(db, schema);
    const failing = migrate((trx) => [create(trx, 'a'), create(trx, 'a'), create(trx, 'b')]);
    const err = await failing.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StatementError);
    const e = err as StatementError;
    expect([e.position, e.count, e.code]).toEqual([2, 3, '42P07']);
    expect(e.statement).toMatch(/^create table "a"/);
    expect(e.message).toMatch(/already exists \(statement 2 of 3: create table "a"/);
    expect(await tables()).toEqual([]);
  });

  it('runs them one at a time where the driver refuses a batch', async () => {
    await freshSchema(db, schema);
    refuse = true;
    try {
      await migrate((trx) => [create(trx, 'a'), create(trx, 'b')]);
    } finally {
      refuse = false;
    }
    expect(await tables()).toEqual(['a', 'b']);
    expect(seen.filter((q) => !isBatchQuery(q) && q.sql.startsWith('create table')).length).toBe(2);
  });
});
