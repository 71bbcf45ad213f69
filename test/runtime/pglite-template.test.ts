/**
 * New in-memory databases start from a saved initdb cluster: the first one of a machine saves it, later ones
 * load it. Each must still be a fresh, empty database, and a damaged tarball must not stop one from opening.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDatabase } from '../../runtime/db/index.js';

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
