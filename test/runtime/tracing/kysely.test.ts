/** Statement kind and table read from Kysely's query tree, for the database span's name. */
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql, type CompiledQuery } from 'kysely';
import { describe, expect, it } from 'vitest';
import { statementKind, statementTable } from '../../../runtime/tracing/kysely.js';

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
