/**
 * `npm run bench:db`: design-database --all on Stripe's spec (every component schema a table), then on
 * PGlite and on the PostgreSQL server: apply the migration, migrate down to zero (the schema must be
 * empty again), apply again. Prints the plan time and the apply/down/up times and table counts.
 *
 *   bench db-stripe-plan: <ms> ms, <tables> tables, <steps> steps
 *   bench db-stripe-pglite: up <ms> ms, down <ms> ms, up again <ms> ms, <n> tables
 *   bench db-stripe-postgres: up <ms> ms, down <ms> ms, up again <ms> ms, <n> tables
 */
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Migrator, sql, type Kysely, type MigrationResultSet } from 'kysely';
import pg from 'pg';
import { createDatabase, FolderMigrationProvider, migrateStepwise } from '../runtime/db/index.js';
import { memoryOutput } from '../generators/core/report.js';
import { runDesignDatabase } from '../generators/index.js';
import { ensureSpecs } from './fetch-specs.js';

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const out = path.join(repo, '.cache/bench-db/stripe');

function check(result: MigrationResultSet, what: string): void {
  if (result.error) throw new Error(`${what} failed: ${(result.error as Error).message}`);
}

async function tableCount(db: Kysely<any>): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_schema = current_schema() and table_name not like 'kysely_%'`.execute(db);
  return rows[0]!.n;
}

async function time<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, Math.round(performance.now() - start)];
}

async function cycle(label: string, db: Kysely<any>): Promise<void> {
  const migrator = new Migrator({ db, provider: new FolderMigrationProvider(path.join(out, 'db/migrations')) });
  try {
    const [up, upMs] = await time(() => migrateStepwise(migrator, 'up'));
    check(up, `${label}: up`);
    const tables = await tableCount(db);
    const [down, downMs] = await time(() => migrateStepwise(migrator, 'down'));
    check(down, `${label}: down to zero`);
    const left = await tableCount(db);
    if (left !== 0) throw new Error(`${label}: ${left} tables left after migrating down to zero`);
    const [again, againMs] = await time(() => migrateStepwise(migrator, 'up'));
    check(again, `${label}: up again`);
    console.log(`bench db-stripe-${label}: up ${upMs} ms, down ${downMs} ms, up again ${againMs} ms, ${tables} tables (0 after down)`);
  } finally {
    await db.destroy();
  }
}

const specs = await ensureSpecs();
rmSync(out, { recursive: true, force: true });
const [{ details }, planMs] = await time(() => runDesignDatabase({ spec: specs.stripe, out, all: true }, memoryOutput()));
console.log(`bench db-stripe-plan: ${planMs} ms, ${String(details.tables)} tables, ${(details.steps as unknown[]).length} steps in ${readdirSync(path.join(out, 'db/migrations')).length} migrations`);

await cycle('pglite', createDatabase({ url: null, dataDir: 'memory://' }));

const base = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const name = `backdev_bench_${process.pid}`;
const admin = new pg.Client({ connectionString: base });
await admin.connect();
await admin.query(`create database ${name}`);
try {
  const url = new URL(base);
  url.pathname = `/${name}`;
  await cycle('postgres', createDatabase({ url: url.href }));
} finally {
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
}
