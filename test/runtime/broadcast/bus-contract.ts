/**
 * The Bus contract (runtime/broadcast/bus.ts), as tests any bus runs: call `busContract(name, makeBackend)`
 * from a `*.test.ts` file. `makeBackend(retention)` gives a fresh, empty backend per test (a new in-memory
 * store, a new Redis key prefix, a new schema or table) on which `bus()` opens any number of instances that
 * share its logs, the way several server processes share one Redis or PostgreSQL. The contract starts and
 * closes every bus it opens, then calls `dispose()`.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus, BusMessage, Retention } from '../../../runtime/broadcast/bus.js';

export interface BusTestBackend {
  /** A new bus instance on this backend (not started yet). */
  bus(): Bus | Promise<Bus>;
  /** Frees what the backend holds; called once per test after every bus it opened is closed. */
  dispose?(): Promise<void>;
}

export interface BusContractOptions {
  /** Per-test timeout (default 20 s). */
  timeoutMs?: number;
  /** How long to wait for live delivery to another instance (default 5 s). */
  deliveryTimeoutMs?: number;
}

/** A large retention for the tests that do not trim. */
const ROOMY: Retention = { maxMessages: 10_000, maxAgeMs: 600_000 };

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const offsets = (messages: readonly BusMessage[]) => messages.map((m) => m.offset);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

