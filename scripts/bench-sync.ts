/**
 * `npm run bench:sync`: records per second pulled from a local fake API into PostgreSQL (a throwaway
 * database on the server of DATABASE_URL, else the local one) by the pull job, against a naive loop over
 * the same pages that upserts one row per statement. Interleaved rounds, medians:
 *
 *   bench sync: <records/s> (<ratio>x naive)
 *
 * Env: BENCH_SYNC_RECORDS (default 10000), BENCH_SYNC_ROUNDS (default 3), BENCH_SYNC_PAGE (default 1000).
 */
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { createDatabase } from '../runtime/db/index.js';
import { createPullJob, createSyncHttp, ensureSyncPullTables, stripe } from '../runtime/sync/index.js';
import { startFakeApi, type FakeRecord } from '../test/runtime/sync/pull-fake-api.js';
import { createPullTables, dropDatabaseWhenFree, pullStreams, TABLES } from '../test/runtime/sync/pull-streams.js';

const records = Number(process.env.BENCH_SYNC_RECORDS ?? 10_000);
const rounds = Number(process.env.BENCH_SYNC_ROUNDS ?? 3);
const pageSize = Number(process.env.BENCH_SYNC_PAGE ?? 1000);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function reset(db: Kysely<any>): Promise<void> {
  await sql`truncate ${sql.table(TABLES.customers)}`.execute(db);
  await sql`delete from backdev_sync_state`.execute(db);
}

async function count(db: Kysely<any>): Promise<number> {
  return (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(TABLES.customers)}`.execute(db)).rows[0]!.n;
}

const server = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const name = `bd_bench_sync_${process.pid}`;
const admin = new pg.Client({ connectionString: server });
await admin.connect();
await admin.query(`create database ${name}`);
const url = new URL(server);
url.pathname = `/${name}`;
const api = await startFakeApi({ counts: { customers: records, products: 0, orders: 0, tickets: 0 }, seed: 1, maxPage: pageSize });
const db = createDatabase<any>({ url: url.href });
try {
  await createPullTables(db);
  await ensureSyncPullTables(db);
  const streams = pullStreams(pageSize).filter((s) => s.name === 'customers');
  const job = createPullJob({ name: 'bench', db, upstreams: [{ name: 'fake', baseUrl: api.url }], streams });

  /** The same pages, one autocommitted upsert per record and a checkpoint per page. */
  async function naive(): Promise<void> {
    const http = createSyncHttp({ name: 'fake', baseUrl: api.url });
    const pagination = stripe({ limit: pageSize });
    const base = http.resolve('/v1/customers');
    let cursor: string | number | undefined;
    for (;;) {
      const page = await http.get(pagination.request(base, cursor));
      const list = (page.body as { data: FakeRecord[] }).data;
      for (const r of list) {
        await db
          .insertInto(TABLES.customers)
          .values({ id: r.id, name: r.name, amount: r.amount, updated_at: r.updated_at })
          .onConflict((oc) => oc.column('id').doUpdateSet({ name: r.name, amount: r.amount, updated_at: r.updated_at }))
          .execute();
      }
      const next = pagination.next({ url: page.url, headers: page.headers, body: page.body, records: list }, cursor);
      if (next === undefined) break;
      cursor = next as string;
      await db
        .insertInto('backdev_sync_state')
        .values({ job: 'naive', stream: 'customers', state: JSON.stringify({ cursor }) })
        .onConflict((oc) => oc.columns(['job', 'stream']).doUpdateSet({ state: JSON.stringify({ cursor }) }))
        .execute();
    }
  }

  const ours: number[] = [];
  const base: number[] = [];
  // A warm-up of each, not counted.
  await reset(db);
  await job.run({ full: true });
  await reset(db);
  await naive();
  for (let i = 0; i < rounds; i++) {
    for (const [label, fn, into] of [
      ['sync', () => job.run({ full: true }), ours],
      ['naive', naive, base],
    ] as const) {
      await reset(db);
      const start = performance.now();
      await fn();
      const seconds = (performance.now() - start) / 1000;
      const n = await count(db);
      if (n !== records) throw new Error(`${label}: ${n} rows after the run, expected ${records}`);
      into.push(records / seconds);
    }
  }
  await job.close();
  const rate = median(ours);
  const ratio = rate / median(base);
  console.log(`bench sync rounds: sync ${ours.map((x) => Math.round(x)).join(', ')} records/s; naive ${base.map((x) => Math.round(x)).join(', ')} records/s (${records} records, pages of ${pageSize})`);
  console.log(`bench sync: ${ratio.toFixed(1)}x naive (${Math.round(rate)} records/s)`);
} finally {
  await db.destroy();
  await api.close();
  await dropDatabaseWhenFree(admin, name);
  await admin.end();
}
