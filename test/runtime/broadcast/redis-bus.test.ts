/**
 * The Redis bus on a real Redis: the Bus contract and fan-out on the machine's server (REDIS_URL, else
 * redis://127.0.0.1:6379, under a key prefix unique to this run, deleted afterwards), and outages on a
 * throwaway `redis-server` this file starts on a free port (killed with SIGKILL, restarted empty; connections
 * cut with CLIENT KILL). Without a server the tests are skipped with a message; with CI=true they fail.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { Bus, BusEvent, BusMessage } from '../../../runtime/broadcast/bus.js';
import { createRedisBus, type RedisBusOptions } from '../../../runtime/broadcast/redis-bus.js';
import { busContract } from './bus-contract.js';
import { checkHubFanOut } from './hub-fanout.js';
import { deleteRedisKeys, freePort, Peer, redisReachable, serve } from './helpers.js';
import type { MessageFrame } from '../../../runtime/broadcast/protocol.js';
import { soak } from './bus-soak.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUN = `test:broadcast:${randomUUID().slice(0, 8)}:`;


const available = await redisReachable(REDIS_URL);
if (!available) {
  const message = `Redis not reachable at ${REDIS_URL}`;
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: the Redis bus tests must run)`);
  console.warn(`skipping the Redis bus tests: ${message}`);
}
const redisServer = spawnSync('which', ['redis-server'], { encoding: 'utf8' }).stdout.trim();

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Records a bus's live messages and events. */
function record(bus: Bus) {
  const messages: BusMessage[] = [];
  const events: BusEvent['type'][] = [];
  bus.onMessage((m) => messages.push(m));
  bus.onEvent((e) => events.push(e.type));
  return { messages, events, of: (topic: string) => messages.filter((m) => m.topic === topic) };
}

