/**
 * A seeded soak of several bus instances on one backend while their connections are cut again and again (the
 * data survives): publishers on every instance, then every instance must have delivered every stored
 * message of every topic exactly once and in offset order — nothing lost, nothing twice. Used by the Redis
 * and PostgreSQL bus tests.
 */
import { expect } from 'vitest';
import type { Bus, BusEvent, BusMessage } from '../../../runtime/broadcast/bus.js';
import { seededRandom } from './helpers.js';

export interface SoakOptions {
  buses: Bus[];
  /** What the backend stores for `topic`, oldest first (read straight from the server). */
  stored(topic: string): Promise<Array<{ offset: number; data: string }>>;
  /** Cuts connections; called every `disruptEveryMs` while publishing. */
  disrupt(round: number): Promise<void>;
  seed: number;
  durationMs: number;
  /**
   * Disruptions go on past `durationMs` until this many messages were published (a loaded machine publishes
   * fewer in the time), up to 4 × `durationMs`. Default 0.
   */
  minPublished?: number;
  disruptEveryMs: number;
  topics?: number;
}


export async function soak(options: SoakOptions): Promise<{ published: number; failed: number; delivered: number; downs: number }> {
  const { buses } = options;
  const rand = seededRandom(options.seed);
  const topics = Array.from({ length: options.topics ?? 4 }, (_, i) => `soak.${i}`);
  const seen = buses.map(() => new Map<string, BusMessage[]>());
  let downs = 0;
  buses.forEach((bus, i) => {
    bus.onMessage((m) => {
      const list = seen[i]!.get(m.topic) ?? [];
      list.push(m);
      seen[i]!.set(m.topic, list);
    });
    bus.onEvent((e: BusEvent) => {
      if (e.type === 'down') downs++;
    });
  });

  let published = 0;
  let failed = 0;
  let stop = false;
  const publishers = buses.map(async (bus, i) => {
    let n = 0;
    while (!stop) {
      const batch = 1 + Math.floor(rand() * 8);
      await Promise.all(
        Array.from({ length: batch }, () => {
          const topic = topics[Math.floor(rand() * topics.length)]!;
          return bus.publish(topic, JSON.stringify({ from: i, n: n++ })).then(
            () => published++,
            () => failed++,
          );
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, Math.floor(rand() * 5)));
    }
  });
  const started = Date.now();
  let round = 0;
  const going = () => {
    const elapsed = Date.now() - started;
    return elapsed < options.durationMs || (published < (options.minPublished ?? 0) && elapsed < options.durationMs * 4);
  };
  while (going()) {
    await new Promise((resolve) => setTimeout(resolve, options.disruptEveryMs * (0.5 + rand())));
    await options.disrupt(round++);
  }
  stop = true;
  await Promise.all(publishers);

  // Every instance ends with the whole stored log of every topic, once, in order.
  const expected = new Map<string, Array<{ offset: number; data: string }>>();
  for (const topic of topics) {
    const log = await options.stored(topic);
    // The store itself has no hole: offsets 1, 2, 3, …
    expect(log.map((m) => m.offset), `stored ${topic}`).toEqual(log.map((_, i) => i + 1));
    expected.set(topic, log);
  }
  const complete = () => seen.every((byTopic) => topics.every((t) => (byTopic.get(t)?.length ?? 0) >= expected.get(t)!.length));
  const deadline = Date.now() + 10_000;
  while (!complete() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  await new Promise((resolve) => setTimeout(resolve, 100)); // anything delivered twice shows up now
  let delivered = 0;
  for (let i = 0; i < buses.length; i++) {
    for (const topic of topics) {
      const got = (seen[i]!.get(topic) ?? []).map((m) => ({ offset: m.offset, data: m.data }));
      delivered += got.length;
      expect(new Set((seen[i]!.get(topic) ?? []).map((m) => m.epoch)).size, `instance ${i}, ${topic}: one epoch`).toBeLessThanOrEqual(1);
      expect(got, `instance ${i}, ${topic}`).toEqual(expected.get(topic));
    }
  }
  // The stored log holds every successful publish (and possibly some whose reply was lost).
  const stored = [...expected.values()].reduce((sum, log) => sum + log.length, 0);
  expect(stored).toBeGreaterThanOrEqual(published);
  expect(stored).toBeLessThanOrEqual(published + failed);
  return { published, failed, delivered, downs };
}
