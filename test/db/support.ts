/**
 * Shared helpers of the database design tests: the test database (PGlite in memory by default, the
 * PostgreSQL server of DATABASE_URL when set: then an unreachable server fails the tests), one PostgreSQL
 * schema per case, running a RENDERED migration module (written to .tmp and imported), and a normalised
 * description of a schema from the catalog to compare databases built different ways.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll } from 'vitest';
import { createDatabase } from '../../runtime/db/index.js';
import { REPO } from '../helpers.js';

export const DATABASE_URL = process.env.DATABASE_URL || undefined;
export const DATABASE_LABEL = DATABASE_URL ? 'PostgreSQL' : 'PGlite';

/** Opens the test database and checks that it answers (a server that cannot be reached throws). */
export async function openTestDatabase(): Promise<Kysely<any>> {
  const db = DATABASE_URL ? createDatabase<any>({ url: DATABASE_URL, poolSize: 2 }) : createDatabase<any>({ url: null, dataDir: 'memory://' });
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw new Error(`DATABASE_URL is set but the PostgreSQL server cannot be used: ${(err as Error).message}`, { cause: err });
  }
  return db;
}

/**
 * One database for the test file, opened before its tests and closed after them. Each test gets it with
 * `await database()`, so when DATABASE_URL names a server that cannot be reached every test FAILS with
 * that error (a failing beforeAll would only mark them skipped).
 */
export function useTestDatabase(): () => Promise<Kysely<any>> {
  let opening: Promise<Kysely<any>> | undefined;
  beforeAll(() => {
    opening = openTestDatabase();
    opening.catch(() => undefined);
  });
  afterAll(async () => {
    const db = await opening?.catch(() => undefined);
    await db?.destroy();
    rmSync(MODULE_DIR, { recursive: true, force: true });
  });
  return () => opening ?? Promise.reject(new Error('the test database is opened in beforeAll'));
}

/** A name for a PostgreSQL schema of this run (the process id keeps concurrent runs on one server apart). */
export function schemaName(label: string): string {
  return `${label}_${process.pid}`.replace(/[^a-z0-9_]/g, '_');
}

export async function freshSchema(db: Kysely<any>, schema: string): Promise<void> {
  await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db);
  await sql`create schema ${sql.id(schema)}`.execute(db);
}

export async function dropSchema(db: Kysely<any>, schema: string): Promise<void> {
  await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db);
}

export interface MigrationModule {
  up(db: Kysely<any>): Promise<void>;
  down(db: Kysely<any>): Promise<void>;
}

/** This process's folder of rendered migrations (removed when its test database closes). */
const MODULE_DIR = path.join(REPO, '.tmp', 'db-tests', `migrations-${process.pid}`);

/** Writes rendered migration source under .tmp/ and imports it (the file name is the hash of the source). */
export async function loadMigration(source: string): Promise<MigrationModule> {
  mkdirSync(MODULE_DIR, { recursive: true });
  const file = path.join(MODULE_DIR, `m_${createHash('sha256').update(source).digest('hex').slice(0, 16)}.ts`);
  writeFileSync(file, source);
  return (await import(pathToFileURL(file).href)) as MigrationModule;
}

/**
 * Runs `up` or `down` of a migration module inside `schema`: one transaction (as Kysely's Migrator runs
 * it) whose search_path is that schema only, so the migration's unqualified names land there.
 */
export async function runIn(db: Kysely<any>, schema: string, module: MigrationModule, direction: 'up' | 'down'): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`select set_config('search_path', ${schema}, true)`.execute(trx);
    await module[direction](trx);
  });
}

export interface CatalogDescription {
  tables: string[];
  columns: string[];
  indexes: string[];
  constraints: string[];
}

/**
 * Tables, columns (type, nullability, default, identity), indexes (uniqueness, primary, columns) and
 * constraints (primary key, unique, foreign key with target and on delete, check with its definition) of
 * a schema, names included, as sorted lines.
 */
export async function describeCatalog(db: Kysely<any>, schema: string): Promise<CatalogDescription> {
  const tables = await sql<{ name: string }>`
    select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and c.relkind = 'r'`.execute(db);
  const columns = await sql<{ table_name: string; column_name: string; type: string; not_null: boolean; dflt: string | null; identity: string }>`
    select c.relname as table_name, a.attname as column_name, format_type(a.atttypid, a.atttypmod) as type,
      a.attnotnull as not_null, pg_get_expr(d.adbin, d.adrelid) as dflt, a.attidentity::text as identity
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    left join pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
    where n.nspname = ${schema} and c.relkind = 'r'`.execute(db);
  const indexes = await sql<{ table_name: string; index_name: string; is_unique: boolean; is_primary: boolean; cols: string }>`
    select t.relname as table_name, i.relname as index_name, x.indisunique as is_unique, x.indisprimary as is_primary,
      (select string_agg(a.attname, ',' order by k.ord)
         from unnest(x.indkey::int2[]) with ordinality as k(attnum, ord)
         join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum) as cols
    from pg_index x
    join pg_class i on i.oid = x.indexrelid
    join pg_class t on t.oid = x.indrelid
    join pg_namespace n on n.oid = t.relnamespace
    where n.nspname = ${schema}`.execute(db);
  const constraints = await sql<{ table_name: string; name: string; type: string; def: string | null; cols: string | null; ref_table: string | null; ref_cols: string | null; on_delete: string }>`
    select t.relname as table_name, con.conname as name, con.contype::text as type,
      case when con.contype = 'c' then pg_get_constraintdef(con.oid) end as def,
      (select string_agg(a.attname, ',' order by k.ord)
         from unnest(con.conkey) with ordinality as k(attnum, ord)
         join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum) as cols,
      rt.relname as ref_table,
      (select string_agg(a.attname, ',' order by k.ord)
         from unnest(con.confkey) with ordinality as k(attnum, ord)
         join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.attnum) as ref_cols,
      con.confdeltype::text as on_delete
    from pg_constraint con
    join pg_class t on t.oid = con.conrelid
    join pg_namespace n on n.oid = t.relnamespace
    left join pg_class rt on rt.oid = con.confrelid
    where n.nspname = ${schema} and con.contype in ('p', 'u', 'f', 'c')`.execute(db);
  const sorted = (lines: string[]) => lines.sort();
  return {
    tables: sorted(tables.rows.map((r) => r.name)),
    columns: sorted(
      columns.rows.map(
        (r) => `${r.table_name}.${r.column_name} ${r.type}${r.not_null ? ' not null' : ''}${r.dflt !== null ? ` default ${r.dflt}` : ''}${r.identity ? ` identity(${r.identity})` : ''}`,
      ),
    ),
    indexes: sorted(indexes.rows.map((r) => `${r.table_name}: ${r.index_name}${r.is_primary ? ' primary' : r.is_unique ? ' unique' : ''} (${r.cols})`)),
    constraints: sorted(
      constraints.rows.map((r) => {
        const head = `${r.table_name}: ${r.name} ${r.type} (${r.cols ?? ''})`;
        if (r.type === 'f') return `${head} -> ${r.ref_table} (${r.ref_cols}) on delete ${r.on_delete}`;
        if (r.type === 'c') return `${head} ${r.def}`;
        return head;
      }),
    ),
  };
}
