/**
 * The pull side piece by piece: pagination adapters, the HTTP client's Retry-After / backoff / pacing, and
 * the job on PGlite (full, incremental, tombstones, sweep, resume after a failed page, checkpoint limit,
 * runtime/health upstreams) and on the PostgreSQL server (one runner per job).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { databaseUrl, PG_SERVER, postgresReachable } from '../../postgres.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../../runtime/db/index.js';
import { createUpstream } from '../../../runtime/health/index.js';
import {
  createPullJob,
  createSyncHttp,
  createTokenBucket,
  cursorParam,
  defineStream,
  ensureSyncPullTables,
  keyset,
  linkHeader,
  nextLink,
  offsetLimit,
  pageNumber,
  parseLinkNext,
  type PauseStore,
} from '../../../runtime/sync/index.js';
import { startFakeApi, type FakeApi, type FakeRecord } from './pull-fake-api.js';
import { compareWithSource, createPullTables, dropDatabaseWhenFree, pullStreams, TABLES } from './pull-streams.js';

const page = (url: string, body: unknown, records: unknown[], headers: Record<string, string> = {}) => ({ url: new URL(url), headers: new Headers(headers), body, records });

describe('pagination adapters', () => {
  it('reads rel="next" from Link headers, in any order and quoting', () => {
    expect(parseLinkNext('<https://a/x?page=2>; rel="next", <https://a/x?page=9>; rel="last"')).toBe('https://a/x?page=2');
    expect(parseLinkNext('<https://a/x?page=1>; rel="prev", <https://a/x?page=3>; rel=next')).toBe('https://a/x?page=3');
    expect(parseLinkNext('<https://a/x?page=1>; rel="prev first"')).toBeUndefined();
    expect(parseLinkNext(null)).toBeUndefined();
  });

  it('follows next links on the same origin only', () => {
    const a = nextLink();
    expect(a.next(page('http://api/x', { next: '/x?c=2' }, [1]), undefined)).toBe('http://api/x?c=2');
    expect(a.next(page('http://api/x', { next: null }, [1]), undefined)).toBeUndefined();
    expect(() => a.next(page('http://api/x', { next: 'http://evil/x' }, [1]), undefined)).toThrow(/leaves/);
    expect(() => linkHeader().next(page('http://api/x', [], [1], { link: '<http://evil/x?p=2>; rel="next"' }), undefined)).toThrow(/leaves/);
  });

  it('counts pages and offsets, ending on a short or empty page', () => {
    const p = pageNumber({ sizeParam: 'per_page', size: 2 });
    expect(p.request(new URL('http://api/x'), undefined).search).toBe('?page=1&per_page=2');
    expect(p.next(page('http://api/x', [], [1, 2]), 3)).toBe(4);
    expect(p.next(page('http://api/x', [], [1]), 3)).toBeUndefined();
    const o = offsetLimit({ limit: 2 });
    expect(o.request(new URL('http://api/x'), 4).search).toBe('?offset=4&limit=2');
    expect(o.next(page('http://api/x', [], [1, 2]), 4)).toBe(6);
    expect(o.next(page('http://api/x', [], [1]), 4)).toBeUndefined();
    const c = cursorParam();
    expect(c.request(new URL('http://api/x?a=1'), 'abc').search).toBe('?a=1&cursor=abc');
    expect(c.next(page('http://api/x', { next_cursor: '' }, [1]), 'abc')).toBeUndefined();
  });

  it('keyset: goes on by key through ties larger than a page and drops the repeated boundary', () => {
    const k = keyset({ valueParam: 'since', keyParam: 'after', value: (r: { u: string }) => r.u, key: (r: { id: string }) => r.id, limitParam: 'limit', limit: 3 });
    const tie = [{ u: 't1', id: 'a' }, { u: 't1', id: 'b' }, { u: 't1', id: 'c' }];
    const c1 = k.next(page('http://api/x', {}, tie), undefined);
    expect(c1).toEqual(['t1', 'c']);
    expect(k.request(new URL('http://api/x'), c1).search).toBe('?since=t1&after=c&limit=3');
    const again = [{ u: 't1', id: 'c' }, { u: 't1', id: 'd' }, { u: 't2', id: 'a' }];
    expect(again.map((r) => k.seen!(r, c1))).toEqual([true, false, false]);
    expect(k.next(page('http://api/x', {}, again), c1)).toEqual(['t2', 'a']);
    // A page with nothing after the position ends the list.
    expect(k.next(page('http://api/x', {}, [{ u: 't2', id: 'a' }]), ['t2', 'a'])).toBeUndefined();
  });
});

interface Hit {
  at: number;
  url: string;
}

async function scripted(replies: ((n: number) => { status: number; headers?: Record<string, string>; body?: string })[]) {
  const hits: Hit[] = [];
  const server = http.createServer((req, res) => {
    const n = hits.length;
    hits.push({ at: Date.now(), url: req.url ?? '' });
    const r = (replies[n] ?? replies.at(-1)!)(n);
    res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
    res.end(r.body ?? '{"data":[]}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, hits, close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))) };
}

describe('sync HTTP client', () => {
  it('waits out Retry-After in seconds and as a date; 0 and past dates wait the floor, not an instant loop', async () => {
    const date = () => new Date(Math.ceil((Date.now() + 1200) / 1000) * 1000);
    let dateSent = 0;
    const s = await scripted([
      () => ({ status: 429, headers: { 'retry-after': '1' } }),
      () => ({ status: 429, headers: { 'retry-after': '0' } }),
      () => {
        const d = date();
        dateSent = d.getTime();
        return { status: 503, headers: { 'retry-after': d.toUTCString() } };
      },
      () => ({ status: 429, headers: { 'retry-after': new Date(Date.now() - 60_000).toUTCString() } }),
      () => ({ status: 200, body: '{"data":[1]}' }),
    ]);
    try {
      const client = createSyncHttp({ name: 'x', baseUrl: s.url, retry: { retryAfterFloorMs: 300, baseMs: 1 } });
      const got = await client.get(client.resolve('/list'));
      expect(got.body).toEqual({ data: [1] });
      const gaps = s.hits.slice(1).map((h, i) => h.at - s.hits[i]!.at);
      expect(gaps[0]).toBeGreaterThanOrEqual(1000);
      expect(gaps[1]).toBeGreaterThanOrEqual(300);
      expect(s.hits[3]!.at).toBeGreaterThanOrEqual(dateSent);
      expect(gaps[3]).toBeGreaterThanOrEqual(300);
    } finally {
      await s.close();
    }
  });

  it('retries 500s with backoff, gives up after maxAttempts, and does not retry a 404', async () => {
    const s = await scripted([() => ({ status: 500 })]);
    try {
      const client = createSyncHttp({ name: 'x', baseUrl: s.url, retry: { maxAttempts: 4, baseMs: 5, maxBackoffMs: 20 } });
      await expect(client.get(client.resolve('/a'))).rejects.toThrow(/gave up after 4 attempts/);
      expect(s.hits).toHaveLength(4);
    } finally {
      await s.close();
    }
    const n = await scripted([() => ({ status: 404 })]);
    try {
      const client = createSyncHttp({ name: 'x', baseUrl: n.url });
      await expect(client.get(client.resolve('/a'))).rejects.toMatchObject({ status: 404 });
      expect(n.hits).toHaveLength(1);
    } finally {
      await n.close();
    }
  });

  it('hands a pause to its store before waiting, and a new client waits for a stored pause', async () => {
    const stored: number[] = [];
    const store: PauseStore = { load: async () => stored.at(-1), save: async (_u, until) => void stored.push(until) };
    const s = await scripted([() => ({ status: 429, headers: { 'retry-after': '1' } }), () => ({ status: 200 })]);
    try {
      const first = createSyncHttp({ name: 'x', baseUrl: s.url, pauses: store });
      const pending = first.get(first.resolve('/a'));
      await new Promise((r) => setTimeout(r, 300));
      expect(stored).toHaveLength(1);
      // A second client (another process after a crash) starts now: it must not call before the pause ends.
      const second = createSyncHttp({ name: 'x', baseUrl: s.url, pauses: store });
      await Promise.all([pending, second.get(second.resolve('/b'))]);
      for (const h of s.hits.slice(1)) expect(h.at).toBeGreaterThanOrEqual(stored[0]!);
    } finally {
      await s.close();
    }
  });

  it('paces requests with a token bucket', async () => {
    const bucket = createTokenBucket({ perSecond: 20, burst: 1 });
    const start = Date.now();
    for (let i = 0; i < 6; i++) await bucket.take();
    expect(Date.now() - start).toBeGreaterThanOrEqual(240);
  });
});

describe('pull job on PGlite', () => {
  let api: FakeApi;
  let db: Kysely<any>;
  beforeAll(async () => {
    api = await startFakeApi({ counts: { customers: 230, products: 170, orders: 260, tickets: 330 }, seed: 7, tieGroup: 120 });
    db = createDatabase({ url: null, dataDir: 'memory://' });
    await createPullTables(db);
  });
  afterAll(async () => {
    await db.destroy();
    await api.close();
  });

  const job = (extra: Partial<Parameters<typeof createPullJob>[0]> = {}) =>
    createPullJob({ name: 'pglite', db, singleProcess: true, createTables: true, upstreams: [{ name: 'fake', baseUrl: api.url, retry: { baseMs: 1 } }], streams: pullStreams(50), ...extra });

  it('a full run, then incremental runs with updates, tombstones, hard deletes (swept) and ties larger than a page', async () => {
    const j = job();
    const pages: number[] = [];
    j.on('page', (e) => pages.push(e.checkpointBytes));
    const first = await j.run();
    expect(first.status).toBe('succeeded');
    expect((await compareWithSource(db, api)).total).toMatchObject({ missing: 0, extra: 0, stale: 0, duplicates: 0 });
    for (let i = 0; i < 5; i++) api.mutate();
    const goneCustomer = api.deleteOne('customers');
    const goneTicket = api.deleteOne('tickets');
    const second = await j.run();
    expect(second.status).toBe('succeeded');
    // Incremental streams read only what changed (tickets: the tie groups touched, not the whole list).
    const tickets = second.streams.find((s) => s.stream === 'tickets')!;
    expect(tickets.pages).toBeLessThan(330 / 50);
    expect(second.streams.find((s) => s.stream === 'customers')!.swept).toBeGreaterThanOrEqual(1);
    expect(second.streams.find((s) => s.stream === 'tickets')!.deleted).toBeGreaterThanOrEqual(1);
    for (const [table, id] of [[TABLES.customers, goneCustomer], [TABLES.tickets, goneTicket]] as const) {
      const left = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)} where id = ${id}`.execute(db);
      expect(left.rows[0]!.n).toBe(0);
    }
    expect((await compareWithSource(db, api)).total).toMatchObject({ missing: 0, extra: 0, stale: 0, duplicates: 0 });
    expect(Math.max(...pages)).toBeLessThan(4096);
    const status = await j.status();
    expect(status.streams.map((s) => s.stream)).toEqual(['customers', 'orders', 'products', 'tickets']);
    expect(status.streams.every((s) => s.checkpoint.pass === undefined)).toBe(true);
    expect(status.runs[0]).toMatchObject({ status: 'succeeded' });
    await j.close();
    await j.close();
  });

  it('a failed page leaves the checkpoint at the last stored page; the next run goes on from there', async () => {
    await sql`delete from backdev_sync_state where job = 'resume'`.execute(db);
    await sql`delete from ${sql.table(TABLES.products)}`.execute(db);
    let calls = 0;
    const seen: string[] = [];
    const failing: typeof fetch = async (input, init) => {
      calls++;
      seen.push(String(input));
      if (calls === 4) throw new TypeError('connection reset');
      return fetch(input, init);
    };
    const streams = pullStreams(50).filter((s) => s.name === 'products');
    const a = createPullJob({ name: 'resume', db, singleProcess: true, prefetch: false, upstreams: [{ name: 'fake', baseUrl: api.url, fetch: failing, retry: { maxAttempts: 1 } }], streams });
    const r1 = await a.run();
    expect(r1.status).toBe('failed');
    expect(r1.streams[0]!.error).toMatch(/connection reset/);
    const stored = Number((await sql<{ n: number }>`select count(*)::int as n from ${sql.table(TABLES.products)}`.execute(db)).rows[0]!.n);
    expect(stored).toBe(150);
    seen.length = 0;
    const b = createPullJob({ name: 'resume', db, singleProcess: true, prefetch: false, upstreams: [{ name: 'fake', baseUrl: api.url }], streams });
    const r2 = await b.run();
    expect(r2.status).toBe('succeeded');
    const cmp = await compareWithSource(db, api);
    expect(cmp.products).toMatchObject({ missing: 0, extra: 0, stale: 0, duplicates: 0 });
    const ledger = await sql<{ status: string; pages: number; errors: number }>`select status, pages, errors from backdev_sync_runs where job = 'resume' order by id`.execute(db);
    expect(ledger.rows.map((r) => r.status)).toEqual(['failed', 'succeeded']);
    expect(ledger.rows[0]!.errors).toBe(1);
    expect(ledger.rows[0]!.pages).toBe(3);
  });

  it('refuses a checkpoint over 4 KB', async () => {
    const s = await scripted([() => ({ status: 200, body: JSON.stringify({ data: [{ id: 'x1', name: 'a', amount: 1, updated_at: 'z' }], next_cursor: 'c'.repeat(5000) }) })]);
    try {
      const j = createPullJob({
        name: 'big',
        db,
        singleProcess: true,
        upstreams: [{ name: 'big', baseUrl: s.url }],
        streams: [defineStream<FakeRecord, { id: string; name: string; amount: number; updated_at: string }>({ name: 'big', url: '/x', pagination: cursorParam(), table: TABLES.customers, key: ['id'], map: (r) => ({ id: r.id, name: r.name, amount: r.amount, updated_at: r.updated_at }) })],
      });
      const r = await j.run();
      expect(r.status).toBe('failed');
      expect(r.streams[0]!.error).toMatch(/exceeds 4096/);
    } finally {
      await s.close();
    }
  });

  it('stores nulls, dates and absent columns (array parameters when every row has every column, VALUES otherwise)', async () => {
    await sql`create table pull_kinds (id text primary key, n integer, at timestamptz, note text not null default 'dflt', tags text[])`.execute(db);
    const data = [
      { id: 'a', n: 1, at: '2026-01-02T03:04:05.000Z', note: "it's", tags: ['x', 'y'] },
      { id: 'b', n: null, at: null, note: 'b' },
      { id: 'c', n: 3, at: '2026-01-03T00:00:00.000Z' },
    ];
    const s = await scripted([() => ({ status: 200, body: JSON.stringify({ data }) })]);
    type K = { id: string; n: number | null; at: string | null; note?: string; tags?: string[] };
    const stream = (name: string, map: (r: K) => Record<string, unknown>) =>
      defineStream<K, Record<string, unknown>>({ name, url: '/k', pagination: cursorParam(), table: 'pull_kinds', key: ['id'], map });
    try {
      const whole = createPullJob({ name: 'kinds1', db, singleProcess: true, upstreams: [{ name: 'k', baseUrl: s.url }], streams: [stream('whole', (r) => ({ id: r.id, n: r.n, at: r.at ? new Date(r.at) : null, note: r.note ?? 'none' }))] });
      expect((await whole.run()).status).toBe('succeeded');
      const first = await sql<{ id: string; n: number | null; at: Date | null; note: string }>`select id, n, at, note from pull_kinds order by id`.execute(db);
      expect(first.rows.map((r) => [r.id, r.n, r.at?.toISOString() ?? null, r.note])).toEqual([
        ['a', 1, '2026-01-02T03:04:05.000Z', "it's"],
        ['b', null, null, 'b'],
        ['c', 3, '2026-01-03T00:00:00.000Z', 'none'],
      ]);
      await sql`delete from pull_kinds`.execute(db);
      const partial = createPullJob({ name: 'kinds2', db, singleProcess: true, upstreams: [{ name: 'k', baseUrl: s.url }], streams: [stream('partial', (r) => ({ id: r.id, n: r.n, ...(r.note ? { note: r.note } : {}), ...(r.tags ? { tags: r.tags } : {}) }))] });
      expect((await partial.run()).status).toBe('succeeded');
      const second = await sql<{ id: string; note: string; tags: string[] | null }>`select id, note, tags from pull_kinds order by id`.execute(db);
      expect(second.rows).toEqual([
        { id: 'a', note: "it's", tags: ['x', 'y'] },
        { id: 'b', note: 'b', tags: null },
        { id: 'c', note: 'dflt', tags: null },
      ]);
    } finally {
      await s.close();
    }
  });

  it('goes through a runtime/health upstream when given one (next links mapped back to its paths)', async () => {
    await sql`delete from backdev_sync_state where job = 'health'`.execute(db);
    const upstream = createUpstream({ name: 'fake-h', urls: [api.url], logger: false });
    await upstream.start();
    let calls = 0;
    const counted = { ...upstream, name: upstream.name, fetch: (p: string, i?: RequestInit & { deadlineMs?: number }) => (calls++, upstream.fetch(p, i)), state: () => upstream.state() };
    try {
      const j = createPullJob({ name: 'health', db, singleProcess: true, upstreams: [{ name: 'fake-h', upstream: counted }], streams: pullStreams(50).filter((s) => s.name === 'products' || s.name === 'orders') });
      const r = await j.run({ full: true });
      expect(r.status, JSON.stringify(r.streams)).toBe('succeeded');
      expect(calls).toBeGreaterThan(5);
      const cmp = await compareWithSource(db, api);
      expect(cmp.products).toMatchObject({ missing: 0, extra: 0 });
      expect(cmp.orders).toMatchObject({ missing: 0, extra: 0 });
    } finally {
      await upstream.close();
    }
  });
});

const pgAvailable = await postgresReachable('the pull job lock test');

describe.skipIf(!pgAvailable)('pull job on PostgreSQL: one runner per job', () => {
  const name = `bd_sync_lock_${process.pid}`;
  let admin: pg.Client;
  let url: string;
  let api: FakeApi;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: PG_SERVER });
    await admin.connect();
    await admin.query(`create database ${name}`);
    url = databaseUrl(name);
    api = await startFakeApi({ counts: { customers: 400, products: 10, orders: 10, tickets: 10 }, seed: 3 });
  });
  afterAll(async () => {
    await api.close();
    await dropDatabaseWhenFree(admin, name);
    await admin.end();
  });

  it('a second instance waits while the first runs, or skips with wait: false', async () => {
    const dbA = createDatabase<any>({ url });
    const dbB = createDatabase<any>({ url });
    const dbC = createDatabase<any>({ url });
    try {
      await createPullTables(dbA);
      await ensureSyncPullTables(dbA);
      const streams = pullStreams(20).filter((s) => s.name === 'customers');
      // A slow upstream for A: 20 pages at >= 25 ms each.
      const slow: typeof fetch = async (input, init) => {
        await new Promise((r) => setTimeout(r, 25));
        return fetch(input, init);
      };
      const a = createPullJob({ name: 'locked', db: dbA, upstreams: [{ name: 'fake', baseUrl: api.url, fetch: slow }], streams });
      const b = createPullJob({ name: 'locked', db: dbB, lock: { pollMs: 20 }, upstreams: [{ name: 'fake', baseUrl: api.url }], streams });
      const c = createPullJob({ name: 'locked', db: dbC, lock: { wait: false }, upstreams: [{ name: 'fake', baseUrl: api.url }], streams });
      const order: string[] = [];
      a.on('run-start', () => order.push('a-start'));
      a.on('run-end', () => order.push('a-end'));
      b.on('lock-wait', () => order.push('b-wait'));
      b.on('run-start', () => order.push('b-start'));
      const ra = a.run();
      await new Promise<void>((resolve) => a.on('page', () => resolve()));
      const rb = b.run();
      const rc = await c.run();
      expect(rc.status).toBe('skipped');
      await Promise.all([ra, rb]);
      expect(order).toEqual(['a-start', 'b-wait', 'a-end', 'b-start']);
      expect((await compareWithSource(dbA, api)).customers).toMatchObject({ missing: 0, extra: 0, duplicates: 0 });
    } finally {
      await Promise.all([dbA.destroy(), dbB.destroy(), dbC.destroy()]);
    }
  });
});