export function busContract(
  name: string,
  makeBackend: (retention: Retention) => BusTestBackend | Promise<BusTestBackend>,
  options: BusContractOptions = {},
): void {
  const timeout = options.timeoutMs ?? 20_000;
  const deliveryTimeout = options.deliveryTimeoutMs ?? 5_000;

  describe(`Bus contract: ${name}`, () => {
    let opened: Bus[] = [];
    let backends: BusTestBackend[] = [];

    /** A backend with `count` started buses on it. */
    async function open(count: number, retention: Retention = ROOMY): Promise<Bus[]> {
      const backend = await makeBackend(retention);
      backends.push(backend);
      const buses: Bus[] = [];
      for (let i = 0; i < count; i++) {
        const bus = await backend.bus();
        opened.push(bus);
        await bus.start();
        buses.push(bus);
      }
      return buses;
    }
    const topic = (label: string) => `${label}.${randomUUID().slice(0, 8)}`;

    afterEach(async () => {
      const buses = opened;
      const used = backends;
      opened = [];
      backends = [];
      await Promise.all(buses.map((b) => b.close()));
      for (const backend of used) await backend.dispose?.();
    });

    it('numbers each topic 1, 2, 3, … in one epoch, concurrent publishes included', { timeout }, async () => {
      const [bus] = await open(1);
      const a = topic('a');
      const b = topic('b');
      const first = await bus!.publish(a, JSON.stringify({ n: 1 }));
      expect(first).toMatchObject({ topic: a, offset: 1, data: '{"n":1}' });
      expect(typeof first.epoch).toBe('string');
      expect(first.epoch.length).toBeGreaterThan(0);
      const rest = await Promise.all(range(2, 20).map((n) => bus!.publish(a, JSON.stringify({ n }))));
      expect(offsets(rest).sort((x, y) => x - y)).toEqual(range(2, 20));
      expect(new Set(rest.map((m) => m.epoch))).toEqual(new Set([first.epoch]));
      // Another topic has its own sequence.
      expect((await bus!.publish(b, '"x"')).offset).toBe(1);
      expect((await bus!.publish(a, '"y"')).offset).toBe(21);
    });

    it('position: offset 0 for an unused topic, then the last offset, the same from every instance', { timeout }, async () => {
      const [one, two] = await open(2);
      const t = topic('pos');
      const empty = await one!.position(t);
      expect(empty.offset).toBe(0);
      expect(typeof empty.epoch).toBe('string');
      let last: BusMessage | undefined;
      for (let i = 0; i < 3; i++) last = await one!.publish(t, String(i));
      expect(await one!.position(t)).toEqual({ epoch: last!.epoch, offset: 3 });
      expect(await two!.position(t)).toEqual({ epoch: last!.epoch, offset: 3 });
      // An unused topic's epoch is the one its first message gets (a client acked at offset 0 can resume).
      expect(empty.epoch).toBe(last!.epoch);
      // Publishing from the second instance continues the same log.
      expect(await two!.publish(t, '"z"')).toMatchObject({ epoch: last!.epoch, offset: 4 });
    });

    it('read returns the messages after an offset, in order, at most limit', { timeout }, async () => {
      const [bus, other] = await open(2);
      const t = topic('read');
      const sent: BusMessage[] = [];
      for (let i = 1; i <= 10; i++) sent.push(await bus!.publish(t, JSON.stringify({ i, text: `é ${i}` })));
      const epoch = sent[0]!.epoch;
      const after4 = await other!.read(t, epoch, 4, 100);
      expect(after4.complete).toBe(true);
      expect(after4.messages).toEqual(sent.slice(4).map((m) => ({ topic: m.topic, epoch: m.epoch, offset: m.offset, data: m.data })));
      const firstThree = await bus!.read(t, epoch, 0, 3);
      expect(firstThree.complete).toBe(true);
      expect(offsets(firstThree.messages)).toEqual([1, 2, 3]);
      expect(JSON.parse(firstThree.messages[1]!.data)).toEqual({ i: 2, text: 'é 2' });
      expect(await bus!.read(t, epoch, 10, 100)).toEqual({ messages: [], complete: true });
      // Another epoch than the topic's current one: incomplete.
      expect((await bus!.read(t, `${epoch}-not`, 0, 100)).complete).toBe(false);
    });

    it('read is complete: false once the messages after the offset were trimmed by count', { timeout }, async () => {
      const [bus] = await open(1, { maxMessages: 10, maxAgeMs: 600_000 });
      const t = topic('count');
      let epoch = '';
      const dataAt = new Map<number, string>();
      // Enough messages for approximate trimming (stores that trim in blocks) to have dropped the first ones.
      // Concurrent publishes may take offsets in any order: what each got is what its publish resolved with.
      for (let start = 1; start <= 300; start += 50) {
        const batch = await Promise.all(range(start, start + 49).map((i) => bus!.publish(t, String(i))));
        for (const m of batch) dataAt.set(m.offset, m.data);
        epoch = batch[0]!.epoch;
      }
      expect([...dataAt.keys()].sort((a, b) => a - b)).toEqual(range(1, 300));
      const all = await bus!.read(t, epoch, 0, 1000);
      expect(all.complete).toBe(false);
      // What is left is a consecutive tail ending at the last offset.
      if (all.messages.length > 0) expect(offsets(all.messages)).toEqual(range(300 - all.messages.length + 1, 300));
      const tail = await bus!.read(t, epoch, 290, 1000);
      expect(tail.complete).toBe(true);
      expect(offsets(tail.messages)).toEqual(range(291, 300));
      expect(tail.messages.map((m) => m.data)).toEqual(range(291, 300).map((o) => dataAt.get(o)));
    });

    it('read is complete: false once the messages after the offset are older than maxAgeMs', { timeout }, async () => {
      const [bus] = await open(1, { maxMessages: 10_000, maxAgeMs: 400 });
      const t = topic('age');
      const first = await bus!.publish(t, '1');
      await bus!.publish(t, '2');
      await bus!.publish(t, '3');
      expect((await bus!.read(t, first.epoch, 0, 100)).complete).toBe(true);
      await sleep(700);
      const fresh = await bus!.publish(t, '4');
      expect(fresh).toMatchObject({ epoch: first.epoch, offset: 4 });
      const old = await bus!.read(t, first.epoch, 0, 100);
      expect(old.complete).toBe(false);
      expect(old.messages.map((m) => m.offset)).not.toContain(1);
      const recent = await bus!.read(t, first.epoch, 3, 100);
      expect(recent.complete).toBe(true);
      expect(offsets(recent.messages)).toEqual([4]);
    });

    it('onMessage: every instance sharing the backend sees each message, the publisher included', { timeout }, async () => {
      const [a, b] = await open(2);
      const t = topic('live');
      const seenA: BusMessage[] = [];
      const seenB: BusMessage[] = [];
      const offA = a!.onMessage((m) => {
        if (m.topic === t) seenA.push(m);
      });
      b!.onMessage((m) => {
        if (m.topic === t) seenB.push(m);
      });
      const big = 'x'.repeat(20_000); // over PostgreSQL's 8000-byte NOTIFY payload limit
      const sent = [await a!.publish(t, '"one"'), await a!.publish(t, JSON.stringify(big)), await b!.publish(t, '"three"')];
      await until(() => seenA.length >= 3 && seenB.length >= 3, deliveryTimeout, 'live delivery on both instances');
      for (const seen of [seenA, seenB]) {
        const sorted = [...seen].sort((x, y) => x.offset - y.offset);
        expect(sorted.map((m) => ({ topic: m.topic, epoch: m.epoch, offset: m.offset, data: m.data }))).toEqual(
          sent.map((m) => ({ topic: m.topic, epoch: m.epoch, offset: m.offset, data: m.data })),
        );
      }
      // The function onMessage returned removes the listener.
      offA();
      await b!.publish(t, '"four"');
      await until(() => seenB.length >= 4, deliveryTimeout, 'the fourth message on instance b');
      await sleep(100);
      expect(seenA).toHaveLength(3);
      expect(seenB[3]).toMatchObject({ offset: 4, data: '"four"' });
    });

    it('start and close are idempotent; publish after close rejects', { timeout }, async () => {
      const [bus] = await open(1);
      await bus!.start();
      await bus!.publish(topic('idem'), '1');
      await bus!.close();
      await bus!.close();
      await expect(bus!.publish(topic('idem'), '2')).rejects.toThrow();
    });
  });
}
