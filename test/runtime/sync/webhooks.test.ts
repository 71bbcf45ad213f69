/**
 * The webhook endpoint over real HTTP on a Fastify app: signatures over the raw body (computed here with
 * node:crypto), problems for refused deliveries, each event applied once through the pull side's upsert
 * (sequential and concurrent duplicates), a failing onEvent rolling its de-duplication row back so the retry
 * applies it. On PGlite, and on the PostgreSQL server when DATABASE_URL is set (a throwaway database).
 */
import { createHmac, randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDatabase } from '../../../runtime/db/index.js';
import {
  defineStream,
  ensureSyncPullTables,
  registerWebhook,
  stripe,
  type WebhookContext,
  type WebhookEvent,
  type WebhookReceiver,
} from '../../../runtime/sync/index.js';

const hex = (secret: string, data: string | Buffer) => createHmac('sha256', secret).update(data).digest('hex');
const unix = () => Math.floor(Date.now() / 1000);
const stripeHeader = (secret: string, body: string, t = unix()) => `t=${t},v1=${hex(secret, `${t}.${body}`)}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Customer {
  id: string;
  email: string | null;
  name?: string | null;
  deleted?: boolean;
}
interface CustomerRow {
  id: string;
  email: string | null;
  name: string | null;
}

const customers = defineStream<Customer, CustomerRow>({
  name: 'customers',
  url: '/v1/customers',
  pagination: stripe(),
  table: 'wh_customers',
  key: ['id'],
  map: (c) => ({ id: c.id, email: c.email, name: c.name ?? null }),
  deleted: (c) => c.deleted === true,
});

const reconciled = defineStream<Customer, CustomerRow & { gen?: number }>({
  name: 'reconciled',
  url: '/v1/customers',
  pagination: stripe(),
  table: 'wh_reconciled',
  key: ['id'],
  map: (c) => ({ id: c.id, email: c.email, name: c.name ?? null }),
  reconcile: { column: 'gen' },
});

const SERVER = process.env.DATABASE_URL;
const targets: ('pglite' | 'postgres')[] = SERVER ? ['pglite', 'postgres'] : ['pglite'];

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: SERVER, connectionTimeoutMillis: 3_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

describe.each(targets)('webhooks on %s', (target) => {
  let db: Kysely<any>;
  let dropDb: () => Promise<void>;
  let app: FastifyInstance;
  let base: string;
  let stripeReceiver: WebhookReceiver;
  let githubReceiver: WebhookReceiver;
  /** What onEvent does, set per test. */
  let handler: (event: WebhookEvent, ctx: WebhookContext) => unknown;
  let calls: string[];

  beforeAll(async () => {
    if (target === 'postgres') {
      const name = `bd_webhooks_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      await admin((c) => c.query(`create database ${name}`));
      const url = new URL(SERVER!);
      url.pathname = `/${name}`;
      // runtime/db's pool leaves a checked-out client without an 'error' listener, so a session ended by the
      // server under it (the test below does that) would be an uncaught error: this pool listens.
      const pool = new pg.Pool({ connectionString: url.toString(), max: 12 });
      pool.on('connect', (client) => client.on('error', () => {}));
      db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
      dropDb = async () => {
        await db.destroy().catch(() => {});
        await admin((c) => c.query(`drop database if exists ${name} with (force)`));
      };
    } else {
      db = createDatabase<any>({ url: null, dataDir: 'memory://' });
      dropDb = () => db.destroy();
    }
    await sql`create table wh_customers (id text primary key, email text, name text)`.execute(db);
    await sql`create table wh_reconciled (id text primary key, email text, name text, gen bigint)`.execute(db);
    await sql`create table wh_effects (event_id text not null)`.execute(db);
    await ensureSyncPullTables(db);

    app = Fastify({ logger: false });
    const onEvent = (event: WebhookEvent, ctx: WebhookContext) => {
      calls.push(event.id);
      return handler(event, ctx);
    };
    stripeReceiver = registerWebhook(app, { path: '/hooks/stripe', scheme: 'stripe', secrets: ['whsec_new', 'whsec_old'], db, createTables: true, job: 'stripe', onEvent, bodyLimit: 64 * 1024 });
    githubReceiver = registerWebhook(app, { path: '/hooks/github', scheme: 'github', secrets: 'gh-secret', db, onEvent });
    // A JSON route of the app's own: the webhook routes' raw-body parser must not reach it.
    app.post('/echo', async (request) => ({ body: request.body }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  afterAll(async () => {
    await app?.close();
    await dropDb?.();
  });

  beforeEach(async () => {
    calls = [];
    handler = () => {};
    await sql`truncate wh_customers, wh_reconciled, wh_effects, backdev_webhook_events`.execute(db);
  });

  /** The default handler of most tests: Stripe customer events through the stream's mapping. */
  const customerHandler = async (event: WebhookEvent, { apply, remove, trx }: WebhookContext) => {
    await trx.insertInto('wh_effects').values({ event_id: event.id }).execute();
    const object = event.payload.data.object as Customer;
    if (event.type === 'customer.deleted') await remove(customers, [object]);
    else await apply(customers, [object]);
  };

  const stripeEvent = (id: string, type: string, object: Customer) => JSON.stringify({ id, object: 'event', type, data: { object } });

  async function postStripe(body: string, signature: string | null = stripeHeader('whsec_new', body), headers: Record<string, string> = {}) {
    const res = await fetch(`${base}/hooks/stripe`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...(signature !== null ? { 'stripe-signature': signature } : {}), ...headers } });
    return { status: res.status, type: res.headers.get('content-type'), headers: res.headers, body: (await res.json()) as any };
  }

  const rows = async (table = 'wh_customers') => (await sql<any>`select * from ${sql.table(table)} order by id`.execute(db)).rows;
  const effects = async () => (await sql<{ event_id: string }>`select event_id from wh_effects order by event_id`.execute(db)).rows.map((r) => r.event_id);
  const dedup = async () => (await sql<{ source: string; event_id: string; event_type: string | null }>`select source, event_id, event_type from backdev_webhook_events order by source, event_id`.execute(db)).rows;

  it('applies a signed Stripe event through the stream mapping, over the raw bytes as sent', async () => {
    handler = customerHandler;
    // Spacing, key order and an escaped character that JSON.stringify would write differently: only the
    // raw bytes carry the signature.
    const body = `{ "type" : "customer.created",\n  "id":"evt_raw", "data": {"object": {"email":"z\\u00f6e@example.com","id":"cus_1","name":"Zo\u00eb"}}}`;
    const res = await postStripe(body);
    expect(res).toMatchObject({ status: 200, body: { id: 'evt_raw', duplicate: false } });
    expect(await rows()).toEqual([{ id: 'cus_1', email: 'zöe@example.com', name: 'Zoë' }]);
    expect(await dedup()).toEqual([{ source: 'stripe', event_id: 'evt_raw', event_type: 'customer.created' }]);
    // Updates upsert by key; tombstones of the stream and explicit removals delete.
    expect((await postStripe(stripeEvent('evt_upd', 'customer.updated', { id: 'cus_1', email: 'new@example.com', name: 'Zoë B' }))).status).toBe(200);
    expect(await rows()).toEqual([{ id: 'cus_1', email: 'new@example.com', name: 'Zoë B' }]);
    expect((await postStripe(stripeEvent('evt_del', 'customer.deleted', { id: 'cus_1', email: null }))).status).toBe(200);
    expect(await rows()).toEqual([]);
    expect(await effects()).toEqual(['evt_del', 'evt_raw', 'evt_upd']);
  });

  it('the raw-body parser stays on the webhook route', async () => {
    const res = await fetch(`${base}/echo`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
    expect(await res.json()).toEqual({ body: { a: 1 } });
  });

  it('refuses bad signatures with a problem naming what is wrong, writing nothing', async () => {
    handler = customerHandler;
    const body = stripeEvent('evt_bad', 'customer.created', { id: 'cus_bad', email: null });
    const cases: [string | null, string, number, RegExp][] = [
      [null, body, 400, /Stripe-Signature header is missing/],
      [`t=${unix()}`, body, 400, /no v1= signature/],
      [stripeHeader('whsec_wrong', body), body, 401, /no v1 signature .* matches/],
      [stripeHeader('whsec_new', body), body.replace('cus_bad', 'cus_evil'), 401, /matches/],
      [stripeHeader('whsec_new', body, unix() - 301), body, 401, /timestamp is 30\d s old; at most 300 s/],
    ];
    for (const [signature, sent, status, detail] of cases) {
      const res = await postStripe(sent, signature);
      expect(res.status).toBe(status);
      expect(res.type).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ type: 'about:blank', status, detail: expect.stringMatching(detail), instance: expect.stringMatching(/^urn:request:/) });
      if (status === 401) expect(res.headers.get('www-authenticate')).toBe('HMAC-SHA256 header="Stripe-Signature"');
    }
    expect(calls).toEqual([]);
    expect(await dedup()).toEqual([]);
    expect(await rows()).toEqual([]);
  });

  it('accepts the old secret during a rotation', async () => {
    handler = customerHandler;
    const body = stripeEvent('evt_old', 'customer.created', { id: 'cus_old', email: null });
    expect((await postStripe(body, stripeHeader('whsec_old', body))).status).toBe(200);
    expect(await rows()).toHaveLength(1);
  });

  it('a verified body without an event id, or not JSON, is a 400; an oversized body a 413', async () => {
    const noId = JSON.stringify({ type: 'customer.created' });
    expect((await postStripe(noId)).body).toMatchObject({ status: 400, detail: expect.stringMatching(/no id/) });
    const notJson = 'id=evt_1';
    expect((await postStripe(notJson, stripeHeader('whsec_new', notJson), { 'content-type': 'text/plain' })).body).toMatchObject({ status: 400, detail: expect.stringMatching(/media type text\/plain/) });
    const big = stripeEvent('evt_big', 'customer.created', { id: 'cus_big', email: null, name: 'x'.repeat(70 * 1024) });
    const res = await postStripe(big);
    expect(res.status).toBe(413);
    expect(res.type).toMatch(/^application\/problem\+json/);
    expect(calls).toEqual([]);
  });

  it('a delivery repeated after it was applied is a 200 that changes nothing', async () => {
    handler = customerHandler;
    const body = stripeEvent('evt_dup', 'customer.updated', { id: 'cus_dup', email: 'a@example.com', name: 'A' });
    const signature = stripeHeader('whsec_new', body);
    expect((await postStripe(body, signature)).body).toEqual({ id: 'evt_dup', duplicate: false });
    // Changed locally since: a redelivery must not put the event's state back.
    await sql`update wh_customers set name = 'local' where id = 'cus_dup'`.execute(db);
    expect((await postStripe(body, signature)).body).toEqual({ id: 'evt_dup', duplicate: true });
    expect((await postStripe(body)).body).toEqual({ id: 'evt_dup', duplicate: true });
    expect(await rows()).toEqual([{ id: 'cus_dup', email: 'a@example.com', name: 'local' }]);
    expect(calls).toEqual(['evt_dup']);
    expect(await effects()).toEqual(['evt_dup']);
  });

  it('concurrent copies of one delivery apply it once', async () => {
    handler = async (event, ctx) => {
      await sleep(30); // widen the window: the other copies arrive while this one is uncommitted
      await customerHandler(event, ctx);
    };
    const body = stripeEvent('evt_conc', 'customer.created', { id: 'cus_conc', email: null });
    const signature = stripeHeader('whsec_new', body);
    const results = await Promise.all(Array.from({ length: 10 }, () => postStripe(body, signature)));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(results.filter((r) => r.body.duplicate === false)).toHaveLength(1);
    expect(await effects()).toEqual(['evt_conc']);
    expect(calls).toEqual(['evt_conc']);
    expect(await rows()).toHaveLength(1);
  });

  it('a failing onEvent rolls back its de-duplication row and its writes; the retry applies it once', async () => {
    let failures = 1;
    handler = async (event, ctx) => {
      await customerHandler(event, ctx); // written, then the failure undoes it
      if (failures-- > 0) throw new Error('downstream unavailable');
    };
    const body = stripeEvent('evt_fail', 'customer.created', { id: 'cus_fail', email: null });
    const signature = stripeHeader('whsec_new', body);
    const first = await postStripe(body, signature);
    expect(first.status).toBe(500);
    expect(first.type).toMatch(/^application\/problem\+json/);
    expect(first.body).toMatchObject({ status: 500, detail: 'internal error' });
    expect(await dedup()).toEqual([]);
    expect(await rows()).toEqual([]);
    expect(await effects()).toEqual([]);
    const retry = await postStripe(body, signature);
    expect(retry.body).toEqual({ id: 'evt_fail', duplicate: false });
    expect(await postStripe(body, signature)).toMatchObject({ body: { duplicate: true } });
    expect(await effects()).toEqual(['evt_fail']);
    expect(await rows()).toEqual([{ id: 'cus_fail', email: null, name: null }]);
  });

  it('concurrent copies while the first one fails: the failure frees the id and exactly one copy applies it', async () => {
    let failures = 1;
    handler = async (event, ctx) => {
      await customerHandler(event, ctx);
      await sleep(40);
      if (failures-- > 0) throw new Error('first attempt fails');
    };
    const body = stripeEvent('evt_race', 'customer.created', { id: 'cus_race', email: null });
    const signature = stripeHeader('whsec_new', body);
    const results = await Promise.all(Array.from({ length: 6 }, () => postStripe(body, signature)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 500]);
    expect(results.filter((r) => r.status === 200 && r.body.duplicate === false)).toHaveLength(1);
    expect(calls).toEqual(['evt_race', 'evt_race']);
    expect(await effects()).toEqual(['evt_race']);
  });

  // A server's connection only (PGlite has none to lose): declared for PostgreSQL alone, not skipped on PGlite.
  if (target === 'postgres') it('a connection lost before the commit keeps nothing; the retry applies the event once', async () => {
    let reached!: (pid: number) => void;
    const inside = new Promise<number>((resolve) => (reached = resolve));
    let first = true;
    handler = async (event, ctx) => {
      await customerHandler(event, ctx);
      if (!first) return;
      first = false;
      const { rows: [row] } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(ctx.trx);
      reached(row!.pid);
      // The server ends the session in the middle of the transaction (a statement running: with none, node-postgres
      // reports the lost connection as an 'error' event of the checked-out client, which nothing here listens to).
      await sql`select pg_sleep(30)`.execute(ctx.trx);
    };
    const body = stripeEvent('evt_lost', 'customer.created', { id: 'cus_lost', email: null });
    const signature = stripeHeader('whsec_new', body);
    const pending = postStripe(body, signature);
    const pid = await inside;
    await admin((c) => c.query('select pg_terminate_backend($1)', [pid]));
    expect(await pending).toMatchObject({ status: 500, body: { detail: 'internal error' } });
    expect(await dedup()).toEqual([]);
    const retry = await postStripe(body, signature);
    expect(retry.body).toEqual({ id: 'evt_lost', duplicate: false });
    expect(await effects()).toEqual(['evt_lost']);
    expect(await rows()).toEqual([{ id: 'cus_lost', email: null, name: null }]);
  });

  it('an error with a client status from onEvent is answered with it (and rolls back)', async () => {
    handler = async (event, ctx) => {
      await customerHandler(event, ctx);
      throw Object.assign(new Error('unknown customer type'), { statusCode: 422 });
    };
    const res = await postStripe(stripeEvent('evt_422', 'customer.created', { id: 'cus_422', email: null }));
    expect(res.body).toMatchObject({ status: 422, detail: 'unknown customer type' });
    expect(await dedup()).toEqual([]);
    expect(await rows()).toEqual([]);
  });

  it('rows of a reconciling stream carry the generation of the pull job pass in progress', async () => {
    await sql`delete from backdev_sync_state where job = 'stripe'`.execute(db);
    await sql`insert into backdev_sync_state (job, stream, state) values ('stripe', 'reconciled', ${JSON.stringify({ v: 1, g: 7, pass: { full: true, pages: 2 } })})`.execute(db);
    handler = async (event, { apply }) => {
      await apply(reconciled, [event.payload.data.object]);
    };
    expect((await postStripe(stripeEvent('evt_gen', 'customer.created', { id: 'cus_gen', email: null }))).status).toBe(200);
    const stored = await rows('wh_reconciled');
    expect(stored.map((r: any) => ({ ...r, gen: Number(r.gen) }))).toEqual([{ id: 'cus_gen', email: null, name: null, gen: 7 }]);
  });

  describe('GitHub', () => {
    async function postGithub(body: string, headers: Record<string, string | undefined>) {
      const sent = Object.fromEntries(Object.entries({ 'content-type': 'application/json', ...headers }).filter(([, v]) => v !== undefined)) as Record<string, string>;
      const res = await fetch(`${base}/hooks/github`, { method: 'POST', body, headers: sent });
      return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as any };
    }
    const issue = (n: number, title: string) => JSON.stringify({ action: 'edited', issue: { number: n, title } });

    beforeEach(() => {
      handler = async (event, { trx }) => {
        await trx.insertInto('wh_effects').values({ event_id: `${event.type}:${event.id}:${event.payload.issue.title}` }).execute();
      };
    });

    it('applies a delivery signed with X-Hub-Signature-256, keyed by X-GitHub-Delivery; a redelivery is a no-op', async () => {
      const body = issue(1, 'first');
      const headers = { 'x-hub-signature-256': `sha256=${hex('gh-secret', body)}`, 'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958', 'x-github-event': 'issues' };
      expect(await postGithub(body, headers)).toMatchObject({ status: 200, body: { id: '72d3162e-cc78-11e3-81ab-4c9367dc0958', duplicate: false } });
      expect(await postGithub(body, headers)).toMatchObject({ status: 200, body: { duplicate: true } });
      expect(await effects()).toEqual(['issues:72d3162e-cc78-11e3-81ab-4c9367dc0958:first']);
      expect(await dedup()).toEqual([{ source: 'github', event_id: '72d3162e-cc78-11e3-81ab-4c9367dc0958', event_type: 'issues' }]);
    });

    it('reads the form content type (payload=<json>)', async () => {
      const body = new URLSearchParams({ payload: issue(2, 'form') }).toString();
      const res = await postGithub(body, { 'content-type': 'application/x-www-form-urlencoded', 'x-hub-signature-256': `sha256=${hex('gh-secret', body)}`, 'x-github-delivery': 'd-form', 'x-github-event': 'issues' });
      expect(res).toMatchObject({ status: 200, body: { id: 'd-form' } });
      expect(await effects()).toEqual(['issues:d-form:form']);
    });

    it('reads a body sent without a content type', async () => {
      const body = issue(4, 'bare');
      const res = await fetch(`${base}/hooks/github`, { method: 'POST', body: new TextEncoder().encode(body), headers: { 'x-hub-signature-256': `sha256=${hex('gh-secret', body)}`, 'x-github-delivery': 'd-bare', 'x-github-event': 'issues' } });
      expect(res.status).toBe(200);
      expect(await effects()).toEqual(['issues:d-bare:bare']);
    });

    it('secrets given as a function are asked at every delivery (rotation without a restart)', async () => {
      let current = ['first'];
      const receiver = registerWebhook(Fastify(), { path: '/x', scheme: 'github', source: 'rotating', secrets: () => current, db, onEvent: () => {} });
      const deliver = (secret: string, id: string) => {
        const body = issue(5, id);
        return receiver.receive({ body, headers: { 'x-hub-signature-256': `sha256=${hex(secret, body)}`, 'x-github-delivery': id } });
      };
      expect(await deliver('first', 'r1')).toMatchObject({ status: 200 });
      current = ['second', 'first'];
      expect(await deliver('second', 'r2')).toMatchObject({ status: 200 });
      expect(await deliver('first', 'r3')).toMatchObject({ status: 200 });
      current = ['second'];
      expect(await deliver('first', 'r4')).toMatchObject({ status: 401, reason: 'signature-mismatch' });
    });

    it('refuses a wrong secret, a tampered body, a missing signature or delivery id', async () => {
      const body = issue(3, 'x');
      const good = `sha256=${hex('gh-secret', body)}`;
      const wrong = await postGithub(body, { 'x-hub-signature-256': `sha256=${hex('nope', body)}`, 'x-github-delivery': 'd1' });
      expect(wrong).toMatchObject({ status: 401, body: { detail: expect.stringMatching(/X-Hub-Signature-256 signature does not match/) } });
      expect(wrong.type).toMatch(/^application\/problem\+json/);
      expect(await postGithub(issue(3, 'y'), { 'x-hub-signature-256': good, 'x-github-delivery': 'd1' })).toMatchObject({ status: 401 });
      expect(await postGithub(body, { 'x-github-delivery': 'd1' })).toMatchObject({ status: 400, body: { detail: 'the X-Hub-Signature-256 header is missing' } });
      expect(await postGithub(body, { 'x-hub-signature-256': good })).toMatchObject({ status: 400, body: { detail: expect.stringMatching(/X-GitHub-Delivery/) } });
      expect(calls).toEqual([]);
    });
  });

  it('after close, deliveries are refused with a 503 (the sender retries later)', async () => {
    const closing = Fastify({ logger: false });
    const receiver = registerWebhook(closing, { path: '/h', scheme: 'github', secrets: ['s'], db, onEvent: () => {} });
    await closing.ready();
    await closing.close();
    const body = '{}';
    const outcome = await receiver.receive({ body, headers: { 'x-hub-signature-256': `sha256=${hex('s', body)}`, 'x-github-delivery': 'late' } });
    expect(outcome).toMatchObject({ status: 503, reason: 'closed' });
  });

  it('prune removes de-duplication rows older than the retention', async () => {
    handler = () => {};
    await postStripe(stripeEvent('evt_p1', 'x', { id: 'c', email: null }));
    await postStripe(stripeEvent('evt_p2', 'x', { id: 'c', email: null }));
    await sql`update backdev_webhook_events set received_at = now() - interval '40 days' where event_id = 'evt_p1'`.execute(db);
    expect(await stripeReceiver.prune()).toBe(1);
    expect((await dedup()).map((r) => r.event_id)).toEqual(['evt_p2']);
    expect(await githubReceiver.prune(0)).toBe(0); // another source's rows are not its own
  });
});
