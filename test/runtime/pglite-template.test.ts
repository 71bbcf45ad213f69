/**
 * New in-memory databases start from a saved initdb cluster: the first one of a machine saves it, later ones
 * load it, in memory or in a new data folder. Each must still be a fresh, empty database, and a damaged
 * tarball must not stop one from opening.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PGlite } from '@electric-sql/pglite';
import { createDatabase } from '../../runtime/db/index.js';
import { createPGlite } from '../../runtime/db/pglite-template.js';

let folder: string;
const previous = process.env.TMPDIR;
beforeAll(() => {
  folder = mkdtempSync(path.join(tmpdir(), 'pglite-template-'));
  process.env.TMPDIR = folder; // this test's own template, apart from other runs'
});
afterAll(() => {
  if (previous === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previous;
  rmSync(folder, { recursive: true, force: true });
});

const templates = () => readdirSync(folder).filter((f) => /^backdev-pglite-.*\.tar$/.test(f));

async function tablesOfFreshDatabase(): Promise<string[]> {
  // Never the PostgreSQL of DATABASE_URL (CI sets it): the embedded database is what is under test.
  const db = createDatabase({ url: null, dataDir: 'memory://' });
  try {
    const before = await sql<{ name: string }>`select tablename as name from pg_tables where schemaname = 'public'`.execute(db);
    // Something to leak into the next database if the template were taken after use.
    await sql`create table leftover (id int)`.execute(db);
    await sql`insert into leftover values (1)`.execute(db);
    return before.rows.map((r) => r.name);
  } finally {
    await db.destroy();
  }
}

it('the first new database saves the cluster; later ones start from it, fresh and empty', async () => {
  expect(templates()).toEqual([]);
  expect(await tablesOfFreshDatabase()).toEqual([]);
  expect(templates()).toHaveLength(1);
  const saved = statSync(path.join(folder, templates()[0]!));
  expect(saved.size).toBeGreaterThan(1_000_000);
  expect(await tablesOfFreshDatabase()).toEqual([]);
  expect(await tablesOfFreshDatabase()).toEqual([]);
  expect(statSync(path.join(folder, templates()[0]!)).mtimeMs).toBe(saved.mtimeMs); // read, not rewritten
}, 120_000);

it('a damaged template is replaced, and the database opens anyway', async () => {
  const file = path.join(folder, templates()[0]!);
  writeFileSync(file, 'not a tarball');
  expect(await tablesOfFreshDatabase()).toEqual([]);
  expect(statSync(file).size).toBeGreaterThan(1_000_000);
  expect(await tablesOfFreshDatabase()).toEqual([]);
}, 120_000);

it('a new data folder starts from the template and keeps what is written; an existing one opens as it is', async () => {
  expect(templates()).toHaveLength(1);
  const template = path.join(folder, templates()[0]!);
  const before = statSync(template).mtimeMs;
  const dataDir = path.join(folder, 'project', '.data', 'pglite');
  const open = () => createDatabase({ url: null, dataDir });
  let db = open();
  try {
    const tables = await sql<{ name: string }>`select tablename as name from pg_tables where schemaname = 'public'`.execute(db);
    expect(tables.rows).toEqual([]);
    await sql`create table kept (id int)`.execute(db);
    await sql`insert into kept values (42)`.execute(db);
  } finally {
    await db.destroy();
  }
  expect(readdirSync(dataDir)).toContain('PG_VERSION');
  expect(statSync(template).mtimeMs).toBe(before); // the folder was made from it, not a new initdb
  db = open();
  try {
    const kept = await sql<{ id: number }>`select id from kept`.execute(db);
    expect(kept.rows).toEqual([{ id: 42 }]);
  } finally {
    await db.destroy();
  }
}, 120_000);

it('passes the template to PGlite for an empty folder only', async () => {
  const seen: Array<Record<string, unknown>> = [];
  const Fake = { create: async (options: Record<string, unknown>) => (seen.push(options), { dumpDataDir: async () => new Blob([]) }) } as unknown as typeof PGlite;
  const empty = path.join(folder, 'empty-data');
  mkdirSync(empty);
  await createPGlite(Fake, empty, {});
  const used = path.join(folder, 'used-data');
  mkdirSync(used);
  writeFileSync(path.join(used, 'PG_VERSION'), '17\n');
  await createPGlite(Fake, used, {});
  expect(seen.map((o) => [o.dataDir, o.loadDataDir instanceof Blob])).toEqual([
    [empty, true],
    [used, false],
  ]);
});
