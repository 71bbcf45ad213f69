/**
 * Breaker state shared through Redis: two upstream instances (each with its own store and Redis connections)
 * in front of a fake upstream. On the machine's Redis (REDIS_URL, else redis://127.0.0.1:6379) under a key
 * prefix unique to this run, deleted afterwards (never a flush); outages on a throwaway `redis-server` this
 * file starts on a free port, kills with SIGKILL and restarts. Without a server the tests are skipped with a
 * message; with CI=true they fail.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createUpstream, type Upstream, type UpstreamEvents, type UpstreamOptions } from '../../../runtime/health/index.js';
import { createRedisBreakerStore, type RedisBreakerStore, type RedisBreakerStoreEvents } from '../../../runtime/health/redis-store.js';
import { deleteRedisKeys, freePort, redisReachable } from '../broadcast/helpers.js';
import { sleep, startFake, until, type FakeUpstream } from './fake-upstream.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUN = `test:health:${randomUUID().slice(0, 8)}:`;

const available = await redisReachable(REDIS_URL);
const redisServer = spawnSync('which', ['redis-server'], { encoding: 'utf8' }).stdout.trim();
if (!available || !redisServer) {
  const message = !available ? `Redis not reachable at ${REDIS_URL}` : 'no redis-server binary for the outage test';
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: the shared-state tests must run)`);
  console.warn(`skipping (part of) the shared-state tests: ${message}`);
}

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
afterAll(async () => {
  if (available) await deleteRedisKeys(REDIS_URL, `${RUN}*`);
});

interface Seen {
  type: keyof UpstreamEvents;
  at: number;
  event: UpstreamEvents[keyof UpstreamEvents];
}

function watch(up: Upstream): Seen[] {
  const seen: Seen[] = [];
  for (const type of ['breaker', 'error'] as const) up.on(type, (event: UpstreamEvents[typeof type]) => seen.push({ type, at: Date.now(), event }));
  return seen;
}

const opened = (seen: Seen[]) => seen.find((s) => s.type === 'breaker' && (s.event as UpstreamEvents['breaker']).state === 'open');

/** A fetch that counts what one instance sent (calls and probes apart). */
function counting() {
  const counts = { calls: 0, probes: 0 };
  const f: typeof globalThis.fetch = (input, init) => {
    if (String(input).includes('/health')) counts.probes++;
    else counts.calls++;
    return globalThis.fetch(input, init);
  };
  return { counts, fetch: f };
}

async function pair(
  f: FakeUpstream,
  stores: [RedisBreakerStore, RedisBreakerStore],
  extra: Partial<UpstreamOptions> = {},
): Promise<Array<{ up: Upstream; seen: Seen[]; counts: { calls: number; probes: number } }>> {
  return Promise.all(
    stores.map(async (store) => {
      const c = counting();
      const up = createUpstream({
        name: 'users',
        urls: [f.url],
        logger: false,
        store,
        fetch: c.fetch,
        retry: { maxAttempts: 1 },
        breaker: { consecutiveFailures: 3, openMs: 10_000 },
        ...extra,
      });
      cleanup.push(() => up.close());
      const seen = watch(up);
      await up.start();
      return { up, seen, counts: c.counts };
    }),
  );
}

