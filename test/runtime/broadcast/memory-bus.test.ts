/**
 * The in-memory bus: the Bus contract, plus what is particular to it (one store shared by several buses,
 * a new store is a new epoch, retention validated).
 */
import { describe, expect, it } from 'vitest';
import { createMemoryBus, createMemoryStore } from '../../../runtime/broadcast/memory-bus.js';
import { busContract } from './bus-contract.js';

busContract('memory', (retention) => {
  const store = createMemoryStore({ retention });
  return { bus: () => createMemoryBus({ store }) };
});

describe('memory bus', () => {
  it('draws a new epoch per store, so a restarted process makes its clients reload', async () => {
    const one = createMemoryBus();
    const two = createMemoryBus();
    await Promise.all([one.start(), two.start()]);
    const a = await one.publish('t', '1');
    const b = await two.publish('t', '1');
    expect(a.offset).toBe(1);
    expect(b.offset).toBe(1);
    expect(a.epoch).not.toBe(b.epoch);
    expect((await two.read('t', a.epoch, 0, 10)).complete).toBe(false);
  });

  it('keeps memory bounded by count with a fake clock, and trims by age on read', async () => {
    let now = 1_000;
    const bus = createMemoryBus({ retention: { maxMessages: 100, maxAgeMs: 50 }, now: () => now });
    await bus.start();
    for (let i = 0; i < 5000; i++) await bus.publish('t', String(i));
    const { messages, complete } = await bus.read('t', (await bus.position('t')).epoch, 0, 10_000);
    expect(complete).toBe(false);
    expect(messages.map((m) => m.offset)).toEqual(Array.from({ length: 100 }, (_, i) => 4901 + i));
    now += 51;
    const later = await bus.read('t', messages[0]!.epoch, 4999, 10);
    expect(later).toEqual({ messages: [], complete: false });
    expect(await bus.read('t', messages[0]!.epoch, 5000, 10)).toEqual({ messages: [], complete: true });
    expect((await bus.publish('t', 'x')).offset).toBe(5001);
  });

  it('refuses a retention that would keep nothing', () => {
    expect(() => createMemoryStore({ retention: { maxMessages: 0 } })).toThrow(/maxMessages/);
    expect(() => createMemoryStore({ retention: { maxAgeMs: 0 } })).toThrow(/maxAgeMs/);
  });
});
