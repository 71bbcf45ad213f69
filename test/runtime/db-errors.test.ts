/**
 * backdev/runtime/db's client errors: `toDataError` on the errors PostgreSQL and PGlite really raise (no
 * made-up codes), and `readCursor` on cursors a client can forge, with what it accepts checked against the
 * database. Runs on PGlite and on a throwaway database of the PostgreSQL server (DATABASE_URL, else the
 * local one); a server that is down fails.
 */
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, DataError, encodeCursor, isForeignKeyViolation, isUniqueViolation, mapDataErrors, readCursor, toDataError, unreachableReason, type ErrorMapping } from '../../runtime/db/index.js';

const base = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const pgName = `backdev_errors_${process.pid}_${Date.now()}`;
let admin: pg.Client;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${pgName}`);
});
afterAll(async () => {
  await admin.query(`drop database if exists ${pgName} with (force)`);
  await admin.end();
});

/** Like a generated repository's: API property names differ from the column names. */
const PARENTS: ErrorMapping = { columns: { id: 'id', display_name: 'displayName', born_on: 'bornOn' }, constraints: { parents_display_name_key: ['displayName'] } };
const CHILDREN: ErrorMapping = { columns: { id: 'id', parent_id: 'parent', kind: 'kind', note: 'note' }, constraints: { children_parent_id_fkey: ['parent'], children_kind_check: ['kind'] } };
const P1 = '00000000-0000-4000-8000-000000000001';
const MISSING = '00000000-0000-4000-8000-00000000dead';
/** Text the database would put in its messages: none of it may reach a DataError. */
const SECRETS = ['parents', 'children', 'display_name', 'parent_id', 'parents_display_name_key', 'children_parent_id_fkey', 'lamp', MISSING, 'Key (', 'violates'];

function expectSafe(err: DataError): void {
  const shown = JSON.stringify({ message: err.message, errors: err.errors });
  for (const s of SECRETS) expect(shown).not.toContain(s);
}

/** The error `run` rejects with, classified. */
async function classify(run: () => Promise<unknown>, op: 'select' | 'insert' | 'update' | 'delete', mapping: ErrorMapping, input?: object): Promise<DataError> {
  const err = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the statement should fail').toBeDefined();
  const mapped = toDataError(err, op, mapping, input);
  expect(mapped, String(err)).toBeInstanceOf(DataError);
  expectSafe(mapped!);
  expect(mapped!.cause).toBe(err);
  return mapped!;
}

const databases: [string, () => Kysely<any>][] = [
  ['PGlite', () => createDatabase({ url: null, dataDir: 'memory://' })],
  [
    'PostgreSQL',
    () => {
      const url = new URL(base);
      url.pathname = `/${pgName}`;
      return createDatabase({ url: url.href });
    },
  ],
];

describe.each(databases)('database errors as DataErrors on %s', (_name, make) => {
  let db: Kysely<any>;
  beforeAll(async () => {
    db = make();
    await sql`create table parents (id uuid primary key, display_name text not null, born_on date)`.execute(db);
    await sql`create unique index parents_display_name_key on parents (display_name)`.execute(db);
    await sql`create table children (id serial primary key, parent_id uuid constraint children_parent_id_fkey references parents (id) on delete restrict, kind text constraint children_kind_check check (kind in ('a', 'b')), note text)`.execute(db);
    await db.insertInto('parents').values({ id: P1, display_name: 'lamp' }).execute();
    await db.insertInto('children').values({ parent_id: P1, kind: 'a' }).execute();
  });
  afterAll(async () => {
    await db.destroy();
  });

  it('a duplicate unique value is a 409 naming the property', async () => {
    const e = await classify(() => db.insertInto('parents').values({ id: MISSING, display_name: 'lamp' }).execute(), 'insert', PARENTS);
    expect(e.statusCode).toBe(409);
    expect(e.errors).toEqual([{ pointer: '/body/displayName', message: expect.any(String) }]);
    expect(isUniqueViolation(e)).toBe(true);
  });

  it('a reference to a missing row is a 422 naming the reference on insert and update', async () => {
    const onInsert = await classify(() => db.insertInto('children').values({ parent_id: MISSING, kind: 'a' }).execute(), 'insert', CHILDREN);
    expect(onInsert.statusCode).toBe(422);
    expect(onInsert.errors.map((x) => x.pointer)).toEqual(['/body/parent']);
    expect(isForeignKeyViolation(onInsert)).toBe(true);
    const onUpdate = await classify(() => db.updateTable('children').set({ parent_id: MISSING }).execute(), 'update', CHILDREN);
    expect(onUpdate.statusCode).toBe(422);
    expect(onUpdate.errors.map((x) => x.pointer)).toEqual(['/body/parent']);
  });

  it('deleting a row others still refer to is a 409', async () => {
    const e = await classify(() => db.deleteFrom('parents').where('id', '=', P1).execute(), 'delete', PARENTS);
    expect(e.statusCode).toBe(409);
  });

  it('a value outside an enum check is a 400 naming the property', async () => {
    const e = await classify(() => db.insertInto('children').values({ parent_id: P1, kind: 'zzz' }).execute(), 'insert', CHILDREN);
    expect(e.statusCode).toBe(400);
    expect(e.errors.map((x) => x.pointer)).toEqual(['/body/kind']);
  });

  it('malformed and out-of-range values (class 22) are 400s', async () => {
    const badUuid = await classify(() => db.selectFrom('parents').selectAll().where('id', '=', 'not-a-uuid').execute(), 'select', PARENTS);
    expect(badUuid.statusCode).toBe(400);
    const input = { id: MISSING, displayName: 'a\u0000b' };
    const nul = await classify(() => db.insertInto('parents').values({ id: MISSING, display_name: input.displayName }).execute(), 'insert', PARENTS, input);
    expect(nul.statusCode).toBe(400);
    expect(nul.errors.map((x) => x.pointer)).toEqual(['/body/displayName']);
    const year0 = await classify(() => db.insertInto('parents').values({ id: MISSING, display_name: 'x', born_on: '0000-01-01' }).execute(), 'insert', PARENTS);
    expect(year0.statusCode).toBe(400);
    const farTime = await classify(() => sql`select ${'300000-01-01T00:00:00Z'}::timestamptz`.execute(db), 'select', PARENTS);
    expect(farTime.statusCode).toBe(400);
  });

  it('a value too large for its index (class 54) is a 400 naming the property', async () => {
    // 2,700 CJK characters that do not compress: 8 kB in the index entry, over btree's 2,704 bytes.
    const big = Array.from({ length: 2700 }, (_, i) => String.fromCodePoint(0x4e00 + ((i * 7919) % 20000))).join('');
    const e = await classify(() => db.insertInto('parents').values({ id: MISSING, display_name: big }).execute(), 'insert', PARENTS);
    expect(e.statusCode).toBe(400);
    expect(e.errors.map((x) => x.pointer)).toEqual(['/body/displayName']);
  });

  it('512 characters of any UTF-8 fit a unique text index (the default maxLength of indexed fields)', async () => {
    const widest = String.fromCodePoint(0x10ffff).repeat(512);
    await db.insertInto('parents').values({ id: MISSING, display_name: widest }).execute();
    await db.deleteFrom('parents').where('id', '=', MISSING).execute();
  });

  it('leaves errors a client cannot cause alone (they stay 500s)', async () => {
    const err = await sql`select * from no_such_table`.execute(db).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(toDataError(err, 'select', PARENTS)).toBeUndefined();
    expect(toDataError(new Error('boom'), 'insert', PARENTS)).toBeUndefined();
    await expect(mapDataErrors(() => sql`select * from no_such_table`.execute(db), 'select', PARENTS)).rejects.not.toBeInstanceOf(DataError);
    await expect(mapDataErrors(() => db.insertInto('parents').values({ id: MISSING, display_name: 'lamp' }).execute(), 'insert', PARENTS)).rejects.toMatchObject({ statusCode: 409 });
  });

  it('accepts every cursor timestamp it lets through, at both ends of the range', async () => {
    for (const time of ['0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z']) {
      const [t, id] = readCursor(encodeCursor([new Date(time), P1]), ['timestamp', 'uuid'])! as [string, string];
      const { rows } = await sql<{ ok: boolean }>`select (now(), ${P1}::uuid) > (${new Date(t)}, ${id}) as ok`.execute(db);
      expect(rows).toHaveLength(1);
    }
  });
});

describe('readCursor', () => {
  const bad = (cursor: string, kinds: Parameters<typeof readCursor>[1]) => {
    let thrown: unknown;
    try {
      readCursor(cursor, kinds);
    } catch (err) {
      thrown = err;
    }
    expect(thrown, `cursor ${cursor}`).toBeInstanceOf(DataError);
    expect(thrown).toMatchObject({ statusCode: 400, errors: [{ pointer: '/query/cursor' }] });
  };
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  it('reads what encodeCursor wrote; nothing for no cursor', () => {
    const at = new Date('2024-05-06T07:08:09.123Z');
    expect(readCursor(encodeCursor([at, P1]), ['timestamp', 'uuid'])).toEqual([at.toISOString(), P1]);
    expect(readCursor(encodeCursor([42]), ['integer'])).toEqual([42]);
    expect(readCursor(encodeCursor(['x']), ['text'])).toEqual(['x']);
    expect(readCursor(undefined, ['uuid'])).toBeUndefined();
    expect(readCursor('', ['uuid'])).toBeUndefined();
  });

  it('refuses cursors this API could not have handed out', () => {
    bad('!!!', ['uuid']);
    bad(Buffer.from('not json').toString('base64url'), ['uuid']);
    bad(b64({ a: 1 }), ['uuid']);
    bad(b64([P1, P1]), ['uuid']);
    bad(b64(['2024-01-01T00:00:00.000Z', 'not-a-uuid']), ['timestamp', 'uuid']);
    bad(b64(['2024-01-01T00:00:00.000Z', 7]), ['timestamp', 'uuid']);
    bad(b64(['0000-01-01T00:00:00.000Z', P1]), ['timestamp', 'uuid']);
    bad(b64(['+300000-01-01T00:00:00.000Z', P1]), ['timestamp', 'uuid']);
    bad(b64(['-000001-01-01T00:00:00.000Z', P1]), ['timestamp', 'uuid']);
    bad(b64(['2024-02-30T00:00:00.000Z', P1]), ['timestamp', 'uuid']);
    bad(b64(['2024-01-01', P1]), ['timestamp', 'uuid']);
    bad(b64([2 ** 31]), ['integer']);
    bad(b64([1.5]), ['integer']);
    bad(b64([2 ** 53]), ['bigint']);
    bad(b64(['a\u0000']), ['text']);
    bad(b64(['0000-01-01']), ['date']);
    bad('A'.repeat(20_000), ['text']);
  });
});

describe('DataError', () => {
  it('carries a 4xx status, pointers and the cause', () => {
    const cause = new Error('db text');
    const e = new DataError(422, 'a referenced record does not exist', [{ pointer: '/body/parent', message: 'no record has this id' }], { cause });
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ name: 'DataError', statusCode: 422, errors: [{ pointer: '/body/parent' }] });
    expect(e.cause).toBe(cause);
    expect(() => new DataError(500, 'x')).toThrow(RangeError);
  });
});

describe('a connection the server ends while it is checked out', () => {
  it('fails the statement that uses it next, leaves the process running, and the pool serves the next one', async () => {
    const url = Object.assign(new URL(base), { pathname: `/${pgName}` }).toString();
    const db = createDatabase<Record<string, never>>({ url, poolSize: 2 });
    try {
      // Without a listener on the checked-out client, its 'error' event would be uncaught here (the run fails).
      const inTransaction = db.transaction().execute(async (trx) => {
        const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
        await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
        await new Promise((r) => setTimeout(r, 300)); // the termination arrives between two statements
        await sql`select 1`.execute(trx);
      });
      await expect(inTransaction).rejects.toThrow();
      const { rows } = await sql<{ ok: number }>`select 1 as ok`.execute(db);
      expect(rows).toEqual([{ ok: 1 }]);
    } finally {
      await db.destroy().catch(() => {});
    }
  }, 30_000);
});

describe('unreachableReason: the errors of a connection that cannot be made', () => {
  /** The error a first query raises on a database at `url` (every case here must fail). */
  async function connectError(url: string): Promise<unknown> {
    const db = createDatabase<unknown>({ url });
    try {
      await sql`select 1`.execute(db);
    } catch (err) {
      return err;
    } finally {
      await db.destroy().catch(() => {});
    }
    throw new Error(`${url} answered`);
  }

  it('a port nobody listens on: refused', async () => {
    expect(unreachableReason(await connectError('postgres://postgres@127.0.0.1:1/test'))).toMatch(/^the connection was refused/);
  }, 30_000);

  it('a database that does not exist on the server', async () => {
    const url = new URL(base);
    url.pathname = `/${pgName}_missing`;
    expect(unreachableReason(await connectError(url.href))).toBe('the database does not exist on that server');
  }, 30_000);

  it('a user the server does not know: the login is refused', async () => {
    const url = new URL(base);
    url.username = `nobody_${process.pid}`;
    url.password = '';
    expect(unreachableReason(await connectError(url.href))).toBe('the server refused the login (user or password)');
  }, 30_000);

  it('a failing statement on a working connection is not a connection problem', async () => {
    const url = new URL(base);
    url.pathname = `/${pgName}`;
    const db = createDatabase<unknown>({ url: url.href });
    try {
      const err = await sql`select * from no_such_table_here`.execute(db).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeDefined();
      expect(unreachableReason(err)).toBeUndefined();
    } finally {
      await db.destroy();
    }
  }, 30_000);
});
