/**
 * backdev/runtime/db: the same Kysely code against the embedded PGlite database (default) and, when
 * DATABASE_URL is set (CI), the PostgreSQL server. With CI=true a server that cannot be reached fails.
 */
import { sql, type Generated, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, describeDatabase } from '../../runtime/db/index.js';

interface DB {
  rt_items: { id: Generated<number>; name: string; n: Generated<number> };
}

const url = process.env.DATABASE_URL;
let db: Kysely<DB>;

beforeAll(async () => {
  db = createDatabase<DB>(url ? { url } : { dataDir: 'memory://' });
  await sql`drop table if exists rt_items`.execute(db);
  await db.schema.createTable('rt_items').addColumn('id', 'serial', (c) => c.primaryKey()).addColumn('name', 'text', (c) => c.notNull()).addColumn('n', 'integer', (c) => c.notNull().defaultTo(0)).execute();
});
afterAll(async () => {
  await sql`drop table if exists rt_items`.execute(db);
  await db.destroy();
});

describe(`runtime/db on ${url ? 'PostgreSQL' : 'PGlite'}`, () => {
  it('says which database it uses', () => {
    expect(describeDatabase({ url: 'postgres://x' })).toBe('postgres');
    expect(describeDatabase({ url: undefined, dataDir: 'memory://' })).toBe(url ? 'postgres' : 'pglite:memory://');
  });

  it('inserts, returns rows and counts affected rows', async () => {
    const row = await db.insertInto('rt_items').values({ name: 'a' }).returningAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ name: 'a', n: 0 });
    const updated = await db.updateTable('rt_items').set({ n: 5 }).where('id', '=', row.id).executeTakeFirst();
    expect(updated.numUpdatedRows).toBe(1n);
    const deleted = await db.deleteFrom('rt_items').where('id', '=', -1).executeTakeFirst();
    expect(deleted.numDeletedRows).toBe(0n);
  });

  it('returns dates as strings, bigints as numbers and timestamps as Dates on both drivers', async () => {
    const { rows } = await sql<{ d: unknown; i8: unknown; ts: unknown; n: unknown }>`select '2024-01-02'::date as d, 9007199254740991::int8 as i8, now() as ts, 1.50::numeric as n`.execute(db);
    expect(rows[0]).toEqual({ d: '2024-01-02', i8: 9007199254740991, ts: expect.any(Date), n: '1.50' });
  });

  it('rolls a failed transaction back', async () => {
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('rt_items').values({ name: 'rolled back' }).execute();
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const found = await db.selectFrom('rt_items').selectAll().where('name', '=', 'rolled back').execute();
    expect(found).toEqual([]);
  });

  it('keeps concurrent transactions apart', async () => {
    const run = (name: string) =>
      db.transaction().execute(async (trx) => {
        await trx.insertInto('rt_items').values({ name }).execute();
        await new Promise((r) => setTimeout(r, 20));
        const mine = await trx.selectFrom('rt_items').select('name').where('name', 'in', ['t1', 't2']).execute();
        if (name === 't2') throw new Error('t2 fails');
        return mine.map((r) => r.name);
      });
    const [t1, t2] = await Promise.allSettled([run('t1'), run('t2')]);
    expect(t1.status).toBe('fulfilled');
    expect(t2.status).toBe('rejected');
    const names = (await db.selectFrom('rt_items').select('name').where('name', 'in', ['t1', 't2']).execute()).map((r) => r.name);
    expect(names).toEqual(['t1']);
  });
});
