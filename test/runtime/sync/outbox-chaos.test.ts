/**
 * Outbox under faults, on the PostgreSQL server (a throwaway database, dropped afterwards): dispatchers in
 * child processes (two at a time, so claims compete through SKIP LOCKED) are killed with SIGKILL at random
 * points (after a random time, or right after the receiver performed the k-th effect of that process and
 * before it answered), while the test keeps enqueueing events in transactions (some rolled back), and a
 * fake receiver performs each effect keyed by Idempotency-Key and then drops 30% of the responses. At the
 * end every committed event has exactly one effect, rolled-back ones none. Seeded (OUTBOX_CHAOS_SEED); the
 * number of kills is OUTBOX_CHAOS_KILLS (default 12; `npm run chaos:outbox` runs 200) within
 * OUTBOX_CHAOS_BUDGET_MS. Without a server the tests are skipped with a message; with CI=true they fail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutbox, createOutboxDispatcher, outboxMigration, type Outbox } from '../../../runtime/sync/outbox/index.js';
import { serverAvailable, serverDatabase, SERVER_URL, type TestDatabase } from './outbox-db.js';
import { startReceiver, type Receiver } from './outbox-receiver.js';

const repo = path.resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const CHILD = fileURLToPath(new URL('./outbox-chaos-child.mjs', import.meta.url));
const SEED = Number(process.env.OUTBOX_CHAOS_SEED ?? 20261201) >>> 0;
const KILLS = Number(process.env.OUTBOX_CHAOS_KILLS ?? 12);
const BUDGET_MS = Number(process.env.OUTBOX_CHAOS_BUDGET_MS ?? Math.max(60_000, KILLS * 2_000));
const DROP_RATE = 0.3;

function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const available = await serverAvailable();
if (!available) {
  const message = `PostgreSQL not reachable at ${new URL(SERVER_URL).host}`;
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: the outbox chaos tests must run)`);
  console.warn(`skipping the outbox chaos tests: ${message}`);
}

describe.skipIf(!available)('outbox under SIGKILL and dropped responses (PostgreSQL)', () => {
  let tdb: TestDatabase & { url: string };
  let outbox: Outbox;
  let receiver: Receiver;
  const rng = mulberry32(SEED);
  const children = new Set<ChildProcess>();

  beforeAll(async () => {
    tdb = await serverDatabase(4);
    await outboxMigration().up(tdb.db);
    await sql`CREATE TABLE orders (id serial PRIMARY KEY, total integer NOT NULL)`.execute(tdb.db);
    outbox = createOutbox({ db: tdb.db });
    receiver = await startReceiver({ random: rng, dropRate: DROP_RATE });
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await receiver?.close();
    await tdb?.drop();
  });

  /** Starts a dispatcher process; resolves once it polls. */
  async function spawnDispatcher(life: string, reconcile: boolean): Promise<{ child: ChildProcess; exited: Promise<NodeJS.Signals | number | null>; stderr: () => string }> {
    const child = spawn(process.execPath, [CHILD], {
      cwd: repo,
      env: {
        ...process.env,
        OUTBOX_DB_URL: tdb.url,
        OUTBOX_RECEIVER: receiver.url,
        OUTBOX_LIFE: life,
        OUTBOX_SEED: String((SEED ^ Math.floor(rng() * 2 ** 31)) >>> 0),
        OUTBOX_RECONCILE: reconcile ? '1' : '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4_000)));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => (children.delete(child), resolve(signal ?? code))));
    const ready = new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => line === 'ready' && resolve());
      void exited.then((how) => reject(new Error(`dispatcher ${life} exited (${how}) before it was ready: ${err}`)));
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`dispatcher ${life} not ready after 30 s: ${err}`)), 30_000);
    });
    try {
      await Promise.race([ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return { child, exited, stderr: () => err };
  }

  it(`every committed event has exactly one effect across ${KILLS}+ SIGKILLs and ${DROP_RATE * 100}% dropped responses`, { timeout: BUDGET_MS + 240_000 }, async () => {
    const committed: string[] = [];
    const rolledBack: string[] = [];
    let producing = true;
    const producer = (async () => {
      let total = 0;
      while (producing) {
        const size = 1 + Math.floor(rng() * 5);
        const rollback = rng() < 0.1;
        const ids: string[] = [];
        await tdb.db
          .transaction()
          .execute(async (trx) => {
            for (let i = 0; i < size; i++) {
              await sql`INSERT INTO orders (total) VALUES (${++total})`.execute(trx);
              ids.push((await outbox.enqueue(trx, { topic: 'order.created', payload: { total } })).id);
            }
            if (rollback) throw new Error('rolled back');
          })
          .then(
            () => committed.push(...ids),
            () => rolledBack.push(...ids),
          );
        await sleep(30 + rng() * 40);
      }
    })();

    // Kills: after a random time, or right after the k-th effect the receiver performed for that process.
    const killOnEffect = new Map<string, { left: number; kill: () => void }>();
    const busyLives = new Set<string>();
    receiver.afterEffect = (life) => {
      if (life !== undefined) busyLives.add(life);
      const plan = life === undefined ? undefined : killOnEffect.get(life);
      if (!plan || --plan.left > 0) return false;
      killOnEffect.delete(life!);
      plan.kill();
      return true;
    };
    let kills = 0;
    let killsOnEffect = 0;
    const backlogAtKill: number[] = [];
    let lives = 0;
    const started = Date.now();
    const slot = async (n: number) => {
      while (kills < KILLS && Date.now() - started < BUDGET_MS) {
        const life = `${n}-${++lives}`;
        const reconcile = rng() < 1 / 3;
        const onEffect = rng() < 0.4;
        const { child, exited, stderr } = await spawnDispatcher(life, reconcile);
        let byEffect = false;
        if (onEffect) {
          killOnEffect.set(life, {
            left: 1 + Math.floor(rng() * 15),
            kill: () => {
              byEffect = true;
              child.kill('SIGKILL');
            },
          });
        }
        const waitMs = onEffect ? 2_000 : 100 + rng() * 900;
        await Promise.race([exited, sleep(waitMs)]);
        killOnEffect.delete(life);
        // A timed kill comes while work waits: on a quiet machine a dispatcher can catch up with the producer,
        // so it waits (briefly) for the producer's next commit, and the backlog is the one it was killed with.
        let pendingAtKill: number | undefined;
        while (!byEffect && child.exitCode === null && child.signalCode === null) {
          pendingAtKill = (await outbox.counts()).pending;
          if (pendingAtKill > 0 || Date.now() - started > BUDGET_MS) break;
          await sleep(20);
        }
        child.kill('SIGKILL');
        const how = await exited;
        if (how !== 'SIGKILL') throw new Error(`dispatcher ${life} ended on its own (${how}): ${stderr()}`);
        kills++;
        if (byEffect) killsOnEffect++;
        // Killed on an effect: that entry stays pending (its answer never came).
        backlogAtKill.push(byEffect || pendingAtKill === undefined ? (await outbox.counts()).pending : pendingAtKill);
      }
    };
    try {
      await Promise.all([slot(1), slot(2)]);
    } finally {
      producing = false;
      await producer;
    }
    const killPhase = { seconds: Math.round((Date.now() - started) / 1000), requests: receiver.stats.requests, effects: receiver.effects.size, busy: busyLives.size };

    // One last dispatcher, left alone until the outbox is empty, then stopped gracefully.
    const last = await spawnDispatcher('final', false);
    // Sized for a loaded machine: hundreds of entries may be waiting, each a request to the receiver.
    const deadline = Date.now() + 180_000;
    let counts = await outbox.counts();
    while (counts.pending > 0 && Date.now() < deadline) {
      await sleep(100);
      counts = await outbox.counts();
    }
    last.child.kill('SIGTERM');
    expect(await last.exited).toBe(0);

    const effects = receiver.effects;
    const missing = committed.filter((id) => !effects.has(id));
    const doubled = committed.filter((id) => (effects.get(id) ?? 0) > 1);
    const committedSet = new Set(committed);
    const ghosts = [...effects.keys()].filter((id) => !committedSet.has(id));
    const { rows: attempts } = await sql<{ max: number; sum: number }>`SELECT max(attempts)::int AS max, sum(attempts)::int AS sum FROM backdev_outbox`.execute(tdb.db);
    console.log(
      `outbox chaos (seed ${SEED}): ${kills} SIGKILLs (${killsOnEffect} right after an effect, before its answer) over ${lives} dispatcher processes (${killPhase.busy} of them had sent something when killed) in ${killPhase.seconds} s ` +
        `(${killPhase.effects} effects, ${killPhase.requests} requests meanwhile; pending entries at each kill: min ${Math.min(...backlogAtKill)}, median ${backlogAtKill.sort((a, b) => a - b)[backlogAtKill.length >> 1]}), all done ${Math.round((Date.now() - started) / 1000)} s; ` +
        `${committed.length} events committed, ${rolledBack.length} rolled back; ${effects.size} with an effect; ` +
        `duplicates ${doubled.length}, missing ${missing.length}, effects of rolled-back or unknown events ${ghosts.length}; ` +
        `receiver: ${receiver.stats.requests} requests, ${receiver.stats.dropped} responses dropped, ${receiver.stats.repeats} repeats answered from its ledger, ${receiver.stats.lookups} reconcile look-ups, ${receiver.stats.keyMismatches} key mismatches; ` +
        `attempts per event max ${attempts[0]?.max}, total ${attempts[0]?.sum}; outbox ${JSON.stringify(counts)}`,
    );

    expect(kills).toBeGreaterThanOrEqual(KILLS);
    // The kills hit working dispatchers: most had sent something, and work was waiting at each kill.
    expect(killPhase.busy).toBeGreaterThanOrEqual(kills / 2);
    expect(Math.min(...backlogAtKill)).toBeGreaterThan(0);
    expect(committed.length).toBeGreaterThan(100);
    expect(receiver.stats.dropped).toBeGreaterThan(0);
    expect(receiver.stats.repeats).toBeGreaterThan(0);
    expect(receiver.stats.keyMismatches).toBe(0);
    expect(doubled).toEqual([]);
    expect(missing).toEqual([]);
    expect(ghosts).toEqual([]);
    expect(counts).toEqual({ pending: 0, delivered: committed.length, dead: 0, inDoubt: 0 });
  });

  it('surfaces dead letters for a receiver that always fails, and replays them to exactly one effect each', { timeout: 60_000 }, async () => {
    await sql`TRUNCATE backdev_outbox`.execute(tdb.db);
    receiver.afterEffect = undefined;
    receiver.mode = 'failing';
    receiver.dropRate = 0;
    const before = receiver.stats.failed;
    const ids: string[] = [];
    await tdb.db.transaction().execute(async (trx) => {
      for (let i = 0; i < 5; i++) ids.push((await outbox.enqueue(trx, { topic: 'invoice.paid', payload: { i } })).id);
    });
    const dispatcher = createOutboxDispatcher({
      outbox,
      request: (entry) => ({ url: `${receiver.url}/effects`, body: { eventId: entry.id } }),
      maxAttempts: 3,
      backoff: { baseMs: 1, maxMs: 5 },
      callTimeoutMs: 1_000,
      random: rng,
    });
    const dead: string[] = [];
    dispatcher.on('dead', (e) => dead.push(e.id));
    for (let round = 0; round < 200 && (await outbox.counts()).dead < ids.length; round++) {
      await dispatcher.drain();
      await sleep(10);
    }
    expect(dead.sort()).toEqual([...ids].sort());
    expect(receiver.stats.failed - before).toBe(15);
    const letters = await outbox.deadLetters({ topic: 'invoice.paid' });
    expect(letters.map((e) => e.id).sort()).toEqual([...ids].sort());
    for (const letter of letters) {
      expect(letter).toMatchObject({ status: 'dead', attempts: 3, lastStatus: 500 });
      expect(letter.lastError).toBe('HTTP 500: {"error":"receiver is down"} (attempt 3 of 3)');
    }

    receiver.mode = 'normal';
    for (const id of ids) expect(await outbox.replay(id)).toBe(true);
    for (let round = 0; round < 200 && (await outbox.counts()).delivered < ids.length; round++) {
      await dispatcher.drain();
      await sleep(10);
    }
    await dispatcher.close();
    expect(await outbox.counts()).toEqual({ pending: 0, delivered: 5, dead: 0, inDoubt: 0 });
    for (const id of ids) expect(receiver.effects.get(id)).toBe(1);
  });
});
