/**
 * The streams the crash test, the chaos script and the benchmark pull from the fake API (pull-fake-api.ts),
 * their tables, and the comparison of the tables with the source.
 */
import { sql, type Kysely } from 'kysely';
import { defineStream, keyset, linkHeader, nextLink, stripe, type PullStream } from '../../../runtime/sync/index.js';
import { RESOURCES, type FakeApi, type FakeRecord, type ResourceName } from './pull-fake-api.js';

export interface SyncedRow {
  id: string;
  name: string;
  amount: number;
  updated_at: string;
  sync_gen?: number;
}

const toRow = (r: FakeRecord): SyncedRow => ({ id: r.id, name: r.name, amount: r.amount, updated_at: r.updated_at });

export const TABLES: Record<ResourceName, string> = { customers: 'pull_customers', products: 'pull_products', orders: 'pull_orders', tickets: 'pull_tickets' };

export function pullStreams(pageSize = 100): PullStream<FakeRecord, SyncedRow>[] {
  return [
    defineStream<FakeRecord, SyncedRow>({
      name: 'customers',
      url: '/v1/customers',
      pagination: stripe({ limit: pageSize }),
      table: TABLES.customers,
      key: ['id'],
      map: toRow,
      reconcile: { column: 'sync_gen' },
    }),
    defineStream<FakeRecord, SyncedRow>({
      name: 'products',
      url: '/products',
      query: { per_page: String(pageSize) },
      pagination: linkHeader(),
      table: TABLES.products,
      key: ['id'],
      map: toRow,
      reconcile: { column: 'sync_gen' },
    }),
    defineStream<FakeRecord, SyncedRow>({
      name: 'orders',
      url: '/orders',
      query: { limit: String(pageSize) },
      pagination: nextLink({ from: 'next' }),
      table: TABLES.orders,
      key: ['id'],
      map: toRow,
      deleted: (r) => r.deleted === true,
      deletedKey: (r) => ({ id: r.id }),
      incremental: { param: 'updated_since', value: (r) => r.updated_at, overlap: 5 },
    }),
    defineStream<FakeRecord, SyncedRow>({
      name: 'tickets',
      url: '/tickets',
      pagination: keyset({ valueParam: 'updated_since', keyParam: 'after_id', value: (r: FakeRecord) => r.updated_at, key: (r: FakeRecord) => r.id, limitParam: 'limit', limit: pageSize }),
      table: TABLES.tickets,
      key: ['id'],
      map: toRow,
      deleted: (r) => r.deleted === true,
      deletedKey: (r) => ({ id: r.id }),
      incremental: { param: 'updated_since', value: (r) => r.updated_at, overlap: 5 },
    }),
  ];
}

export async function createPullTables(db: Kysely<any>): Promise<void> {
  for (const table of Object.values(TABLES)) {
    await sql`create table if not exists ${sql.table(table)} (id text primary key, name text not null, amount integer not null, updated_at text not null, sync_gen bigint)`.execute(db);
  }
}

export interface Comparison {
  rows: number;
  source: number;
  duplicates: number;
  missing: number;
  extra: number;
  stale: number;
}

/** The tables against the live source: duplicates (a key twice), missing, extra (deleted upstream) and stale rows. */
export async function compareWithSource(db: Kysely<any>, api: Pick<FakeApi, 'live'>): Promise<Record<ResourceName, Comparison> & { total: Comparison }> {
  const total: Comparison = { rows: 0, source: 0, duplicates: 0, missing: 0, extra: 0, stale: 0 };
  const out = {} as Record<ResourceName, Comparison>;
  for (const r of RESOURCES) {
    const { rows } = await sql<SyncedRow>`select id, name, amount, updated_at from ${sql.table(TABLES[r])}`.execute(db);
    const dup = await sql<{ n: number }>`select count(*)::int as n from (select id from ${sql.table(TABLES[r])} group by id having count(*) > 1) d`.execute(db);
    const source = api.live(r);
    const seen = new Map(rows.map((row) => [row.id, row]));
    const c: Comparison = { rows: rows.length, source: source.size, duplicates: dup.rows[0]!.n + (rows.length - seen.size), missing: 0, extra: 0, stale: 0 };
    for (const [id, rec] of source) {
      const row = seen.get(id);
      if (!row) c.missing++;
      else if (row.name !== rec.name || Number(row.amount) !== rec.amount || row.updated_at !== rec.updated_at) c.stale++;
    }
    for (const id of seen.keys()) if (!source.has(id)) c.extra++;
    out[r] = c;
    for (const k of Object.keys(total) as (keyof Comparison)[]) total[k] += c[k];
  }
  return { ...out, total };
}

/**
 * Drops a throwaway database once the clients just closed have let go of it: a pool's end() resolves
 * before its connections are gone, and dropping WITH (FORCE) then makes the server send them a FATAL that
 * the closing pool reports as an unhandled error. Forces only after ~2 s of waiting.
 */
export async function dropDatabaseWhenFree(admin: { query(text: string): Promise<unknown> }, name: string): Promise<void> {
  for (let i = 0; ; i++) {
    const force = i >= 20;
    const dropped = await admin.query(`drop database if exists ${name}${force ? ' with (force)' : ''}`).then(
      () => true,
      () => false,
    );
    if (dropped || force) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
