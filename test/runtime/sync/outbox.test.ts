/**
 * The outbox and its dispatcher on PGlite (on a throwaway PostgreSQL database when DATABASE_URL is set), with
 * a scripted fetch: enqueue in the caller's transaction, the stored key on every attempt, unknown outcomes
 * re-sent with the same key or reconciled, Retry-After, dead letters and replay, holds between dispatchers,
 * the health upstream. Crashes and a real receiver: outbox-chaos.test.ts.
 */
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createUpstream } from '../../../runtime/health/index.js';
import {
  createOutbox,
  createOutboxDispatcher,
  createOutboxTables,
  outboxMigration,
  type Outbox,
  type OutboxDispatcher,
  type OutboxDispatcherEvents,
  type OutboxDispatcherOptions,
} from '../../../runtime/sync/outbox/index.js';
import { testDatabase, type TestDatabase } from './outbox-db.js';

type Reply = { status?: number; headers?: Record<string, string>; body?: string; afterMs?: number } | 'reset' | 'refused';
interface Call {
  url: string;
  method: string;
  key: string | null;
  headers: Headers;
  body: string | undefined;
}

function scriptedFetch(script: (call: Call, n: number) => Reply) {
  const calls: Call[] = [];
  const fn = (async (input: string | URL | Request, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    const call: Call = { url: String(input), method: init?.method ?? 'GET', key: headers.get('idempotency-key'), headers, body: init?.body as string | undefined };
    calls.push(call);
    const reply = script(call, calls.length - 1);
    if (reply === 'reset') throw new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
    if (reply === 'refused') throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });
    if (reply.afterMs) await new Promise((resolve) => setTimeout(resolve, reply.afterMs));
    return new Response(reply.body ?? null, { status: reply.status ?? 200, headers: reply.headers ?? {} });
  }) as typeof globalThis.fetch;
  return { fn, calls };
}

let tdb: TestDatabase;
let db: Kysely<any>;
let n = 0;
let outbox: Outbox;
const dispatchers: OutboxDispatcher[] = [];

beforeAll(async () => {
  tdb = await testDatabase();
  db = tdb.db;
  await sql`CREATE TABLE orders (id serial PRIMARY KEY, total integer NOT NULL)`.execute(db);
});
afterAll(async () => {
  await Promise.all(dispatchers.map((d) => d.close()));
  await tdb?.drop();
});
beforeEach(async () => {
  // A table per test: each starts from an empty outbox.
  const table = `outbox_t${++n}`;
  await createOutboxTables(db, { table });
  outbox = createOutbox({ db, table });
});

function dispatcher(extra: Partial<OutboxDispatcherOptions> & Pick<OutboxDispatcherOptions, 'fetch'>) {
  const d = createOutboxDispatcher({
    outbox,
    request: (e) => ({ url: `http://receiver.test/events/${e.topic}` }),
    backoff: { baseMs: 0, retryAfterFloorMs: 300 },
    maxAttempts: 5,
    callTimeoutMs: 1_000,
    pollIntervalMs: 20,
    ...extra,
  });
  dispatchers.push(d);
  return d;
}

function record(d: OutboxDispatcher) {
  const seen: { [E in keyof OutboxDispatcherEvents]: OutboxDispatcherEvents[E][] } = { attempt: [], delivered: [], retry: [], dead: [], error: [] };
  for (const name of Object.keys(seen) as (keyof OutboxDispatcherEvents)[]) d.on(name, (e) => (seen[name] as unknown[]).push(e));
  return seen;
}

const enqueue = (payload: unknown = { n: 1 }, topic = 'order.created') => db.transaction().execute((trx) => outbox.enqueue(trx, { topic, payload }));