describe.skipIf(!available)('shared breaker state on Redis', () => {
  async function stores(prefix: string, options: { pollMs?: number } = {}): Promise<[RedisBreakerStore, RedisBreakerStore]> {
    const made = [0, 1].map(() => {
      const client = new Redis(REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
      client.on('error', () => {});
      const store = createRedisBreakerStore({ redis: client, keyPrefix: prefix, ...options });
      cleanup.push(() => client.quit().catch(() => client.disconnect()));
      cleanup.push(() => store.close());
      return store;
    });
    await Promise.all(made.map((s) => s.start()));
    for (const s of made) expect(s.mode).toBe('shared');
    return made as [RedisBreakerStore, RedisBreakerStore];
  }

  it('shows a breaker opened on instance A to instance B within 1 s', async () => {
    const latencies: number[] = [];
    for (let round = 0; round < 5; round++) {
      const f = await startFake(() => ({ status: 503 }));
      cleanup.push(() => f.close());
      const [a, b] = await pair(f, await stores(`${RUN}latency${round}:`));
      for (let i = 0; i < 3; i++) await a!.up.fetch('/users/1');
      const atA = opened(a!.seen);
      expect(atA).toBeDefined();
      await until(() => opened(b!.seen) !== undefined, 5_000, 'B to see the open breaker');
      const atB = opened(b!.seen)!;
      expect(atB.event).toMatchObject({ state: 'open', cause: 'shared' });
      latencies.push(atB.at - atA!.at);
      // B fails fast without calling the upstream.
      await expect(b!.up.fetch('/users/1')).rejects.toMatchObject({ code: 'breaker-open' });
      expect(b!.counts.calls).toBe(0);
      // Both open until the same time.
      expect(b!.up.state().breaker.openUntil).toBe(a!.up.state().breaker.openUntil);
      for (const f of cleanup.splice(0).reverse()) await f();
    }
    console.info(`A→B open breaker latency (ms): ${latencies.join(', ')}`);
    for (const ms of latencies) expect(ms).toBeLessThan(1_000);
  });

  it('picks up a state written without a message by reading (the pub/sub fallback)', async () => {
    const prefix = `${RUN}poll:`;
    const f = await startFake(() => ({ status: 200 }));
    cleanup.push(() => f.close());
    const [, b] = await pair(f, await stores(prefix, { pollMs: 200 }));
    const redis = new Redis(REDIS_URL);
    cleanup.push(() => redis.quit());
    const snapshot = { state: 'open', timesOpened: 1, openUntil: Date.now() + 10_000, changedAt: Date.now(), source: 'elsewhere' };
    const written = Date.now();
    await redis.set(`${prefix}upstream:users`, JSON.stringify(snapshot), 'PX', 60_000);
    await until(() => opened(b!.seen) !== undefined, 5_000, 'B to read the open breaker');
    const ms = opened(b!.seen)!.at - written;
    console.info(`state read without pub/sub after ${ms} ms (pollMs 200)`);
    expect(ms).toBeLessThan(1_000);
    expect(b!.up.state().breaker.openUntil).toBe(snapshot.openUntil);
  });

  it('lets one instance send the half-open trials; the other adopts the outcome', async () => {
    const f = await startFake(() => ({ status: 503 }));
    cleanup.push(() => f.close());
    const [a, b] = await pair(f, await stores(`${RUN}trials:`), { breaker: { consecutiveFailures: 3, openMs: 400, jitter: 0, halfOpenTrials: 2, closeAfter: 2 } });
    for (let i = 0; i < 3; i++) await a!.up.fetch('/users/1');
    await until(() => opened(b!.seen) !== undefined, 2_000, 'B open');
    f.behave(() => ({ status: 200, delayMs: 50 }));
    const before = { a: a!.counts.calls, b: b!.counts.calls };
    // Both keep calling through the half-open phase until both are closed.
    const closed = (x: { up: Upstream }) => x.up.state().breaker.state === 'closed';
    let stop = false;
    const loops = [a!, b!].flatMap((x) =>
      Array.from({ length: 4 }, async () => {
        while (!stop && !closed(x)) await x.up.fetch('/users/1').then((r) => r.body?.cancel(), () => sleep(5));
      }),
    );
    await until(() => closed(a!) && closed(b!), 5_000, 'both closed');
    stop = true;
    await Promise.all(loops);
    const trials = { a: a!.counts.calls - before.a, b: b!.counts.calls - before.b };
    console.info(`half-open trials sent: A ${trials.a}, B ${trials.b}`);
    // Exactly k trials went out, all from the lease holder.
    expect(trials.a + trials.b).toBe(2);
    expect(Math.min(trials.a, trials.b)).toBe(0);
    const follower = trials.a === 0 ? a! : b!;
    const closing = follower.seen.filter((s) => s.type === 'breaker' && (s.event as UpstreamEvents['breaker']).state === 'closed');
    expect(closing.map((s) => s.event)).toMatchObject([{ state: 'closed', cause: 'shared' }]);
  });

  it('lets one instance at a time hold the probe lease', async () => {
    const f = await startFake(() => ({ status: 200 }));
    cleanup.push(() => f.close());
    const [a, b] = await pair(f, await stores(`${RUN}probes:`), { probe: { path: '/health', intervalMs: 100, timeoutMs: 1_000, leased: true } });
    await sleep(1_500);
    const first = { a: a!.counts.probes, b: b!.counts.probes };
    console.info(`probes in 1.5 s with the lease: A ${first.a}, B ${first.b}`);
    expect(Math.max(first.a, first.b)).toBeGreaterThanOrEqual(5);
    expect(Math.min(first.a, first.b)).toBe(0);
    // The holder goes away (its lease is released on close): the other takes over.
    const [holder, other] = first.a > 0 ? [a!, b!] : [b!, a!];
    await holder.up.close();
    const held = holder.counts.probes;
    await until(() => other.counts.probes >= 3, 3_000, 'the other instance to probe');
    expect(holder.counts.probes).toBe(held);
  });

  it('drops its probe verdicts when the probe lease goes to another instance', async () => {
    const prefix = `${RUN}probeloss:`;
    const f = await startFake((req) => ({ status: req.url?.startsWith('/health') ? 503 : 200 }));
    cleanup.push(() => f.close());
    const both = await pair(f, await stores(prefix), { probe: { path: '/health', intervalMs: 100, timeoutMs: 1_000, leased: true } });
    const out = (x: { up: Upstream }) => x.up.state().urls[0]!.probe === 'unhealthy';
    await until(() => both.some(out), 3_000, 'the URL out by the lease holder\'s probes');
    const a = both.find(out)!;
    const other = both.find((x) => x !== a)!;
    // The other one never probed, so it never took the URL out.
    expect(other.counts.probes).toBe(0);
    expect(other.up.state().urls[0]!.probe).toBe('unknown');
    const restored: number[] = [];
    a.up.on('restored', () => restored.push(Date.now()));
    // Another instance takes the lease (say A stalled past its TTL): A stops probing and forgets its verdicts.
    const redis = new Redis(REDIS_URL);
    cleanup.push(() => redis.quit());
    await redis.set(`${prefix}upstream:users:probes:lease`, 'another-instance', 'PX', 10_000);
    await until(() => restored.length > 0, 3_000, 'restored');
    const probes = a.counts.probes;
    await sleep(400);
    expect(a.counts.probes).toBeLessThanOrEqual(probes + 1);
    expect(a.up.state().urls[0]).toMatchObject({ probe: 'unknown', available: true });
    expect((await a.up.fetch('/users/1')).status).toBe(200);
  });
});

describe.skipIf(!available || !redisServer)('shared breaker state while Redis goes away', () => {
  let child: ChildProcess | undefined;
  let port = 0;

  async function startServer(): Promise<void> {
    child = spawn(redisServer, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (!(await redisReachable(`redis://127.0.0.1:${port}`, 500))) {
      if (Date.now() > deadline) throw new Error('throwaway redis-server did not start');
      await sleep(50);
    }
  }

  async function killServer(): Promise<void> {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGKILL');
    await exited;
  }

  afterAll(killServer);

  it('starts on local state when Redis is not there, and shares once it comes', async () => {
    port = await freePort();
    const store = createRedisBreakerStore({ url: `redis://127.0.0.1:${port}`, keyPrefix: `${RUN}late:`, startTimeoutMs: 300, pollMs: 100, reconnect: { minDelayMs: 50, maxDelayMs: 100 } });
    cleanup.push(() => store.close());
    const events: string[] = [];
    store.on('fallback', () => events.push('fallback'));
    store.on('resumed', () => events.push('resumed'));
    const started = Date.now();
    await Promise.all([store.start(), store.start()]);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(store.mode).toBe('local');
    expect(events).toEqual(['fallback']);
    // Local state and leases work meanwhile.
    const heard: string[] = [];
    store.subscribe('k', (s) => heard.push(s.state));
    const snapshot = { state: 'open' as const, timesOpened: 1, openUntil: Date.now() + 60_000, changedAt: Date.now(), source: 'x' };
    await store.publish('k', snapshot);
    expect(heard).toEqual(['open']);
    expect(await store.read('k')).toMatchObject({ state: 'open', source: 'x' });
    expect(await store.acquireLease('l', 'one', 5_000)).toBe(true);
    expect(await store.acquireLease('l', 'two', 5_000)).toBe(false);
    // Redis comes: the store resumes and writes what it published meanwhile.
    await startServer();
    await until(() => store.mode === 'shared', 10_000, 'shared');
    expect(events).toEqual(['fallback', 'resumed']);
    const redis = new Redis(`redis://127.0.0.1:${port}`);
    cleanup.push(() => redis.quit());
    let stored: unknown = null;
    for (const end = Date.now() + 5_000; stored === null && Date.now() < end; await sleep(20)) stored = JSON.parse((await redis.get(`${RUN}late:k`)) ?? 'null');
    expect(stored).toMatchObject({ state: 'open', source: 'x', openUntil: snapshot.openUntil });
    await store.close();
    await store.close();
    expect(store.mode).toBe('local');
    await expect(store.start()).rejects.toThrow(/closed/);
    await killServer();
  });

  it('goes on locally without throwing, and shares again after a restart', async () => {
    port = await freePort();
    await startServer();
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
    cleanup.push(() => {
      process.off('unhandledRejection', onUnhandled);
      process.off('uncaughtException', onUnhandled);
    });
    const url = `redis://127.0.0.1:${port}`;
    const made = [0, 1].map(() => {
      const store = createRedisBreakerStore({ url, keyPrefix: `${RUN}outage:`, pollMs: 200, reconnect: { minDelayMs: 50, maxDelayMs: 200 } });
      cleanup.push(() => store.close());
      return store;
    }) as [RedisBreakerStore, RedisBreakerStore];
    const storeEvents: Array<{ store: number; type: keyof RedisBreakerStoreEvents; at: number }> = [];
    made.forEach((s, i) => {
      s.on('fallback', () => storeEvents.push({ store: i, type: 'fallback', at: Date.now() }));
      s.on('resumed', () => storeEvents.push({ store: i, type: 'resumed', at: Date.now() }));
    });
    await Promise.all(made.map((s) => s.start()));
    expect(made.map((s) => s.mode)).toEqual(['shared', 'shared']);

    let healthy = true;
    const f = await startFake(() => ({ status: healthy ? 200 : 503 }));
    cleanup.push(() => f.close());
    const [a, b] = await pair(f, made, { probe: { path: '/health', intervalMs: 100, leased: true } });

    // Redis dies: both instances notice and keep serving on local state.
    await killServer();
    const killedAt = Date.now();
    await until(() => made.every((s) => s.mode === 'local'), 5_000, 'both stores local');
    console.info(`fallback to local state after ${Date.now() - killedAt} ms`);
    expect(storeEvents.filter((e) => e.type === 'fallback').map((e) => e.store).sort()).toEqual([0, 1]);
    for (const x of [a!, b!]) expect((await x.up.fetch('/users/1')).status).toBe(200);
    // Probes go on without the shared lease (each instance holds its local one).
    const probes = { a: a!.counts.probes, b: b!.counts.probes };
    await sleep(500);
    expect(a!.counts.probes).toBeGreaterThan(probes.a);
    expect(b!.counts.probes).toBeGreaterThan(probes.b);

    // A opens its breaker while Redis is away: B does not hear of it, and keeps calling.
    healthy = false;
    for (let i = 0; i < 3; i++) await a!.up.fetch('/users/1');
    expect(a!.up.state().breaker.state).toBe('open');
    await expect(a!.up.fetch('/users/1')).rejects.toMatchObject({ code: 'breaker-open' });
    await sleep(300);
    expect(b!.up.state().breaker.state).toBe('closed');

    // Redis is back (empty): both stores resume, A writes its open breaker again, and B adopts it.
    const restartedAt = Date.now();
    await startServer();
    await until(() => made.every((s) => s.mode === 'shared'), 10_000, 'both stores shared again');
    await until(() => opened(b!.seen) !== undefined, 5_000, 'B to adopt the open breaker after the restart');
    console.info(`after the restart (from spawning redis-server): shared again in ${storeEvents.filter((e) => e.type === 'resumed').map((e) => e.at - restartedAt).join('/')} ms, B open after ${opened(b!.seen)!.at - restartedAt} ms`);
    expect(storeEvents.filter((e) => e.type === 'resumed').map((e) => e.store).sort()).toEqual([0, 1]);
    expect(b!.up.state().breaker.openUntil).toBe(a!.up.state().breaker.openUntil);
    expect(a!.seen.filter((s) => s.type === 'error')).toEqual([]);
    expect(b!.seen.filter((s) => s.type === 'error')).toEqual([]);
    expect(unhandled).toEqual([]);
  });
});
