/**
 * `npm run bench:db`: design-database --all on Stripe's spec (every component schema a table), then the
 * migrations applied on PostgreSQL and on PGlite.
 *
 * PostgreSQL: interleaved rounds (baseline, batched, batched, baseline, …), each on a fresh database of its
 * own (created and dropped here). `batched` is what the generated migrations do (runStatements: one batch per
 * migration function); `baseline` applies the same SQL one statement per round trip (a dialect wrapper that
 * splits every batch into its statements). The first round of each also migrates down to zero (the schema
 * must be empty again) and up again. Figures are medians; the ratio is batched over baseline time (lower is
 * better).
 *
 *   bench db-stripe-plan: <ms> ms (median of <n>), <tables> tables, <steps> steps in <m> migrations
 *   bench db-stripe-postgres: up <ms> ms batched, <ms> ms one statement per round trip (medians of <n>), <r>x
 *   bench db-stripe-pglite: up <ms> ms, down <ms> ms, up again <ms> ms, <n> tables (0 after down)
 *   bench db-stripe: <s> s plan+apply on PostgreSQL, <r>x one-statement-per-round-trip
 *
 * ROUNDS=<n> sets the rounds per variant (default 3); DATABASE_URL names the server (its database is not
 * used: only its host, port and credentials).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { CompiledQuery, sql, type DatabaseConnection, type Dialect, type Driver, type Kysely, type MigrationResultSet } from 'kysely';
import pg from 'pg';
import { createDatabase, createMigrator, FolderMigrationProvider, isBatchQuery, migrateStepwise, STATEMENT_BATCH } from '../runtime/db/index.js';
import { memoryOutput } from '../generators/core/report.js';
import { runDesignDatabase } from '../generators/index.js';
import { ensureSpecs } from './fetch-specs.js';

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const out = path.join(repo, '.cache/bench-db/stripe');
const migrationsDir = path.join(out, 'db/migrations');
const ROUNDS = Math.max(1, Number(process.env.ROUNDS ?? 3));

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

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2);
}

/**
 * The baseline: every batch `runStatements` sends is split into its statements, each sent on its own (one
 * round trip each), in order, the way migrations ran before they were batched.
 */
function oneStatementPerRoundTrip(dialect: Dialect): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createDriver: (): Driver => {
      const inner = dialect.createDriver();
      const split = new WeakSet<DatabaseConnection>();
      const splitting = (connection: DatabaseConnection): DatabaseConnection => {
        if (split.has(connection)) return connection;
        split.add(connection);
        const execute = connection.executeQuery.bind(connection);
        connection.executeQuery = async <R>(query: CompiledQuery) => {
          if (!isBatchQuery(query)) return execute<R>(query);
          for (const statement of query[STATEMENT_BATCH]) await execute(statement);
          return execute<R>(CompiledQuery.raw('release savepoint backdev_statements'));
        };
        return connection;
      };
      return {
        init: () => inner.init(),
        acquireConnection: async () => splitting(await inner.acquireConnection()),
        beginTransaction: (c, s) => inner.beginTransaction(c, s),
        commitTransaction: (c) => inner.commitTransaction(c),
        rollbackTransaction: (c) => inner.rollbackTransaction(c),
        releaseConnection: (c) => inner.releaseConnection(c),
        destroy: () => inner.destroy(),
        ...(inner.savepoint ? { savepoint: inner.savepoint.bind(inner) } : {}),
        ...(inner.rollbackToSavepoint ? { rollbackToSavepoint: inner.rollbackToSavepoint.bind(inner) } : {}),
        ...(inner.releaseSavepoint ? { releaseSavepoint: inner.releaseSavepoint.bind(inner) } : {}),
      };
    },
  };
}

interface Cycle {
  upMs: number;
  downMs?: number;
  againMs?: number;
  tables: number;
}

