/**
 * Crash test of the webhook endpoint on the PostgreSQL server (DATABASE_URL; a throwaway database): the
 * process serving it is killed with SIGKILL again and again while a sender delivers events and retries each
 * one until it gets a 2xx, as Stripe does. Afterwards every event has exactly one effect: kills before the
 * commit left nothing (the retry applied it), kills after the commit but before the answer made the retry
 * a duplicate.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../../runtime/db/index.js';
import { createWebhookTables } from '../../../runtime/sync/index.js';
import { childCommand, type ChildCommand } from '../../child-command.js';

const SERVER = process.env.DATABASE_URL;
const CHILD = fileURLToPath(new URL('./webhooks-crash-child.ts', import.meta.url));
const EVENTS = 150;
const MIN_KILLS = 8;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function admin(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: SERVER, connectionTimeoutMillis: 3_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

describe.skipIf(!SERVER)('webhook endpoint killed with SIGKILL (PostgreSQL)', () => {
  const name = `bd_webhooks_crash_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  let url: string;
  let child: ChildProcess | undefined;
  let command: ChildCommand | undefined;

  beforeAll(async () => {
    command = await childCommand(CHILD);
    await admin(`create database ${name}`);
    const u = new URL(SERVER!);
    u.pathname = `/${name}`;
    url = u.toString();
    const db = createDatabase<any>({ url, poolSize: 1 });
    await sql`create table wh_customers (id text primary key, email text, name text)`.execute(db);
    await sql`create table wh_effects (event_id text not null)`.execute(db);
    await createWebhookTables(db);
    await db.destroy();
  });

  afterAll(async () => {
    child?.kill('SIGKILL');
    command?.dispose();
    await admin(`drop database if exists ${name} with (force)`);
  });

  /** Starts the endpoint's process; resolves with its port. */
  function start(): Promise<number> {
    const proc = spawn(process.execPath, command!.args, { env: { ...process.env, WH_DB: url }, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let stderr = '';
    proc.stderr!.on('data', (d) => (stderr += String(d)));
    return new Promise((resolve, reject) => {
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        const m = /^listening (\d+)$/.exec(line);
        if (m) resolve(Number(m[1]));
      });
      proc.on('exit', (code, signal) => reject(new Error(`endpoint exited (${code ?? signal}) before listening: ${stderr}`)));
    });
  }

  it(`every event has exactly one effect after ≥ ${MIN_KILLS} kills`, async () => {
    let port = await start();
    let ready: Promise<void> = Promise.resolve();
    let done = 0;
    let attempts = 0;
    let duplicates = 0;
    let kills = 0;
    // Events go on until both EVENTS were sent and MIN_KILLS kills happened (each kill hits deliveries in flight).
    let next = 0;
    const take = () => (next < EVENTS || kills < MIN_KILLS ? next++ : undefined);

    async function deliver(i: number): Promise<void> {
      const body = JSON.stringify({ id: `evt_${i}`, type: 'customer.updated', data: { object: { id: `cus_${i % 40}`, email: `${i}@example.com`, name: `n${i}` } } });
      for (;;) {
        await ready;
        attempts++;
        const t = Math.floor(Date.now() / 1000);
        const signature = `t=${t},v1=${createHmac('sha256', 'whsec_crash').update(`${t}.${body}`).digest('hex')}`;
        const res = await fetch(`http://127.0.0.1:${port}/hooks/stripe`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'stripe-signature': signature } }).catch(() => undefined);
        if (res?.ok) {
          const answer = (await res.json().catch(() => undefined)) as { duplicate?: boolean } | undefined;
          if (answer) {
            if (answer.duplicate) duplicates++;
            return;
          }
        }
        await sleep(10);
      }
    }
    const senders = Array.from({ length: 4 }, async () => {
      for (let i = take(); i !== undefined; i = take()) {
        await deliver(i);
        done++;
        await sleep(5);
      }
    });

    let finished = false;
    const killer = (async () => {
      while (kills < MIN_KILLS && !finished) {
        await sleep(60 + Math.random() * 200);
        const victim = child!;
        let restarted!: () => void;
        ready = new Promise((resolve) => (restarted = resolve));
        const exited = new Promise((resolve) => victim.once('exit', resolve));
        victim.kill('SIGKILL');
        await exited;
        kills++;
        port = await start();
        restarted();
      }
    })();

    await Promise.all(senders);
    finished = true;
    await killer;
    child!.kill('SIGKILL');

    const db = createDatabase<any>({ url, poolSize: 1 });
    try {
      const effects = (await sql<{ event_id: string; n: string }>`select event_id, count(*) as n from wh_effects group by event_id`.execute(db)).rows;
      const ids = (await sql<{ event_id: string }>`select event_id from backdev_webhook_events`.execute(db)).rows.map((r) => r.event_id);
      const rows = (await sql<{ id: string; name: string }>`select id, name from wh_customers`.execute(db)).rows;
      console.log(`webhooks crash: ${done} events, ${kills} kills, ${attempts} attempts, ${duplicates} duplicate answers`);
      expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
      expect(done).toBe(next);
      expect(effects).toHaveLength(done);
      expect(effects.filter((e) => Number(e.n) !== 1)).toEqual([]);
      expect(new Set(ids).size).toBe(done);
      expect(rows).toHaveLength(40);
      expect(attempts).toBeGreaterThan(done); // kills cost attempts: the sender's retries did the rest
    } finally {
      await db.destroy();
    }
  }, 240_000);
});
