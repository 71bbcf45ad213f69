/** Statement kind and table read from Kysely's query tree, for the database span's name. */
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql, type CompiledQuery, type DatabaseConnection, type Dialect, type Driver, type QueryResult } from 'kysely';
import { describe, expect, it } from 'vitest';
import { statementKind, statementTable, traceDialect } from '../../../runtime/tracing/kysely.js';

interface DB {
  pets: { id: number; name: string };
  'shop.orders': { id: number };
}

const db = new Kysely<DB>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (k) => new PostgresIntrospector(k),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

const cases: [string, CompiledQuery, string, string | undefined][] = [
  ['select', db.selectFrom('pets').selectAll().compile(), 'select', 'pets'],
  ['select with alias', db.selectFrom('pets as p').select('p.id').compile(), 'select', 'pets'],
  ['select from a schema', db.selectFrom('shop.orders').selectAll().compile(), 'select', 'shop.orders'],
  ['insert', db.insertInto('pets').values({ id: 1, name: 'a' }).compile(), 'insert', 'pets'],
  ['update', db.updateTable('pets').set({ name: 'b' }).compile(), 'update', 'pets'],
  ['delete', db.deleteFrom('pets').where('id', '=', 1).compile(), 'delete', 'pets'],
  ['raw SQL', sql`  CREATE TABLE x (id int)`.compile(db), 'create', undefined],
  ['select without from', db.selectNoFrom(sql<number>`1`.as('one')).compile(), 'select', undefined],
];

describe('statementKind / statementTable', () => {
  it.each(cases)('%s', (_name, query, kind, table) => {
    expect(statementKind(query)).toBe(kind);
    expect(statementTable(query)).toBe(table);
  });
});

/** A driver that records its calls, reading a private field in each (so a call with another `this` throws). */
class RecordingDriver implements Driver {
  readonly #calls: string[] = [];
  readonly connection: DatabaseConnection = {
    executeQuery: <R>(query: CompiledQuery) => {
      this.#calls.push(`query ${query.sql}`);
      return Promise.resolve({ rows: [] as R[] } as QueryResult<R>);
    },
    streamQuery: () => {
      throw new Error('not used');
    },
  };
  calls(): string[] {
    return this.#calls;
  }
  async init() {
    this.#calls.push('init');
  }
  async acquireConnection() {
    this.#calls.push('acquire');
    return this.connection;
  }
  async beginTransaction() {
    this.#calls.push('begin');
  }
  async commitTransaction() {
    this.#calls.push('commit');
  }
  async rollbackTransaction() {
    this.#calls.push('rollback');
  }
  async releaseConnection() {
    this.#calls.push('release');
  }
  async destroy() {
    this.#calls.push('destroy');
  }
}

class SavepointDriver extends RecordingDriver {
  async savepoint(_c: DatabaseConnection, name: string) {
    this.calls().push(`savepoint ${name}`);
  }
  async rollbackToSavepoint(_c: DatabaseConnection, name: string) {
    this.calls().push(`rollback to ${name}`);
  }
  async releaseSavepoint(_c: DatabaseConnection, name: string) {
    this.calls().push(`release ${name}`);
  }
}

function dialectOf(driver: Driver): Dialect {
  return {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => driver,
    createIntrospector: (k) => new PostgresIntrospector(k),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  };
}

describe('traceDialect driver', () => {
  const compile = new PostgresQueryCompiler().compileQuery.bind(new PostgresQueryCompiler());

  it('hands every call to the driver itself, and statements to its connection', async () => {
    const inner = new SavepointDriver();
    const driver = traceDialect(dialectOf(inner)).createDriver();
    await driver.init();
    const connection = await driver.acquireConnection();
    await driver.beginTransaction(connection, {});
    await connection.executeQuery(sql`select 1`.compile(db));
    await driver.savepoint!(connection, 'a', compile);
    await driver.rollbackToSavepoint!(connection, 'a', compile);
    await driver.releaseSavepoint!(connection, 'a', compile);
    await driver.commitTransaction(connection);
    await driver.rollbackTransaction(connection);
    await driver.releaseConnection(connection);
    await driver.destroy();
    expect(inner.calls()).toEqual(['init', 'acquire', 'begin', 'query select 1', 'savepoint a', 'rollback to a', 'release a', 'commit', 'rollback', 'release', 'destroy']);
  });

  it('has savepoints only when the driver has them, including ones it gains when initialised', async () => {
    const plain = traceDialect(dialectOf(new RecordingDriver())).createDriver();
    await plain.init();
    expect(plain.savepoint).toBeUndefined();
    expect(plain.rollbackToSavepoint).toBeUndefined();
    expect(plain.releaseSavepoint).toBeUndefined();

    const late = new RecordingDriver() as RecordingDriver & { savepoint?: Driver['savepoint'] };
    const init = late.init.bind(late);
    late.init = async () => {
      await init();
      late.savepoint = async (_c, name) => {
        late.calls().push(`savepoint ${name}`);
      };
    };
    const driver = traceDialect(dialectOf(late)).createDriver();
    expect(driver.savepoint).toBeUndefined();
    await driver.init();
    await driver.savepoint!(late.connection, 'b', compile);
    expect(late.calls()).toEqual(['init', 'savepoint b']);
  });
});
