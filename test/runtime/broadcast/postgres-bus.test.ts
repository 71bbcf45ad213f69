/**
 * The PostgreSQL bus on a real server: a throwaway database created on the server of DATABASE_URL (else
 * postgres://postgres@127.0.0.1:5432/test) and dropped afterwards — nothing is created in the database the URL
 * names. The Bus contract, fan-out between two instances, payloads over NOTIFY's 8000 bytes, a failed publish
 * leaving no hole, and an outage made with pg_terminate_backend on the throwaway database. Without a server
 * the tests are skipped with a message; with CI=true they fail.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus, BusEvent, BusMessage } from '../../../runtime/broadcast/bus.js';
import { createPostgresBus, postgresBusSchemaSql, type PostgresBusOptions } from '../../../runtime/broadcast/postgres-bus.js';
import { busContract } from './bus-contract.js';
import { checkHubFanOut } from './hub-fanout.js';
import { soak } from './bus-soak.js';

const SERVER_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const DATABASE = `broadcast_bus_${randomUUID().slice(0, 8)}`;
const dbUrl = (() => {
  const url = new URL(SERVER_URL);
  url.pathname = `/${DATABASE}`;
  return url.toString();
})();

async function adminQuery(text: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: SERVER_URL, connectionTimeoutMillis: 3_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await client.query(text, params);
  } finally {
    await client.end();
  }
}

const available = await adminQuery('SELECT 1').then(
  () => true,
  () => false,
);
if (!available) {
  const message = `PostgreSQL not reachable at ${new URL(SERVER_URL).host}`;
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: the PostgreSQL bus tests must run)`);
  console.warn(`skipping the PostgreSQL bus tests: ${message}`);
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function record(bus: Bus) {
  const messages: BusMessage[] = [];
  const events: BusEvent['type'][] = [];
  bus.onMessage((m) => messages.push(m));
  bus.onEvent((e) => events.push(e.type));
  return { messages, events, of: (topic: string) => messages.filter((m) => m.topic === topic) };
}

const prefix = () => `bus_${randomUUID().replaceAll('-', '').slice(0, 10)}`;

describe.skipIf(!available)('postgres bus', () => {
  const buses: Bus[] = [];
  const open = (extra: Partial<PostgresBusOptions> = {}): Bus => {
    const bus = createPostgresBus({ db: dbUrl, ...extra });
    buses.push(bus);
    return bus;
  };

  beforeAll(async () => {
    await adminQuery(`CREATE DATABASE ${DATABASE}`);
  });
  afterAll(async () => {
    await Promise.all(buses.map((b) => b.close()));
    await adminQuery(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  });

  busContract('postgres', (retention) => {
    const tablePrefix = prefix();
    return { bus: () => createPostgresBus({ db: dbUrl, tablePrefix, retention, heartbeatMs: 0 }) };
  });

  it('fans out between two instances, payloads over 8000 bytes included, and creates the documented tables', async () => {
    const tablePrefix = prefix();
    const a = open({ tablePrefix });
    const b = open({ tablePrefix });
    await Promise.all([a.start(), b.start()]);
    const seenA = record(a);
    const seenB = record(b);
    const big = JSON.stringify({ text: 'é'.repeat(50_000) }); // 100 KB in UTF-8
    const sent: BusMessage[] = [];
    for (let i = 1; i <= 30; i++) sent.push(await (i % 2 ? a : b).publish('pets.created', i === 7 ? big : JSON.stringify({ i })));
    expect(sent.map((m) => m.offset)).toEqual(range(1, 30));
    await until(() => seenA.messages.length === 30 && seenB.messages.length === 30, 5_000, '30 messages on both');
    for (const seen of [seenA, seenB]) {
      expect(seen.messages.map((m) => m.offset)).toEqual(range(1, 30)); // live order
      expect(seen.messages[6]!.data).toBe(big);
    }
    const db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
    try {
      const columns = await db.query(
        `SELECT table_name, column_name FROM information_schema.columns WHERE table_name LIKE $1 ORDER BY table_name, ordinal_position`,
        [`${tablePrefix}%`],
      );
      expect(columns.rows.map((r) => `${r.table_name}.${r.column_name}`)).toEqual([
        `${tablePrefix}_messages.topic`,
        `${tablePrefix}_messages.epoch`,
        `${tablePrefix}_messages.offset`,
        `${tablePrefix}_messages.data`,
        `${tablePrefix}_messages.created_at`,
        `${tablePrefix}_topics.topic`,
        `${tablePrefix}_topics.epoch`,
        `${tablePrefix}_topics.last_offset`,
      ]);
      expect((await db.query(`SELECT last_offset FROM ${tablePrefix}_topics WHERE topic = 'pets.created'`)).rows[0]!.last_offset).toBe('30');
    } finally {
      await db.end();
    }
  });

  it('two hubs on one database: a client on A receives what B publishes, and resumes on B', async () => {
    const tablePrefix = prefix();
    await checkHubFanOut(() => createPostgresBus({ db: dbUrl, tablePrefix }), 'pets.updated');
  });

  it('a failed publish leaves no hole in the offsets', async () => {
    const bus = open({ tablePrefix: prefix() });
    await bus.start();
    expect((await bus.publish('t', '"a"')).offset).toBe(1);
    // PostgreSQL text cannot hold NUL: the insert fails, and the counter's increment is rolled back with it.
    await expect(bus.publish('t', '"\u0000"')).rejects.toThrow();
    const b = await bus.publish('t', '"b"');
    expect(b.offset).toBe(2);
    expect((await bus.read('t', b.epoch, 0, 10)).messages.map((m) => m.data)).toEqual(['"a"', '"b"']);
    // Concurrent publishes go in one statement; a bad one among them fails alone, the others keep call order.
    const results = await Promise.allSettled(['"c"', '"\u0000"', '"d"', '"e"'].map((data) => bus.publish('t', data)));
    expect(results.map((r) => (r.status === 'fulfilled' ? [r.value.offset, r.value.data] : 'rejected'))).toEqual([[3, '"c"'], 'rejected', [4, '"d"'], [5, '"e"']]);
    // Several topics in one statement: each topic numbered in call order, the bad one alone failing.
    const mixed = await Promise.allSettled(
      [
        ['t', '"f"'],
        ['u', '"\u0000"'],
        ['u', '"g"'],
        ['t', '"h"'],
        ['v', '"i"'],
      ].map(([topic, data]) => bus.publish(topic!, data!)),
    );
    expect(mixed.map((r) => (r.status === 'fulfilled' ? [r.value.topic, r.value.offset, r.value.data] : 'rejected'))).toEqual([
      ['t', 6, '"f"'],
      'rejected',
      ['u', 1, '"g"'],
      ['t', 7, '"h"'],
      ['v', 1, '"i"'],
    ]);
    expect((await bus.read('t', b.epoch, 5, 10)).messages.map((m) => [m.offset, m.data])).toEqual([
      [6, '"f"'],
      [7, '"h"'],
    ]);
  });

  it('concurrent publishes on many topics from two instances: every topic numbered 1..n with no hole, each publish resolved with its stored row', async () => {
    const tablePrefix = prefix();
    const [a, b] = [open({ tablePrefix }), open({ tablePrefix })];
    await Promise.all([a.start(), b.start()]);
    const calls = Array.from({ length: 600 }, (_, i) => ({ bus: i % 3 ? a : b, topic: `m.${i % 7}`, data: JSON.stringify({ i }) }));
    const stored = await Promise.all(calls.map((c) => c.bus.publish(c.topic, c.data)));
    for (let t = 0; t < 7; t++) {
      const topic = `m.${t}`;
      const mine = stored.filter((m) => m.topic === topic);
      expect(mine.map((m) => m.offset).sort((x, y) => x - y)).toEqual(range(1, mine.length));
      const rows = (await a.read(topic, mine[0]!.epoch, 0, 1_000)).messages;
      expect(rows.map((m) => [m.offset, m.data])).toEqual([...mine].sort((x, y) => x.offset - y.offset).map((m) => [m.offset, m.data]));
      // One instance's publishes of a topic keep their call order.
      for (const bus of [a, b]) {
        const order = calls.flatMap((c, i) => (c.bus === bus && c.topic === topic ? [stored[i]!.offset] : []));
        expect(order).toEqual([...order].sort((x, y) => x - y));
      }
    }
  });

  it('a read after a notification that fails is tried again; one failing past readRetryMs is a down, then an up with everything caught up', { timeout: 20_000 }, async () => {
    const tablePrefix = prefix();
    const b = open({ tablePrefix });
    await b.start();
    // `a` runs its queries on a pool of one connection that the test can take away: its reads then time out
    // while its LISTEN connection stays up, so no reconnect comes to the rescue.
    const pool = new pg.Pool({ connectionString: dbUrl, max: 1, connectionTimeoutMillis: 100 });
    const kysely = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
    const a = open({ db: kysely, listen: dbUrl, tablePrefix, createTables: false, readRetryMs: 2_000, reconnect: { minDelayMs: 50, maxDelayMs: 200 } });
    try {
      await a.start();
      const seenA = record(a);
      await b.publish('r', '1');
      await until(() => seenA.messages.length === 1, 5_000, 'the first message on a');

      let held = await pool.connect();
      await b.publish('r', '2'); // the last publish on `r` for now: nothing else wakes `a` up for it
      await sleep(400);
      expect(seenA.messages).toHaveLength(1); // its reads are failing
      held.release();
      await until(() => seenA.messages.length === 2, 3_000, 'the second message once reads work again');
      expect(seenA.events).toEqual([]);

      // Past readRetryMs, on a topic `a` has received nothing of yet.
      held = await pool.connect();
      await b.publish('s', '1');
      await until(() => seenA.events.includes('down'), 5_000, 'down on a');
      await sleep(300); // reconnects whose catch-up fails too
      expect(seenA.events).toEqual(['down']);
      held.release();
      await until(() => seenA.events.includes('up'), 5_000, 'up on a');
      expect(seenA.events).toEqual(['down', 'up']);
      expect(seenA.messages.map((m) => [m.topic, m.offset])).toEqual([
        ['r', 1],
        ['r', 2],
        ['s', 1],
      ]);
    } finally {
      await a.close();
      await kysely.destroy();
    }
  });

  it('a lost topics table is a new epoch; rows left of the old one do not block the new offsets', async () => {
    const tablePrefix = prefix();
    const bus = open({ tablePrefix });
    await bus.start();
    const first = await bus.publish('t', '1');
    await bus.publish('t', '2');
    await adminQueryOn(dbUrl, `TRUNCATE ${tablePrefix}_topics`);
    const again = await bus.publish('t', '3');
    expect(again.offset).toBe(1);
    expect(again.epoch).not.toBe(first.epoch);
    expect(await bus.read('t', first.epoch, 0, 10)).toEqual({ messages: [], complete: false });
    expect((await bus.read('t', again.epoch, 0, 10)).messages.map((m) => m.data)).toEqual(['3']);
  });

  it('runs its queries on a given Kysely, with createTables: false and the schema from a migration', async () => {
    const tablePrefix = prefix();
    await adminQueryOn(dbUrl, postgresBusSchemaSql(tablePrefix));
    const kysely = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: dbUrl, max: 2 }) }) });
    try {
      expect(() => createPostgresBus({ db: kysely })).toThrow(/listen/);
      const a = open({ db: kysely, listen: dbUrl, tablePrefix, createTables: false });
      const b = open({ tablePrefix });
      await Promise.all([a.start(), b.start()]);
      const seenA = record(a);
      await b.publish('k', '"from b"');
      await a.publish('k', '"from a"');
      await until(() => seenA.messages.length === 2, 5_000, 'two messages on a');
      expect(seenA.messages.map((m) => [m.offset, m.data])).toEqual([
        [1, '"from b"'],
        [2, '"from a"'],
      ]);
      await a.close();
    } finally {
      await kysely.destroy();
    }
  });

  it('deletes old rows periodically, by count and by age', async () => {
    const tablePrefix = prefix();
    const bus = open({ tablePrefix, retention: { maxMessages: 5, maxAgeMs: 300 }, trimIntervalMs: 100 });
    await bus.start();
    for (let i = 0; i < 20; i++) await bus.publish('t', String(i));
    const count = async () => Number((await adminQueryOn(dbUrl, `SELECT count(*) AS n FROM ${tablePrefix}_messages`)).rows[0].n);
    const deadline = Date.now() + 3_000;
    let n = await count();
    while (n > 5 && Date.now() < deadline) {
      await sleep(50);
      n = await count();
    }
    expect(n).toBeLessThanOrEqual(5);
    while (n > 0 && Date.now() < deadline) {
      await sleep(50);
      n = await count();
    }
    expect(n).toBe(0);
  });

  it('soak: three instances while every connection to the database is cut every ~300 ms: every message once, in order', { timeout: 30_000 }, async () => {
    const tablePrefix = prefix();
    const buses = [0, 1, 2].map(() => open({ tablePrefix, reconnect: { minDelayMs: 20, maxDelayMs: 200 } }));
    await Promise.all(buses.map((b) => b.start()));
    const result = await soak({
      buses,
      seed: 20261130,
      durationMs: 3_000,
      minPublished: 400,
      disruptEveryMs: 300,
      stored: async (topic) =>
        (await adminQueryOn(dbUrl, `SELECT "offset", data FROM ${tablePrefix}_messages WHERE topic = '${topic}' ORDER BY "offset"`)).rows.map((r) => ({
          offset: Number(r.offset),
          data: String(r.data),
        })),
      disrupt: async () => {
        await adminQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [DATABASE]);
      },
    });
    console.log(`soak: ${JSON.stringify(result)}`);
    expect(result.published).toBeGreaterThan(300);
    expect(result.downs).toBeGreaterThanOrEqual(6); // the cuts were felt by every instance, several times
  });

  it('connections cut with pg_terminate_backend: down, reconnect, catch-up of what was published meanwhile, then live again', { timeout: 30_000 }, async () => {
    const tablePrefix = prefix();
    // `a` stays away while `b` publishes: its LISTEN connection goes through a gate that refuses connections
    // until the test opens it (a fixed reconnect delay would race the 20 publishes on a loaded machine).
    const gate = await tcpGate(new URL(dbUrl));
    const a = open({
      tablePrefix,
      reconnect: { minDelayMs: 50, maxDelayMs: 200 },
      listen: { ...listenVia(dbUrl, gate.port), application_name: 'bus-a-listen' },
    });
    const b = open({ tablePrefix, reconnect: { minDelayMs: 50, maxDelayMs: 100 } });
    await Promise.all([a.start(), b.start()]);
    const seenA = record(a);
    const seenB = record(b);
    for (const t of ['u', 'v']) await b.publish(t, '0');
    await until(() => seenA.messages.length === 2, 5_000, 'the first messages on a');

    gate.shut();
    const cut = await adminQuery(`SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [DATABASE]);
    expect(Number(cut.rows[0].n)).toBeGreaterThanOrEqual(2);
    await until(() => seenA.events.includes('down') && seenB.events.includes('down'), 5_000, 'down on both');
    await until(() => gate.refused() > 0, 5_000, 'a trying to come back'); // and kept away until the gate opens
    // The pool's cut connections may fail one publish; the next connects anew.
    const publish = async (topic: string, data: string) => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await b.publish(topic, data);
        } catch (error) {
          if (attempt >= 3) throw error;
        }
      }
    };
    for (let i = 1; i <= 20; i++) await publish(['u', 'v'][i % 2]!, String(i));
    expect(seenA.events).toEqual(['down']);
    gate.open();
    await until(() => seenA.events.includes('up'), 10_000, 'a up');
    // Caught up by `up` itself, before anything else is published.
    expect(seenA.messages).toHaveLength(22);
    for (let i = 21; i <= 30; i++) await publish(['u', 'v'][i % 2]!, String(i));
    await until(() => seenA.messages.length === 32 && seenB.messages.length === 32, 5_000, 'all 32 messages on both');
    await sleep(100);
    for (const seen of [seenA, seenB]) {
      for (const t of ['u', 'v']) expect(seen.of(t).map((m) => m.offset)).toEqual(range(1, 16));
      expect(seen.messages).toHaveLength(32);
    }
    expect(seenA.events).toEqual(['down', 'up']);
    await gate.close();
  });
});

/** The connection settings of `url` with the server at 127.0.0.1:`port` instead (pg lets a connectionString override host and port). */
function listenVia(url: string, port: number): pg.ClientConfig {
  const u = new URL(url);
  return { host: '127.0.0.1', port, user: decodeURIComponent(u.username) || undefined, password: decodeURIComponent(u.password) || undefined, database: u.pathname.slice(1) };
}

/** A TCP forwarder to the server of `url` that refuses new connections (closes them at once) while shut. */
async function tcpGate(url: URL): Promise<{ port: number; shut(): void; open(): void; refused(): number; close(): Promise<void> }> {
  let isOpen = true;
  let refused = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    if (!isOpen) {
      refused++;
      inbound.destroy();
      return;
    }
    const outbound = net.connect(Number(url.port || 5432), url.hostname);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return {
    port: (server.address() as net.AddressInfo).port,
    shut: () => void (isOpen = false),
    open: () => void (isOpen = true),
    refused: () => refused,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function adminQueryOn(url: string, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}