describe(`outbox on ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}`, () => {
  it('writes in the caller transaction: a rollback leaves no event, a commit leaves it with its key', async () => {
    await expect(
      db.transaction().execute(async (trx) => {
        await sql`INSERT INTO orders (total) VALUES (10)`.execute(trx);
        await outbox.enqueue(trx, { topic: 'order.created', payload: { total: 10 } });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await outbox.counts()).toEqual({ pending: 0, delivered: 0, dead: 0, inDoubt: 0 });

    const { id, idempotencyKey } = await db.transaction().execute(async (trx) => {
      await sql`INSERT INTO orders (total) VALUES (20)`.execute(trx);
      return outbox.enqueue(trx, { topic: 'order.created', payload: { total: 20 } });
    });
    expect(idempotencyKey).toBe(`outbox_${id}`);
    expect(await outbox.get(id)).toMatchObject({ id, topic: 'order.created', payload: { total: 20 }, idempotencyKey, status: 'pending', attempts: 0, inDoubt: false });
    expect(await outbox.get('not-a-uuid')).toBeUndefined();

    const custom = await enqueue({ total: 30 }).then(() => db.transaction().execute((trx) => outbox.enqueue(trx, { topic: 'x', payload: 1, idempotencyKey: 'order-30' })));
    expect(custom.idempotencyKey).toBe('order-30');
    await expect(db.transaction().execute((trx) => outbox.enqueue(trx, { topic: 'x', payload: 2, idempotencyKey: 'order-30' }))).rejects.toThrow();
    await expect(outbox.enqueue(db, { topic: '', payload: 1 })).rejects.toThrow(TypeError);
  });

  it('sends the stored key as Idempotency-Key with the payload as JSON, and marks the entry delivered', async () => {
    const { id, idempotencyKey } = await enqueue({ total: 5 });
    const f = scriptedFetch(() => ({ status: 201 }));
    const d = dispatcher({ fetch: f.fn });
    const seen = record(d);
    await d.drain();
    expect(f.calls).toHaveLength(1);
    expect(f.calls[0]).toMatchObject({ url: 'http://receiver.test/events/order.created', method: 'POST', key: idempotencyKey, body: '{"total":5}' });
    expect(f.calls[0]!.headers.get('content-type')).toBe('application/json');
    expect(await outbox.get(id)).toMatchObject({ status: 'delivered', attempts: 1, inDoubt: false, lastStatus: 201 });
    expect(seen.delivered).toEqual([{ id, topic: 'order.created', attempts: 1, status: 201, via: 'response' }]);
    expect(await outbox.counts()).toEqual({ pending: 0, delivered: 1, dead: 0, inDoubt: 0 });
  });

  it('sends again with the same key after a dropped response, the entry in doubt meanwhile', async () => {
    const { id, idempotencyKey } = await enqueue();
    const f = scriptedFetch((_c, i) => (i < 2 ? 'reset' : { status: 200 }));
    const d = dispatcher({ fetch: f.fn });
    const seen = record(d);
    await d.runOnce();
    expect(await outbox.get(id)).toMatchObject({ status: 'pending', attempts: 1, inDoubt: true });
    expect(seen.retry[0]).toMatchObject({ id, attempts: 1, inDoubt: true });
    expect(seen.retry[0]!.error).toContain('UND_ERR_SOCKET');
    await d.drain();
    expect(f.calls.map((c) => c.key)).toEqual([idempotencyKey, idempotencyKey, idempotencyKey]);
    expect(await outbox.get(id)).toMatchObject({ status: 'delivered', attempts: 3, inDoubt: false });
  });

  it('a refused connection leaves the entry out of doubt (nothing was sent)', async () => {
    const { id } = await enqueue();
    const f = scriptedFetch(() => 'refused');
    const d = dispatcher({ fetch: f.fn });
    await d.runOnce();
    expect(await outbox.get(id)).toMatchObject({ status: 'pending', attempts: 1, inDoubt: false });
  });

  it('reconciles an entry in doubt instead of sending it again', async () => {
    const a = await enqueue({ k: 'a' });
    const b = await enqueue({ k: 'b' });
    const c = await enqueue({ k: 'c' });
    const answers: Record<string, 'delivered' | 'absent' | 'unknown'> = { a: 'delivered', b: 'absent', c: 'unknown' };
    const reconciled: string[] = [];
    const f = scriptedFetch((call, i) => (i < 3 ? 'reset' : { status: 200 }));
    const d = dispatcher({
      fetch: f.fn,
      reconcile: async (entry) => {
        expect(entry.inDoubt).toBe(true);
        const k = (entry.payload as { k: string }).k;
        reconciled.push(k);
        return answers[k]!;
      },
    });
    const seen = record(d);
    await d.runOnce(); // three sends, three dropped responses
    expect(reconciled).toEqual([]);
    await d.runOnce();
    expect(reconciled.sort()).toEqual(['a', 'b', 'c']);
    // a: the receiver has it, no second send; b: absent, sent again with its key; c: cannot tell, later.
    expect(await outbox.get(a.id)).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(seen.delivered.find((e) => e.id === a.id)?.via).toBe('reconcile');
    expect(await outbox.get(b.id)).toMatchObject({ status: 'delivered', attempts: 2, lastStatus: 200 });
    expect(await outbox.get(c.id)).toMatchObject({ status: 'pending', attempts: 2, inDoubt: true });
    expect((await outbox.get(c.id))!.lastError).toContain('reconcile could not tell');
    const keys = f.calls.map((x) => x.key);
    expect(keys.slice(0, 3).sort()).toEqual([a.idempotencyKey, b.idempotencyKey, c.idempotencyKey].sort());
    expect(keys.slice(3)).toEqual([b.idempotencyKey]);
  });

  it('a reconcile that throws or hangs counts as unknown', async () => {
    const { id } = await enqueue();
    const f = scriptedFetch((_c, i) => (i === 0 ? 'reset' : { status: 200 }));
    let calls = 0;
    const d = dispatcher({
      fetch: f.fn,
      callTimeoutMs: 100,
      leaseMs: 1_500,
      reconcile: () => (++calls === 1 ? Promise.reject(new Error('lookup failed')) : new Promise(() => {})),
    });
    await d.runOnce();
    await d.runOnce();
    expect((await outbox.get(id))!.lastError).toContain('lookup failed');
    await d.runOnce();
    expect((await outbox.get(id))!.lastError).toContain('timed out');
    expect(await outbox.get(id)).toMatchObject({ status: 'pending', attempts: 3, inDoubt: true });
    expect(f.calls).toHaveLength(1);
  });

  it('honours Retry-After in seconds and pauses the receiver: other entries for it wait, unattempted', async () => {
    const first = await enqueue({ n: 1 });
    const f = scriptedFetch(() => ({ status: 429, headers: { 'retry-after': '2' } }));
    const d = dispatcher({ fetch: f.fn, concurrency: 1 });
    const seen = record(d);
    const before = Date.now();
    await d.runOnce();
    expect(seen.retry[0]).toMatchObject({ id: first.id, status: 429, retryAfterMs: 2_000, delayMs: 2_000 });
    expect((await outbox.get(first.id))!.availableAt.getTime()).toBeGreaterThanOrEqual(before + 2_000);
    const second = await enqueue({ n: 2 });
    await d.drain();
    expect(f.calls).toHaveLength(1);
    const held = (await outbox.get(second.id))!;
    expect(held).toMatchObject({ status: 'pending', attempts: 0 });
    expect(held.availableAt.getTime()).toBeGreaterThan(before + 1_500);
  });

  it.each([
    { form: '0', value: () => '0' },
    { form: 'a past HTTP-date', value: () => new Date(Date.now() - 60_000).toUTCString() },
  ])('treats a Retry-After of $form as the floor, not as "now"', async ({ value }) => {
    const { id } = await enqueue();
    const f = scriptedFetch(() => ({ status: 503, headers: { 'retry-after': value() } }));
    const d = dispatcher({ fetch: f.fn });
    const seen = record(d);
    const before = Date.now();
    await d.drain();
    expect(f.calls).toHaveLength(1);
    expect(seen.retry[0]).toMatchObject({ retryAfterMs: 0, delayMs: 300 });
    expect((await outbox.get(id))!.availableAt.getTime()).toBeGreaterThanOrEqual(before + 300);
  });

  it('honours a Retry-After HTTP-date', async () => {
    const { id } = await enqueue();
    const at = new Date(Math.ceil((Date.now() + 3_000) / 1000) * 1000);
    const f = scriptedFetch(() => ({ status: 429, headers: { 'retry-after': at.toUTCString() } }));
    const d = dispatcher({ fetch: f.fn });
    await d.drain();
    expect((await outbox.get(id))!.availableAt.getTime()).toBeGreaterThanOrEqual(at.getTime());
  });

  it('makes a dead letter at once of a response that will not get better, with the error and attempts; replay re-queues it', async () => {
    const { id, idempotencyKey } = await enqueue();
    let reject = true;
    const f = scriptedFetch(() => (reject ? { status: 422, body: '{"error":"bad total"}' } : { status: 200 }));
    const d = dispatcher({ fetch: f.fn });
    const seen = record(d);
    await d.drain();
    const dead = (await outbox.get(id))!;
    expect(dead).toMatchObject({ status: 'dead', attempts: 1, lastStatus: 422, lastError: 'HTTP 422: {"error":"bad total"}' });
    expect(dead.deadAt).toBeInstanceOf(Date);
    expect(seen.dead).toEqual([{ id, topic: 'order.created', attempts: 1, error: 'HTTP 422: {"error":"bad total"}', status: 422 }]);
    expect((await outbox.deadLetters()).map((e) => e.id)).toEqual([id]);
    expect(await outbox.deadLetters({ topic: 'other' })).toEqual([]);

    reject = false;
    await d.drain();
    expect(f.calls).toHaveLength(1); // a dead letter stays put until replayed
    expect(await outbox.replay(id)).toBe(true);
    expect(await outbox.replay(id)).toBe(false); // no longer dead
    expect(await outbox.get(id)).toMatchObject({ status: 'pending', attempts: 0, deadAt: null });
    await d.drain();
    expect(f.calls.map((c) => c.key)).toEqual([idempotencyKey, idempotencyKey]);
    expect(await outbox.get(id)).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(await outbox.replay(id)).toBe(false);
    expect(await outbox.replay('00000000-0000-4000-8000-000000000000')).toBe(false);
    expect(await outbox.deadLetters()).toEqual([]);
  });

  it('makes a dead letter after maxAttempts failures', async () => {
    const { id } = await enqueue();
    const f = scriptedFetch(() => ({ status: 500, body: 'down' }));
    const d = dispatcher({ fetch: f.fn, maxAttempts: 3 });
    const seen = record(d);
    await d.drain();
    expect(f.calls).toHaveLength(3);
    expect(seen.retry.map((e) => e.attempts)).toEqual([1, 2]);
    expect(await outbox.get(id)).toMatchObject({ status: 'dead', attempts: 3, lastStatus: 500, lastError: 'HTTP 500: down (attempt 3 of 3)' });
    expect(await outbox.counts()).toEqual({ pending: 0, delivered: 0, dead: 1, inDoubt: 0 });
  });

  it('a dispatcher that died during the last attempt leaves a dead letter that says so', async () => {
    const { id } = await enqueue();
    // What a claim of the fifth attempt leaves when its process is killed: held, then the hold runs out.
    await sql`UPDATE ${sql.table(outbox.table)} SET attempts = 5, in_doubt = true, lease_token = gen_random_uuid(), last_error = 'HTTP 503',
      available_at = now() - interval '1 second' WHERE id = ${id}::uuid`.execute(db);
    const f = scriptedFetch(() => ({ status: 200 }));
    const d = dispatcher({ fetch: f.fn });
    const seen = record(d);
    await d.drain();
    expect(f.calls).toHaveLength(0);
    const entry = (await outbox.get(id))!;
    expect(entry).toMatchObject({ status: 'dead', attempts: 5, inDoubt: true });
    expect(entry.lastError).toBe('no outcome was recorded for the last attempt (the dispatcher stopped during the call); before it: HTTP 503');
    expect(seen.dead).toHaveLength(1);
    expect(await outbox.replay(id)).toBe(true);
    await d.drain();
    expect(f.calls).toHaveLength(1);
    expect(await outbox.get(id)).toMatchObject({ status: 'delivered' });
  });

  it('holds a claimed entry from other dispatchers, and fences a holder whose hold ran out', async () => {
    const { id } = await enqueue();
    let releaseSlow!: () => void;
    const slow = scriptedFetch(() => ({ status: 500 }));
    const gate = new Promise<void>((resolve) => (releaseSlow = resolve));
    const slowFetch = (async (input: string | URL | Request, init?: RequestInit) => {
      await gate; // ignores its timeout: a call that outlives the hold
      return slow.fn(input, init);
    }) as typeof globalThis.fetch;
    const a = dispatcher({ fetch: slowFetch, callTimeoutMs: 50, leaseMs: 400 });
    const aSeen = record(a);
    const fast = scriptedFetch(() => ({ status: 200 }));
    const b = dispatcher({ fetch: fast.fn, callTimeoutMs: 50, leaseMs: 400 });
    const aRound = a.runOnce();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await b.runOnce()).toBe(0); // held by a
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect(await b.runOnce()).toBe(1); // the hold ran out
    expect(await outbox.get(id)).toMatchObject({ status: 'delivered', attempts: 2 });
    releaseSlow();
    await aRound;
    expect(aSeen.retry).toEqual([]); // its late 500 did not overwrite anything
    expect(await outbox.get(id)).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  it('sends through a health upstream when given one (its retries keep the key)', async () => {
    const { id, idempotencyKey } = await enqueue();
    const f = scriptedFetch((_c, i) => (i === 0 ? { status: 503 } : { status: 200 }));
    const upstream = createUpstream({ name: 'receiver', urls: ['http://receiver.test/api'], fetch: f.fn, logger: false, retry: { baseMs: 1, budget: { minRetries: 5 } } });
    const d = dispatcher({ fetch: () => Promise.reject(new Error('not this one')), upstream, request: () => ({ url: '/hooks', headers: { 'x-tenant': 't1' } }) });
    await d.drain();
    await upstream.close();
    expect(f.calls.map((c) => [c.url, c.key, c.headers.get('x-tenant')])).toEqual([
      ['http://receiver.test/api/hooks', idempotencyKey, 't1'],
      ['http://receiver.test/api/hooks', idempotencyKey, 't1'],
    ]);
    expect(await outbox.get(id)).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('runs from start() to close(), both idempotent; wake() polls at once', async () => {
    const f = scriptedFetch(() => ({ status: 200 }));
    const d = dispatcher({ fetch: f.fn, pollIntervalMs: 60_000 });
    const seen = record(d);
    await Promise.all([d.start(), d.start()]);
    const { id } = await enqueue();
    d.wake();
    const deadline = Date.now() + 5_000;
    while (seen.delivered.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(seen.delivered.map((e) => e.id)).toEqual([id]);
    await Promise.all([d.close(), d.close()]);
    await expect(d.start()).rejects.toThrow('closed');
  });

  it('start() names the missing table and the migration to add', async () => {
    const d = createOutboxDispatcher({ outbox: createOutbox({ db, table: 'no_such_outbox' }), request: () => ({ url: 'http://x.test' }) });
    await expect(d.start()).rejects.toThrow('outboxMigration()');
    await d.close();
  });

  it('outboxMigration creates and drops the table; names are checked', async () => {
    const m = outboxMigration({ table: 'migrated_outbox' });
    await m.up(db);
    await m.up(db).catch(() => {
      throw new Error('up must be repeatable (IF NOT EXISTS)');
    });
    const migrated = createOutbox({ db, table: 'migrated_outbox' });
    await migrated.enqueue(db, { topic: 't', payload: null });
    expect((await migrated.counts()).pending).toBe(1);
    await m.down!(db);
    await expect(migrated.counts()).rejects.toThrow();
    expect(() => outboxMigration({ table: 'bad"; drop table x; --' })).toThrow(TypeError);
    expect(() => createOutbox({ db, table: 'a.b.c' })).toThrow(TypeError);
  });

  it('purges delivered entries older than a given age', async () => {
    await enqueue();
    const f = scriptedFetch(() => ({ status: 200 }));
    await dispatcher({ fetch: f.fn }).drain();
    expect(await outbox.purgeDelivered(60_000)).toBe(0);
    expect(await outbox.purgeDelivered(0)).toBe(1);
    expect((await outbox.counts()).delivered).toBe(0);
  });
});