/** Migrates up (and, with `full`, down to zero — the schema must be empty — and up again). */
async function cycle(label: string, db: Kysely<any>, full: boolean): Promise<Cycle> {
  const migrator = createMigrator({ db, provider: new FolderMigrationProvider(migrationsDir) });
  try {
    const [up, upMs] = await time(() => migrateStepwise(migrator, 'up'));
    check(up, `${label}: up`);
    const tables = await tableCount(db);
    if (!full) return { upMs, tables };
    const [down, downMs] = await time(() => migrateStepwise(migrator, 'down'));
    check(down, `${label}: down to zero`);
    const left = await tableCount(db);
    if (left !== 0) throw new Error(`${label}: ${left} tables left after migrating down to zero`);
    const [again, againMs] = await time(() => migrateStepwise(migrator, 'up'));
    check(again, `${label}: up again`);
    return { upMs, downMs, againMs, tables };
  } finally {
    await db.destroy();
  }
}

// The migrations import backdev/runtime/db, which resolves to dist/ (the package's exports): compile it.
execFileSync(process.execPath, [path.join(repo, 'scripts/build.mjs'), '--allow-type-errors'], { cwd: repo, stdio: 'inherit' });

const specs = await ensureSpecs();
const planTimes: number[] = [];
let planned: Awaited<ReturnType<typeof runDesignDatabase>> | undefined;
for (let i = 0; i < ROUNDS; i++) {
  rmSync(out, { recursive: true, force: true });
  const [result, ms] = await time(() => runDesignDatabase({ spec: specs.stripe, out, all: true }, memoryOutput()));
  planned = result;
  planTimes.push(ms);
}
const { details } = planned!;
const planMs = median(planTimes);
console.log(
  `bench db-stripe-plan: ${planMs} ms (median of ${ROUNDS}: ${planTimes.join(', ')}), ${String(details.tables)} tables, ${(details.steps as unknown[]).length} steps in ${readdirSync(migrationsDir).length} migrations`,
);

const base = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
const adminUrl = new URL(base.href);
adminUrl.pathname = '/postgres';
const admin = new pg.Client({ connectionString: adminUrl.href });
await admin.connect();
const times: Record<'batched' | 'baseline', number[]> = { batched: [], baseline: [] };
const order: ('batched' | 'baseline')[] = [];
for (let i = 0; i < ROUNDS; i++) order.push(...(i % 2 === 0 ? (['baseline', 'batched'] as const) : (['batched', 'baseline'] as const)));
try {
  for (const [i, variant] of order.entries()) {
    const name = `backdev_bench_db_${process.pid}_${i}`;
    await admin.query(`create database ${name}`);
    try {
      const url = new URL(base.href);
      url.pathname = `/${name}`;
      const full = times[variant].length === 0;
      const db = createDatabase({ url: url.href, ...(variant === 'baseline' ? { wrapDialect: oneStatementPerRoundTrip } : {}) });
      const r = await cycle(`postgres ${variant}`, db, full);
      times[variant].push(r.upMs);
      const rest = full ? `, down ${r.downMs} ms, up again ${r.againMs} ms (0 tables after down)` : '';
      console.log(`  postgres ${variant.padEnd(8)} round ${i + 1}: up ${r.upMs} ms, ${r.tables} tables${rest}`);
    } finally {
      await admin.query(`drop database if exists ${name} with (force)`);
    }
  }
} finally {
  await admin.end();
}
const batched = median(times.batched);
const baseline = median(times.baseline);
console.log(`bench db-stripe-postgres: up ${batched} ms batched, ${baseline} ms one statement per round trip (medians of ${ROUNDS}), ${(batched / baseline).toFixed(2)}x`);

const lite = await cycle('pglite', createDatabase({ url: null, dataDir: 'memory://' }), true);
console.log(`bench db-stripe-pglite: up ${lite.upMs} ms, down ${lite.downMs} ms, up again ${lite.againMs} ms, ${lite.tables} tables (0 after down)`);

const total = planMs + batched;
console.log(`bench db-stripe: ${(total / 1000).toFixed(2)} s plan+apply on PostgreSQL, ${(total / (planMs + baseline)).toFixed(2)}x one-statement-per-round-trip`);