describe.skipIf(!available)('redis bus', () => {
  afterAll(async () => {
    await deleteRedisKeys(REDIS_URL, `${RUN}*`);
  });

  busContract('redis', (retention) => {
    const prefix = `${RUN}${randomUUID().slice(0, 8)}:`;
    return {
      bus: () => createRedisBus({ url: REDIS_URL, prefix, retention }),
      dispose: () => deleteRedisKeys(REDIS_URL, `${prefix}*`),
    };
  });

  it('fans out between two instances, in offset order, and keeps the layout it documents', async () => {
    const prefix = `${RUN}fan:`;
    const a = createRedisBus({ url: REDIS_URL, prefix });
    const b = createRedisBus({ url: REDIS_URL, prefix });
    await Promise.all([a.start(), b.start()]);
    try {
      const seenA = record(a);
      const seenB = record(b);
      for (let i = 1; i <= 50; i++) await (i % 2 ? a : b).publish('pets.created', JSON.stringify({ i }));
      await until(() => seenA.messages.length === 50 && seenB.messages.length === 50, 5_000, '50 messages on both');
      for (const seen of [seenA, seenB]) {
        expect(seen.messages.map((m) => m.offset)).toEqual(range(1, 50)); // live order, not just the set
        expect(seen.messages.map((m) => JSON.parse(m.data).i)).toEqual(range(1, 50));
      }
      const redis = new Redis(REDIS_URL);
      try {
        expect(await redis.hgetall(`${prefix}{pets.created}:m`)).toEqual({ epoch: seenA.messages[0]!.epoch, seq: '50' });
        const entries = await redis.xrange(`${prefix}{pets.created}:s`, '-', '+', 'COUNT', 2);
        expect(entries.map(([id]) => id)).toEqual(['1-0', '2-0']);
        expect(entries[0]![1]).toEqual(['t', expect.stringMatching(/^\d+$/), 'd', '{"i":1}']);
        expect(await redis.pttl(`${prefix}{pets.created}:s`)).toBeGreaterThan(0);
      } finally {
        redis.disconnect();
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('a hole in the live stream whose read fails at first is read again, not skipped', async () => {
    const prefix = `${RUN}hole:`;
    const a = createRedisBus({ url: REDIS_URL, prefix });
    // B's own command client, whose subscriber (its duplicate) loses live messages 6-10 on the way in, and
    // whose reads fail three times while that hole is being filled: as when both connections are cut at once.
    const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0 });
    const duplicate = client.duplicate.bind(client);
    let live = 0;
    client.duplicate = (...args: Parameters<Redis['duplicate']>) => {
      const sub = duplicate(...args);
      const emit = sub.emit.bind(sub);
      sub.emit = ((event: string, ...rest: unknown[]) => {
        if (event === 'messageBuffer' && ++live >= 6 && live <= 10) return true;
        return emit(event, ...rest);
      }) as typeof sub.emit;
      return sub;
    };
    const evalsha = client.evalsha.bind(client);
    let failures = 0;
    client.evalsha = ((...args: Parameters<Redis['evalsha']>) => {
      if (live > 10 && failures < 3) {
        failures++;
        return Promise.reject(new Error('Connection is closed.'));
      }
      return evalsha(...args);
    }) as typeof client.evalsha;
    const b = createRedisBus({ client, prefix, reconnect: { minDelayMs: 20, maxDelayMs: 100 } });
    await Promise.all([a.start(), b.start()]);
    try {
      const seen = record(b);
      for (let i = 1; i <= 20; i++) await a.publish('hole', String(i));
      await until(() => seen.of('hole').length >= 20, 10_000, '20 messages on B');
      await sleep(100);
      expect(failures).toBe(3); // the hole's reads did fail
      expect(seen.of('hole').map((m) => m.offset)).toEqual(range(1, 20));
      expect(seen.of('hole').map((m) => m.data)).toEqual(range(1, 20).map(String));
    } finally {
      await Promise.all([a.close(), b.close()]);
      client.disconnect();
    }
  });

  it('two hubs on one Redis: a client on A receives what B publishes, and resumes on B', async () => {
    await checkHubFanOut(() => createRedisBus({ url: REDIS_URL, prefix: `${RUN}hub:` }), 'pets.updated');
  });

  it('cuts the Stream by age on publish (bisection on offsets), not only on read', async () => {
    const prefix = `${RUN}age:`;
    // Times wide enough for a loaded machine: the age limit is 1.8 s, the batches 1.2 s apart.
    const bus = createRedisBus({ url: REDIS_URL, prefix, retention: { maxMessages: 10_000, maxAgeMs: 1_800 } });
    await bus.start();
    const redis = new Redis(REDIS_URL);
    try {
      for (let i = 1; i <= 50; i++) await bus.publish('t', String(i));
      await sleep(1_200);
      for (let i = 51; i <= 100; i++) await bus.publish('t', String(i));
      await sleep(1_200);
      await bus.publish('t', '101');
      // Everything older than 1.8 s at the last publish is cut (the first 50 at least), nothing younger.
      const left = await redis.xrange(`${prefix}{t}:s`, '-', '+');
      const ids = left.map(([id]) => Number(id.split('-')[0]));
      const times = left.map(([, fields]) => Number(fields[1]));
      const lastTime = times[times.length - 1]!;
      expect(ids.length).toBeLessThanOrEqual(51);
      expect(ids).toEqual(range(101 - ids.length + 1, 101));
      expect(Math.min(...times)).toBeGreaterThanOrEqual(lastTime - 1_800);
      const first = ids[0]!;
      const epoch = (await bus.position('t')).epoch;
      expect((await bus.read('t', epoch, first - 2, 10)).complete).toBe(false);
      // A read cuts by age too, by its own clock: on a slow machine it may have cut more from the front
      // since the XRANGE above, never anything else.
      const read = (await bus.read('t', epoch, first - 1, 200)).messages.map((m) => m.offset);
      expect(read.length).toBeGreaterThan(0);
      expect(read).toEqual(ids.slice(ids.length - read.length));
    } finally {
      redis.disconnect();
      await bus.close();
    }
  });

  it('works on a given ioredis client and leaves it open', async () => {
    const client = new Redis(REDIS_URL, { enableOfflineQueue: false });
    const prefix = `${RUN}client:`;
    const bus = createRedisBus({ client, prefix });
    await bus.start();
    const seen = record(bus);
    const message = await bus.publish('t', '"x"');
    await until(() => seen.messages.length === 1, 5_000, 'the message');
    expect(seen.messages[0]).toEqual(message);
    await bus.close();
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });

  it('rejects a start when Redis is not there, within its timeout', async () => {
    const port = await freePort();
    const bus = createRedisBus({ url: `redis://127.0.0.1:${port}`, startTimeoutMs: 500 });
    await expect(bus.start()).rejects.toThrow(/not reachable/);
    await bus.close();
  });

  describe.skipIf(!redisServer)('outages on a throwaway redis-server', () => {
    let child: ChildProcess | undefined;
    let port = 0;
    const buses: Bus[] = [];

    async function startServer(): Promise<void> {
      child = spawn(redisServer, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      const deadline = Date.now() + 5_000;
      while (!(await redisReachable(`redis://127.0.0.1:${port}`))) {
        if (Date.now() > deadline) throw new Error('throwaway redis-server did not start');
        await sleep(50);
      }
    }
    function open(extra: Partial<RedisBusOptions> = {}): Bus {
      const bus = createRedisBus({ url: `redis://127.0.0.1:${port}`, prefix: 'out:', ...extra });
      buses.push(bus);
      return bus;
    }

    afterAll(async () => {
      await Promise.all(buses.map((b) => b.close()));
      child?.kill('SIGKILL');
    });

    it('SIGKILL and an empty restart: publishes reject, down/up, a new epoch, and what was published after is delivered', { timeout: 20_000 }, async () => {
      port = await freePort();
      await startServer();
      // `a` comes back slowly, so `b` publishes while `a` is still away.
      const a = open({ reconnect: { minDelayMs: 1_000, maxDelayMs: 1_000 } });
      const b = open({ reconnect: { minDelayMs: 50, maxDelayMs: 100 } });
      await Promise.all([a.start(), b.start()]);
      const seenA = record(a);
      const seenB = record(b);
      const before = [await b.publish('t', '1'), await b.publish('t', '2')];
      await until(() => seenA.of('t').length === 2, 5_000, 'the first two messages on a');
      const oldEpoch = before[0]!.epoch;

      child!.kill('SIGKILL');
      await until(() => seenA.events.includes('down') && seenB.events.includes('down'), 5_000, 'down on both');
      const started = Date.now();
      await expect(b.publish('t', 'lost')).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(1_000); // at once, not after a queue times out

      await startServer();
      await until(() => seenB.events.includes('up'), 5_000, 'b up');
      expect(seenA.events.includes('up')).toBe(false);
      const after = [await b.publish('t', 'x'), await b.publish('t', 'y')];
      expect(after.map((m) => m.offset)).toEqual([1, 2]);
      expect(after[0]!.epoch).not.toBe(oldEpoch);
      await until(() => seenA.events.includes('up'), 5_000, 'a up');
      await until(() => seenA.of('t').length === 4, 5_000, 'a catching up');
      // `a` was away when x and y were published: it read them from the Stream before `up`.
      expect(seenA.of('t').map((m) => [m.epoch === oldEpoch ? 'old' : 'new', m.offset, m.data])).toEqual([
        ['old', 1, '1'],
        ['old', 2, '2'],
        ['new', 1, 'x'],
        ['new', 2, 'y'],
      ]);
      expect(seenA.events).toEqual(['down', 'up']);
      expect(await a.read('t', oldEpoch, 0, 10)).toEqual({ messages: [], complete: false });
      expect(await a.position('t')).toEqual({ epoch: after[0]!.epoch, offset: 2 });
      // Live delivery resumed on both (the subscription was made again after the reconnect).
      await a.publish('t', 'z');
      await until(() => seenA.of('t').length === 5 && seenB.of('t').length === 5, 5_000, 'z on both');
    });

    it('through a hub: a Redis restarted empty reaches a subscribed client as a gap (epoch), then delivery goes on', { timeout: 20_000 }, async () => {
      if (!child || child.exitCode !== null) {
        port = await freePort();
        await startServer();
      }
      const served = await serve({ bus: open({ prefix: 'hub:', reconnect: { minDelayMs: 50, maxDelayMs: 100 } }) });
      const peer = await Peer.open(served.url);
      try {
        peer.send({ type: 'subscribe', topic: 'pets' });
        const ack = await peer.next('ack', 'pets');
        await served.hub.publish('pets', { n: 1 });
        await peer.until((frames) => frames.some((f) => f.type === 'message'), 5_000, 'the first message');
        child!.kill('SIGKILL');
        await expect(served.hub.publish('pets', { n: 'lost' })).rejects.toThrow();
        await startServer();
        const gap = await peer.next('gap', 'pets', 0, 10_000);
        expect(gap).toMatchObject({ reason: 'epoch', offset: 0 });
        expect(gap.epoch).not.toBe(ack.epoch);
        const sent = await served.hub.publish('pets', { n: 2 });
        expect(sent).toMatchObject({ epoch: gap.epoch, offset: 1 });
        await peer.until((frames) => frames.filter((f) => f.type === 'message').length === 2, 5_000, 'the message after the restart');
        const messages = peer.of('message', 'pets') as MessageFrame[];
        expect(messages.map((m) => [m.epoch === ack.epoch ? 'old' : 'new', m.offset, m.data])).toEqual([
          ['old', 1, { n: 1 }],
          ['new', 1, { n: 2 }],
        ]);
        // The gap came before the new epoch's first message.
        expect(peer.frames.findIndex((f) => f.type === 'gap')).toBeLessThan(peer.frames.findIndex((f) => f.type === 'message' && f.epoch !== ack.epoch));
      } finally {
        peer.ws.terminate();
        await served.app.close();
      }
    });

    it('soak: three instances while subscriber and command connections are cut every ~300 ms: every message once, in order', { timeout: 30_000 }, async () => {
      if (!child || child.exitCode !== null) {
        port = await freePort();
        await startServer();
      }
      const prefix = 'soak:';
      const buses = [0, 1, 2].map(() => open({ prefix, reconnect: { minDelayMs: 20, maxDelayMs: 200 } }));
      await Promise.all(buses.map((b) => b.start()));
      const admin = new Redis(`redis://127.0.0.1:${port}`);
      try {
        const result = await soak({
          buses,
          seed: 20261130,
          durationMs: 3_000,
          minPublished: 400,
          disruptEveryMs: 300,
          stored: async (topic) => (await admin.xrange(`${prefix}{${topic}}:s`, '-', '+')).map(([id, fields]) => ({ offset: Number(id.split('-')[0]), data: fields[3]! })),
          // Subscribers twice as often as command connections (CLIENT KILL skips the admin connection itself).
          disrupt: async (round) => {
            await admin.call('CLIENT', 'KILL', 'TYPE', round % 3 === 2 ? 'normal' : 'pubsub');
          },
        });
        console.log(`soak: ${JSON.stringify(result)}`);
    expect(result.published).toBeGreaterThan(300);
        expect(result.downs).toBeGreaterThanOrEqual(6); // the cuts were felt by every instance, several times
      } finally {
        admin.disconnect();
      }
    });

    it('a cut subscriber connection: resubscribes and delivers what was published meanwhile, once and in order', { timeout: 20_000 }, async () => {
      if (!child || child.exitCode !== null) {
        port = await freePort();
        await startServer();
      }
      const a = open({ reconnect: { minDelayMs: 800, maxDelayMs: 800 }, redisOptions: { connectionName: 'bus-a' } });
      const b = open();
      await Promise.all([a.start(), b.start()]);
      const seenA = record(a);
      const topics = ['u', 'v'];
      for (const t of topics) await b.publish(t, '0');
      await until(() => seenA.messages.length === 2, 5_000, 'first messages');

      const admin = new Redis(`redis://127.0.0.1:${port}`);
      try {
        const list = await admin.client('LIST');
        const ids = String(list)
          .split('\n')
          .filter((line) => / name=bus-a /.test(line) && / sub=1 /.test(line))
          .map((line) => /id=(\d+)/.exec(line)![1]!);
        expect(ids).toHaveLength(1);
        await admin.client('KILL', 'ID', ids[0]!);
      } finally {
        admin.disconnect();
      }
      await until(() => seenA.events.includes('down'), 5_000, 'a down');
      // Published while a's subscriber is away; a's command connection still works.
      for (let i = 1; i <= 20; i++) await b.publish(topics[i % 2]!, String(i));
      await until(() => seenA.events.includes('up'), 5_000, 'a up');
      // Caught up by `up` itself, before anything else is published.
      expect(seenA.messages).toHaveLength(22);
      for (let i = 21; i <= 30; i++) await b.publish(topics[i % 2]!, String(i));
      await until(() => seenA.messages.length === 32, 5_000, 'all 32 messages on a');
      await sleep(100);
      for (const t of topics) expect(seenA.of(t).map((m) => m.offset)).toEqual(range(1, 16));
      expect(seenA.messages).toHaveLength(32);
      expect(seenA.events).toEqual(['down', 'up']);
    });
  });
});

