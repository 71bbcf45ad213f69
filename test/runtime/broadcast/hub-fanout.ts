/**
 * Two hubs (two Fastify servers, as two instances of a generated server) on one shared bus backend: a
 * WebSocket client on instance A receives what is published on instance B, and a client that drops from A
 * resumes on B, exactly once and in order. Used by the Redis and PostgreSQL bus tests.
 */
import { expect } from 'vitest';
import type { Bus } from '../../../runtime/broadcast/bus.js';
import type { MessageFrame } from '../../../runtime/broadcast/protocol.js';
import { Peer, range, serve } from './helpers.js';

export async function checkHubFanOut(makeBus: () => Bus, topic: string): Promise<void> {
  const a = await serve({ bus: makeBus(), closeBus: true });
  const b = await serve({ bus: makeBus(), closeBus: true });
  const peers: Peer[] = [];
  try {
    const onA = await Peer.open(a.url);
    peers.push(onA);
    onA.send({ type: 'subscribe', topic });
    const ack = await onA.next('ack', topic);
    expect(ack.offset).toBe(0);
    for (let i = 1; i <= 5; i++) await b.hub.publish(topic, { i });
    await onA.until((frames) => frames.filter((f) => f.type === 'message').length === 5, 5_000, 'five messages on A');
    const got = onA.of('message', topic) as MessageFrame[];
    expect(got.map((f) => [f.offset, f.data])).toEqual(range(1, 5).map((i) => [i, { i }]));
    expect(new Set(got.map((f) => f.epoch))).toEqual(new Set([ack.epoch]));

    // The client drops after offset 2 and comes back on B: 3, 4, 5 from history, then 6 live.
    onA.ws.terminate();
    const onB = await Peer.open(b.url);
    peers.push(onB);
    onB.send({ type: 'subscribe', topic, epoch: ack.epoch, offset: 2 });
    await onB.next('ack', topic);
    await a.hub.publish(topic, { i: 6 });
    await onB.until((frames) => frames.filter((f) => f.type === 'message').length === 4, 5_000, 'four messages on B');
    expect((onB.of('message', topic) as MessageFrame[]).map((f) => f.offset)).toEqual([3, 4, 5, 6]);
    expect(onB.of('gap')).toEqual([]);
  } finally {
    for (const p of peers) p.ws.terminate();
    await Promise.all([a.app.close(), b.app.close()]);
  }
}
