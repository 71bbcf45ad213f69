/**
 * The broadcast hub over a real Fastify server on loopback, on the in-memory bus: the protocol, resume
 * exactly once and in order, gaps (window, epoch, bus, backpressure), heartbeats, shutdown, authentication
 * and authorization.
 */
import fastifyWebsocket from '@fastify/websocket';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { WebSocket, type ClientOptions } from 'ws';
import { AuthError } from '../../../runtime/auth/errors.js';
import { bearerScheme } from '../../../runtime/auth/schemes.js';
import type { Bus, BusEvent, BusMessage } from '../../../runtime/broadcast/bus.js';
import { authenticateWithSchemes, createBroadcastHub, createMemoryBus, createMemoryStore } from '../../../runtime/broadcast/index.js';
import type { MessageFrame } from '../../../runtime/broadcast/protocol.js';
import { Peer, range, serve, sleep, type Served } from './helpers.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server<P = unknown>(...args: Parameters<typeof serve<P>>): Promise<Served<P>> {
  const served = await serve<P>(...args);
  cleanups.push(() => served.app.close());
  return served;
}
async function peer(url: string, options?: ClientOptions): Promise<Peer> {
  const p = await Peer.open(url, options ?? {});
  cleanups.push(async () => {
    p.ws.terminate();
  });
  return p;
}
const offsets = (frames: MessageFrame[]) => frames.map((f) => f.offset);

/** Publishes `count` messages on `topic`, one after the other, in the background. */
function publisher(hub: Served['hub'], topic: string, count: number, everyMs = 0): Promise<BusMessage[]> {
  return (async () => {
    const sent: BusMessage[] = [];
    for (let i = 0; i < count; i++) {
      sent.push(await hub.publish(topic, { i }));
      if (everyMs) await sleep(everyMs);
      else if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    return sent;
  })();
}

describe('protocol', () => {
  it('acknowledges a subscribe once live, with the position, and delivers what follows, serialized once', async () => {
    const { hub, url } = await server();
    await hub.publish('pets', { n: 0 });
    const a = await peer(url);
    const b = await peer(url);
    a.send({ type: 'subscribe', topic: 'pets' });
    b.send({ type: 'subscribe', topic: 'pets' });
    const ack = await a.next('ack', 'pets');
    expect(ack).toEqual({ type: 'ack', topic: 'pets', epoch: expect.any(String), offset: 1 });
    await b.next('ack', 'pets');
    const sent = await hub.publish('pets', { n: 1, name: 'Rex "the dog"' });
    expect(sent).toMatchObject({ topic: 'pets', epoch: ack.epoch, offset: 2 });
    for (const p of [a, b]) {
      const message = await p.next('message', 'pets');
      expect(message).toEqual({ type: 'message', topic: 'pets', epoch: ack.epoch, offset: 2, data: { n: 1, name: 'Rex "the dog"' } });
    }
    expect(hub.stats()).toMatchObject({ connections: 2, subscriptions: 2, topics: 1, published: 2, messagesSent: 2 });
  });

  it("writes message frames straight to the connection's socket, the one ws took over at the upgrade", async () => {
    const { app, hub, url } = await server();
    // Every socket the server upgrades, and the bytes written to each.
    const written = new Map<Socket, string[]>();
    app.server.on('upgrade', (_request, socket: Socket) => {
      const chunks: string[] = [];
      written.set(socket, chunks);
      const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
      socket.write = ((chunk: unknown, ...rest: unknown[]) => {
        chunks.push(Buffer.isBuffer(chunk) ? chunk.toString('latin1') : String(chunk));
        return write(chunk, ...rest);
      }) as Socket['write'];
    });
    const sends: unknown[] = [];
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (this: WebSocket, ...args: unknown[]) {
      sends.push(args[0]);
      (send as (...a: unknown[]) => void).apply(this, args);
    } as WebSocket['send'];
    cleanups.push(async () => {
      WebSocket.prototype.send = send;
    });
    const p = await peer(url);
    p.send({ type: 'subscribe', topic: 'direct' });
    await p.next('ack', 'direct');
    await hub.publish('direct', { marker: 'straight-to-the-socket' });
    expect(await p.next('message', 'direct')).toMatchObject({ data: { marker: 'straight-to-the-socket' } });
    const [chunks] = [...written.values()];
    expect(chunks!.some((c) => c.includes('straight-to-the-socket'))).toBe(true);
    // ws.send carried the client's subscribe frame and the server's ack, not the message.
    expect(sends.some((s) => String(s).includes('straight-to-the-socket'))).toBe(false);
  });

  it('loses nothing between the ack and live delivery while messages keep coming', async () => {
    const { hub, url } = await server();
    const running = publisher(hub, 'busy', 200, 1);
    await sleep(30);
    const p = await peer(url);
    p.send({ type: 'subscribe', topic: 'busy' });
    const ack = await p.next('ack', 'busy');
    await running;
    await p.until((f) => f.some((x) => x.type === 'message' && x.offset === 200), 5000, 'message 200');
    expect(ack.offset).toBeGreaterThan(0);
    expect(ack.offset).toBeLessThan(200);
    expect(offsets(p.of('message', 'busy'))).toEqual(range(ack.offset + 1, 200));
  });

  it('answers pings, unsubscribes, and reports bad frames as errors without closing', async () => {
    const { hub, url } = await server();
    const p = await peer(url);
    p.send({ type: 'ping', id: 7 });
    expect(await p.next('pong')).toEqual({ type: 'pong', id: 7 });
    p.send('not json');
    expect(await p.next('error')).toMatchObject({ code: 'bad_request', message: 'frame is not JSON' });
    p.send({ type: 'subscribe', topic: '' });
    p.send({ type: 'subscribe', topic: 't', epoch: 'e' });
    p.send({ type: 'launch' });
    await p.until((f) => f.filter((x) => x.type === 'error').length === 4);
    expect(p.of('error').slice(1).map((e) => [e.code, e.topic])).toEqual([
      ['bad_request', undefined],
      ['bad_request', 't'],
      ['bad_request', undefined],
    ]);
    p.send({ type: 'subscribe', topic: 't' });
    await p.next('ack', 't');
    await hub.publish('t', 1);
    await p.next('message', 't');
    p.send({ type: 'unsubscribe', topic: 't' });
    p.send({ type: 'ping', id: 'after' });
    await p.until((f) => f.some((x) => x.type === 'pong' && x.id === 'after'));
    await hub.publish('t', 2);
    p.send({ type: 'ping', id: 'last' });
    await p.until((f) => f.some((x) => x.type === 'pong' && x.id === 'last'));
    expect(offsets(p.of('message', 't'))).toEqual([1]);
    expect(hub.stats()).toMatchObject({ subscriptions: 0, topics: 0 });
    expect(p.closeCode).toBeUndefined();
  });

  it('caps subscriptions per connection', async () => {
    const { url } = await server({ maxSubscriptionsPerConnection: 2 });
    const p = await peer(url);
    for (const topic of ['a', 'b', 'c']) p.send({ type: 'subscribe', topic });
    expect(await p.next('error', 'c')).toMatchObject({ code: 'too_many_subscriptions' });
    await p.next('ack', 'b');
  });
});

describe('resume', () => {
  it('delivers every missed message once, in order, merged with live ones, then the ack', async () => {
    // Small, slow history pages make the replay interleave with live publishing.
    const inner = createMemoryBus();
    const slow: Bus = { ...lossy(inner, () => false), read: async (t, e, a, l) => (await sleep(3), inner.read(t, e, a, l)) };
    const { hub, url } = await server({ readPageSize: 7, bus: slow, closeBus: true });
    const first = await peer(url);
    first.send({ type: 'subscribe', topic: 'feed' });
    await first.next('ack', 'feed');
    await publisher(hub, 'feed', 20);
    await first.until((f) => f.filter((x) => x.type === 'message').length === 20);
    const last = first.of('message', 'feed').at(-1)!;
    await first.close();

    await publisher(hub, 'feed', 100); // missed while away
    const running = publisher(hub, 'feed', 300, 1); // keeps coming during the resume
    const second = await peer(url);
    second.send({ type: 'subscribe', topic: 'feed', epoch: last.epoch, offset: last.offset });
    const ack = await second.next('ack', 'feed');
    await running;
    await second.until((f) => f.some((x) => x.type === 'message' && x.offset === 420), 5000, 'message 420');
    const messages = second.of('message', 'feed');
    expect(ack.offset).toBeGreaterThan(121); // live messages arrived during the replay
    expect(offsets(messages)).toEqual(range(21, 420));
    expect(messages.every((m) => m.epoch === last.epoch)).toBe(true);
    // Messages before the ack are the replay (up to its offset); after it, live ones.
    const ackIndex = second.frames.indexOf(ack);
    expect(second.frames.slice(0, ackIndex).every((f) => f.type !== 'message' || f.offset <= ack.offset)).toBe(true);
    expect(second.of('gap')).toEqual([]);
    expect(hub.stats()).toMatchObject({ resumes: 1, resumesOk: 1 });
  });

  it('a client that received nothing resumes from the position its ack carried', async () => {
    const { hub, url } = await server();
    const first = await peer(url);
    first.send({ type: 'subscribe', topic: 'quiet' });
    const ack = await first.next('ack', 'quiet');
    expect(ack.offset).toBe(0);
    await first.close();
    await publisher(hub, 'quiet', 5);
    const second = await peer(url);
    second.send({ type: 'subscribe', topic: 'quiet', epoch: ack.epoch, offset: ack.offset });
    expect(await second.next('ack', 'quiet')).toMatchObject({ epoch: ack.epoch, offset: 5 });
    expect(offsets(second.of('message', 'quiet'))).toEqual([1, 2, 3, 4, 5]);
  });

  it('sends exactly one gap (window) when the history no longer reaches back, then goes on live', async () => {
    const { hub, url } = await server({ retention: { maxMessages: 10 } });
    const first = await peer(url);
    first.send({ type: 'subscribe', topic: 'w' });
    const ack = await first.next('ack', 'w');
    await first.close();
    await publisher(hub, 'w', 30);
    const second = await peer(url);
    second.send({ type: 'subscribe', topic: 'w', epoch: ack.epoch, offset: ack.offset });
    await second.next('ack', 'w');
    await hub.publish('w', 'live');
    await second.next('message', 'w');
    expect(second.frames.map((f) => [f.type, 'offset' in f ? f.offset : undefined])).toEqual([
      ['gap', 30],
      ['ack', 30],
      ['message', 31],
    ]);
    expect(second.of('gap')[0]).toMatchObject({ reason: 'window', epoch: ack.epoch });
    expect(hub.stats().gaps).toMatchObject({ window: 1, epoch: 0 });
    expect(hub.stats().resumesOk).toBe(0);
  });

  it('sends a gap (epoch) for a position from another epoch or beyond the log', async () => {
    const { hub, url } = await server();
    await hub.publish('e', 1);
    const p = await peer(url);
    p.send({ type: 'subscribe', topic: 'e', epoch: 'gone', offset: 1 });
    const ack = await p.next('ack', 'e');
    expect(p.of('gap', 'e')).toEqual([{ type: 'gap', topic: 'e', epoch: ack.epoch, offset: 1, reason: 'epoch' }]);
    p.send({ type: 'subscribe', topic: 'e', epoch: ack.epoch, offset: 99 });
    await p.until((f) => f.filter((x) => x.type === 'ack').length === 2);
    expect(p.of('gap', 'e')).toHaveLength(2);
    expect(hub.stats().gaps.epoch).toBe(2);
  });
});

describe('several instances on one bus', () => {
  it('fans out what one instance publishes to the clients of another, and resumes on either', async () => {
    const store = createMemoryStore();
    const a = await server({ bus: createMemoryBus({ store }), closeBus: true });
    const b = await server({ bus: createMemoryBus({ store }), closeBus: true });
    const onA = await peer(a.url);
    onA.send({ type: 'subscribe', topic: 'x' });
    await onA.next('ack', 'x');
    await publisher(b.hub, 'x', 3);
    await onA.until((f) => f.filter((x) => x.type === 'message').length === 3);
    const last = onA.of('message', 'x').at(-1)!;
    await onA.close();
    await publisher(a.hub, 'x', 4);
    // The client comes back on the other instance.
    const onB = await peer(b.url);
    onB.send({ type: 'subscribe', topic: 'x', epoch: last.epoch, offset: last.offset });
    await onB.next('ack', 'x');
    expect(offsets(onA.of('message', 'x'))).toEqual([1, 2, 3]);
    expect(offsets(onB.of('message', 'x'))).toEqual([4, 5, 6, 7]);
    expect(onB.of('gap')).toEqual([]);
  });
});

describe('several instances on one bus, one of them behind', () => {
  it('a client resuming on an instance that has not yet seen what it has gets no gap and no repeats, and the instance catches up', async () => {
    const store = createMemoryStore();
    let cut = false;
    const a = await server({ bus: createMemoryBus({ store }), closeBus: true });
    const b = await server({ bus: lossy(createMemoryBus({ store }), () => cut), closeBus: true });
    const watcher = await peer(b.url); // keeps the topic live on b
    watcher.send({ type: 'subscribe', topic: 'y' });
    await watcher.next('ack', 'y');
    const onA = await peer(a.url);
    onA.send({ type: 'subscribe', topic: 'y' });
    await onA.next('ack', 'y');
    cut = true; // b's live stream misses what follows
    await publisher(a.hub, 'y', 5);
    await onA.until((f) => f.filter((x) => x.type === 'message').length === 5);
    const last = onA.of('message', 'y').at(-1)!;
    await onA.close();
    cut = false;
    const onB = await peer(b.url);
    onB.send({ type: 'subscribe', topic: 'y', epoch: last.epoch, offset: last.offset });
    const ack = await onB.next('ack', 'y');
    expect(ack).toMatchObject({ epoch: last.epoch, offset: 5 });
    await publisher(a.hub, 'y', 1);
    await onB.until((f) => f.filter((x) => x.type === 'message').length === 1);
    await watcher.until((f) => f.filter((x) => x.type === 'message').length === 6);
    expect(offsets(onB.of('message', 'y'))).toEqual([6]);
    expect(onB.of('gap')).toEqual([]);
    expect(offsets(watcher.of('message', 'y'))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(b.hub.stats().gaps.epoch).toBe(0);
  });
});

/** A bus whose live stream loses some messages (history keeps them). */
function lossy(inner: Bus, lose: (m: BusMessage) => boolean): Bus {
  return {
    start: () => inner.start(),
    close: () => inner.close(),
    publish: (t, d) => inner.publish(t, d),
    position: (t) => inner.position(t),
    read: (t, e, a, l) => inner.read(t, e, a, l),
    onEvent: (l) => inner.onEvent(l),
    onMessage: (listener) => inner.onMessage((m) => lose(m) || listener(m)),
  };
}

describe('holes in the live stream', () => {
  it('fills a hole from the history, in order', async () => {
    const { hub, url } = await server({ bus: lossy(createMemoryBus(), (m) => m.offset === 3 || m.offset === 4), closeBus: true });
    const p = await peer(url);
    p.send({ type: 'subscribe', topic: 'h' });
    await p.next('ack', 'h');
    await publisher(hub, 'h', 8);
    await p.until((f) => f.some((x) => x.type === 'message' && x.offset === 8));
    expect(offsets(p.of('message', 'h'))).toEqual(range(1, 8));
    expect(hub.stats().holesFilled).toBe(1);
  });

  it('marks a hole it cannot fill with one gap (bus)', async () => {
    const inner = createMemoryBus({ retention: { maxMessages: 2 } });
    const { hub, url } = await server({ bus: lossy(inner, (m) => m.offset >= 2 && m.offset <= 6), closeBus: true });
    const p = await peer(url);
    p.send({ type: 'subscribe', topic: 'h' });
    await p.next('ack', 'h');
    await publisher(hub, 'h', 8);
    await p.until((f) => f.some((x) => x.type === 'message' && x.offset === 8));
    expect(p.frames.slice(1).map((f) => [f.type, 'offset' in f ? f.offset : undefined, 'reason' in f ? f.reason : undefined])).toEqual([
      ['message', 1, undefined],
      ['gap', 6, 'bus'],
      ['message', 7, undefined],
      ['message', 8, undefined],
    ]);
  });

  it('after a bus outage, fills what the live stream missed without waiting for a new message', async () => {
    const inner = createMemoryBus();
    let outage = false;
    const eventListeners = new Set<(e: BusEvent) => void>();
    const bus: Bus = {
      ...lossy(inner, () => outage),
      onEvent(listener) {
        eventListeners.add(listener);
        return () => eventListeners.delete(listener);
      },
    };
    const { hub, url } = await server({ bus, closeBus: true });
    const busEvents: string[] = [];
    hub.on('bus', (e) => busEvents.push(e.type));
    const p = await peer(url);
    p.send({ type: 'subscribe', topic: 'o' });
    await p.next('ack', 'o');
    await hub.publish('o', 1);
    outage = true;
    eventListeners.forEach((l) => l({ type: 'down', error: new Error('connection lost') }));
    await publisher(hub, 'o', 3); // stored, but the live stream misses them
    outage = false;
    eventListeners.forEach((l) => l({ type: 'up' }));
    await p.until((f) => f.filter((x) => x.type === 'message').length === 4);
    expect(offsets(p.of('message', 'o'))).toEqual([1, 2, 3, 4]);
    expect(busEvents).toEqual(['down', 'up']);
    expect(hub.stats().holesFilled).toBe(1);
  });

  it('sends a gap (epoch) when the bus lost the topic and started a new epoch', async () => {
    let inner = createMemoryBus();
    const listeners = new Set<(m: BusMessage) => void>();
    let off = inner.onMessage((m) => listeners.forEach((l) => l(m)));
    const bus: Bus = {
      start: () => inner.start(),
      close: () => inner.close(),
      publish: (t, d) => inner.publish(t, d),
      position: (t) => inner.position(t),
      read: (t, e, a, l) => inner.read(t, e, a, l),
      onEvent: () => () => {},
      onMessage(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    const { hub, url } = await server({ bus, closeBus: true });
    const p = await peer(url);
    p.send({ type: 'subscribe', topic: 'r' });
    const ack = await p.next('ack', 'r');
    await hub.publish('r', 'old');
    await p.next('message', 'r');
    // The bus server restarts empty.
    off();
    await inner.close();
    inner = createMemoryBus();
    off = inner.onMessage((m) => listeners.forEach((l) => l(m)));
    await inner.start();
    const fresh = await hub.publish('r', 'new');
    expect(fresh.epoch).not.toBe(ack.epoch);
    await p.until((f) => f.filter((x) => x.type === 'message').length === 2);
    expect(p.frames.slice(1)).toEqual([
      { type: 'message', topic: 'r', epoch: ack.epoch, offset: 1, data: 'old' },
      { type: 'gap', topic: 'r', epoch: fresh.epoch, offset: 0, reason: 'epoch' },
      { type: 'message', topic: 'r', epoch: fresh.epoch, offset: 1, data: 'new' },
    ]);
  });
});

describe('backpressure', () => {
  const CAP = 256 * 1024;
  const payload = 'x'.repeat(64 * 1024);

  /** Publishes big messages until the hub stopped sending to the stalled peer; returns how many were published. */
  async function stall(served: Served, p: Peer, stopped: () => boolean): Promise<number> {
    (p.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    let published = 0;
    while (!stopped() && published < 1000) {
      await served.hub.publish('big', payload);
      published++;
      if (published % 8 === 0) await sleep(5);
    }
    expect(stopped()).toBe(true);
    // More messages do not grow what is queued for the stalled peer.
    for (let i = 0; i < 50; i++) await served.hub.publish('big', payload);
    await sleep(50);
    expect(served.hub.stats().bufferedBytes).toBeLessThanOrEqual(CAP + payload.length + 1024);
    return published + 50;
  }

  it('drop: stops sending the topic, sends one gap once drained, and the client resumes without loss', async () => {
    const served = await server({ maxBufferedBytes: CAP, backpressure: 'drop' });
    const p = await peer(served.url);
    p.send({ type: 'subscribe', topic: 'big' });
    p.send({ type: 'subscribe', topic: 'calm' });
    await p.next('ack', 'big');
    await p.next('ack', 'calm');
    const total = await stall(served, p, () => served.hub.stats().subscriptions === 1);
    (p.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const gap = await p.next('gap', 'big', 0, 10_000);
    expect(gap.reason).toBe('backpressure');
    const received = p.of('message', 'big');
    expect(offsets(received)).toEqual(range(1, gap.offset));
    expect(gap.offset).toBeLessThan(total);
    expect(served.hub.stats().gaps.backpressure).toBe(1);
    // The other topic is still live.
    await served.hub.publish('calm', 'still here');
    await p.next('message', 'calm');
    // Resume from the gap's position: the rest, once each, in order.
    const before = p.frames.length;
    p.send({ type: 'subscribe', topic: 'big', epoch: gap.epoch, offset: gap.offset });
    await p.next('ack', 'big', before, 10_000);
    expect(offsets(p.of('message', 'big'))).toEqual(range(1, total));
    expect(p.closeCode).toBeUndefined();
  });

  it('close: closes the stalled connection with 1013, memory bounded meanwhile', async () => {
    const served = await server({ maxBufferedBytes: CAP, backpressure: 'close' });
    const p = await peer(served.url);
    p.send({ type: 'subscribe', topic: 'big' });
    await p.next('ack', 'big');
    await stall(served, p, () => served.hub.stats().backpressureCloses === 1);
    (p.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await p.closed).toBe(1013);
    const received = offsets(p.of('message', 'big'));
    expect(received).toEqual(range(1, received.length));
    await sleep(20);
    expect(served.hub.stats().connections).toBe(0);
  });
});

describe('coalescing', () => {
  /** The message frames a peer got, in order, batches unpacked. */
  const delivered = (p: Peer, topic: string) =>
    p.frames.flatMap((f) => (f.type === 'batch' ? f.messages : f.type === 'message' ? [f] : [])).filter((m) => m.topic === topic);
  const pause = (p: Peer) => (p.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  const resume = (p: Peer) => (p.ws as unknown as { _socket: { resume(): void } })._socket.resume();

  it('sends the messages waiting for a connection as one batch frame, in order, only to clients that asked', async () => {
    const { hub, url } = await server();
    const batched = await peer(url);
    const plain = await peer(url);
    batched.send({ type: 'subscribe', topic: 't', batch: true });
    plain.send({ type: 'subscribe', topic: 't' });
    const ack = await batched.next('ack', 't');
    await plain.next('ack', 't');
    await Promise.all(range(1, 50).map((i) => hub.publish('t', { i }))); // in one event-loop turn
    await batched.until(() => delivered(batched, 't').length === 50, 5000, 'fifty messages');
    await plain.until((f) => f.filter((x) => x.type === 'message').length === 50, 5000, 'fifty frames');
    const batches = batched.of('batch');
    expect(batches).toHaveLength(1);
    expect(batches[0]!.messages).toEqual(range(1, 50).map((i) => ({ type: 'message', topic: 't', epoch: ack.epoch, offset: i, data: { i } })));
    expect(plain.of('batch')).toEqual([]);
    expect(offsets(plain.of('message', 't'))).toEqual(range(1, 50));
    expect(hub.stats()).toMatchObject({ messagesSent: 100, batchesSent: 1, bufferedBytes: 0 });

    // A resume with batching on: the replayed messages (batched), exactly once and in order, then the ack.
    const late = await peer(url);
    late.send({ type: 'subscribe', topic: 't', batch: true, epoch: ack.epoch, offset: 10 });
    const lateAck = await late.next('ack', 't');
    expect(lateAck.offset).toBe(50);
    expect(late.frames.map((f) => f.type)).toEqual(['batch', 'ack']);
    expect(offsets(delivered(late, 't'))).toEqual(range(11, 50));
    await hub.publish('t', { i: 51 });
    await late.until(() => delivered(late, 't').length === 41, 5000, 'the live message');
    expect(late.frames.at(-1)).toMatchObject({ type: 'message', offset: 51 });
  });

  it('with permessage-deflate negotiated, sends batches through ws (compressed), in order', async () => {
    const app = Fastify({ logger: false });
    await app.register(fastifyWebsocket, { options: { perMessageDeflate: true } });
    const hub = createBroadcastHub();
    await hub.register(app, { path: '/ws' });
    await app.listen({ host: '127.0.0.1', port: 0 });
    cleanups.push(async () => {
      await hub.close();
      await app.close();
    });
    const { port } = app.server.address() as { port: number };
    const p = await peer(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: true });
    expect(p.ws.extensions).toContain('permessage-deflate');
    p.send({ type: 'subscribe', topic: 't', batch: true });
    await p.next('ack', 't');
    await Promise.all(range(1, 50).map((i) => hub.publish('t', { i })));
    await p.until(() => delivered(p, 't').length === 50, 5000, 'fifty messages');
    await hub.publish('t', { i: 51 }); // on its own, after the batch
    await p.until(() => delivered(p, 't').length === 51, 5000, 'fifty-one messages');
    expect(offsets(delivered(p, 't'))).toEqual(range(1, 51));
    expect(p.of('batch')).toHaveLength(1);
    expect(hub.stats().batchesSent).toBe(1);
  });

  it('coalesce: false writes each message in its own frame at once, even to a client that asked for batches', async () => {
    const { hub, url } = await server({ coalesce: false });
    const p = await peer(url);
    p.send({ type: 'subscribe', topic: 't', batch: true });
    await p.next('ack', 't');
    await Promise.all(range(1, 50).map((i) => hub.publish('t', { i })));
    await p.until((f) => f.filter((x) => x.type === 'message').length === 50, 5000, 'fifty frames');
    expect(p.of('batch')).toEqual([]);
    expect(offsets(p.of('message', 't'))).toEqual(range(1, 50));
    expect(hub.stats().batchesSent).toBe(0);
    expect(() => createBroadcastHub({ coalesce: 'yes' as unknown as boolean })).toThrow(/coalesce/);
  });

  it('holds a client whose socket is full and then sends it what waited in fewer, larger frames, nothing lost', async () => {
    const { hub, url } = await server({ maxBufferedBytes: 64 * 1024 * 1024 });
    const p = await peer(url);
    p.send({ type: 'subscribe', topic: 'bulk', batch: true });
    await p.next('ack', 'bulk');
    pause(p);
    const data = 'y'.repeat(4096);
    const total = 6000; // 24 MB: more than the kernel's buffers hold for a peer that does not read
    for (let i = 1; i <= total; i++) {
      await hub.publish('bulk', data);
      await new Promise((resolve) => setImmediate(resolve)); // one per turn: alone, each would get its own frame
    }
    expect(hub.stats().bufferedBytes).toBeGreaterThan(1024 * 1024); // the peer did fall behind
    resume(p);
    await p.until(() => delivered(p, 'bulk').length === total, 20_000, 'every message');
    expect(offsets(delivered(p, 'bulk'))).toEqual(range(1, total));
    expect(p.of('gap')).toEqual([]);
    // What waited while the socket was full came in batch frames (each ≤ 64 KiB: up to 15 of these messages).
    const inBatches = p.of('batch').reduce((n, b) => n + b.messages.length, 0);
    expect(inBatches).toBeGreaterThan(total / 4);
    expect(inBatches / p.of('batch').length).toBeGreaterThan(10);
  }, 30_000);

  it('drop with batching: the messages queued before the suspension come first, then one gap, then the resume', async () => {
    const CAP = 256 * 1024;
    const { hub, url } = await server({ maxBufferedBytes: CAP, backpressure: 'drop' });
    const p = await peer(url);
    p.send({ type: 'subscribe', topic: 'big', batch: true });
    await p.next('ack', 'big');
    pause(p);
    const payload = 'z'.repeat(16 * 1024);
    let published = 0;
    while (hub.stats().subscriptions === 1 && published < 4000) {
      await hub.publish('big', payload);
      if (++published % 16 === 0) await sleep(2);
    }
    expect(hub.stats().subscriptions).toBe(0);
    for (let i = 0; i < 20; i++) await hub.publish('big', payload);
    const total = published + 20;
    expect(hub.stats().bufferedBytes).toBeLessThanOrEqual(CAP + payload.length + 1024);
    resume(p);
    const gap = await p.next('gap', 'big', 0, 15_000);
    expect(gap.reason).toBe('backpressure');
    expect(offsets(delivered(p, 'big'))).toEqual(range(1, gap.offset));
    const before = p.frames.length;
    p.send({ type: 'subscribe', topic: 'big', batch: true, epoch: gap.epoch, offset: gap.offset });
    await p.next('ack', 'big', before, 15_000);
    expect(offsets(delivered(p, 'big'))).toEqual(range(1, total));
  }, 30_000);
});

describe('heartbeats', () => {
  it('terminates a peer that stopped answering pings, keeps the live ones', async () => {
    const { hub, url } = await server({ heartbeatMs: 80 });
    const dead = await peer(url, { autoPong: false });
    const alive = await peer(url);
    const events: string[] = [];
    hub.on('disconnect', (e) => events.push(e.cause));
    expect(await dead.closed).toBe(1006);
    await sleep(200);
    expect(alive.closeCode).toBeUndefined();
    expect(hub.stats()).toMatchObject({ reaped: 1, connections: 1 });
    expect(events).toEqual(['reaped']);
  });
});

describe('shutdown', () => {
  it('closing the app closes every socket with 1001, then the bus', async () => {
    const { app, hub, url } = await serve();
    const a = await peer(url);
    const b = await peer(url);
    a.send({ type: 'subscribe', topic: 's' });
    await a.next('ack', 's');
    await app.close();
    expect(await a.closed).toBe(1001);
    expect(await b.closed).toBe(1001);
    await expect(hub.bus.publish('s', '1')).rejects.toThrow(/closed/);
    await expect(hub.publish('s', 1)).rejects.toThrow(/closed/);
    await hub.close(); // idempotent
  });

  it('stops accepting as soon as the hub closes, and leaves a given bus open', async () => {
    const bus = createMemoryBus();
    const { hub, url } = await server({ bus });
    const a = await peer(url);
    await hub.close();
    expect(await a.closed).toBe(1001);
    await expect(Peer.open(url)).rejects.toThrow(/503/);
    expect((await bus.publish('t', '1')).offset).toBe(1);
    await bus.close();
  });
});

describe('authentication and authorization', () => {
  interface Principal {
    name: string;
    topics: string[];
  }
  const users: Record<string, Principal> = { 'token-ann': { name: 'ann', topics: ['public', 'ann'] } };

  it('refuses the upgrade without a principal, and authorizes each topic', async () => {
    const authorized: string[] = [];
    const { hub, url } = await server<Principal>({
      authenticate: async (request) => users[String(request.headers['x-token'])],
      authorize: (principal, topic, action) => {
        authorized.push(`${principal?.name}:${action}:${topic}`);
        return principal?.topics.includes(topic) ?? false;
      },
    });
    await expect(Peer.open(url)).rejects.toThrow(/401/);
    await expect(Peer.open(url, { headers: { 'x-token': 'wrong' } })).rejects.toThrow(/401/);
    const p = await peer(url, { headers: { 'x-token': 'token-ann' } });
    p.send({ type: 'subscribe', topic: 'secret' });
    p.send({ type: 'subscribe', topic: 'public' });
    expect(await p.next('error', 'secret')).toMatchObject({ code: 'forbidden' });
    await p.next('ack', 'public');
    await hub.publish('secret', 's');
    await hub.publish('public', 'p');
    await p.next('message', 'public');
    expect(p.of('message').map((m) => m.topic)).toEqual(['public']);
    expect(authorized).toEqual(['ann:subscribe:secret', 'ann:subscribe:public']);
    expect(hub.stats()).toMatchObject({ authRefused: 2, forbidden: 1, connections: 1 });
  });

  it('adapts add-auth scheme verifiers, with an opt-in query token for browsers', async () => {
    const verifier = {
      async verify(token: string) {
        if (token !== 'good') throw new AuthError('invalid_token');
        return { subject: 'u1', scopes: ['read'], claims: {} };
      },
    };
    const seen: string[] = [];
    const { url } = await server({
      authenticate: authenticateWithSchemes([bearerScheme(verifier)], { tokenQueryParameter: 'access_token' }),
      authorize: (principal) => {
        seen.push(principal!.subject);
        return true;
      },
    });
    await expect(Peer.open(url)).rejects.toThrow(/401/);
    await expect(Peer.open(`${url}?access_token=bad`)).rejects.toThrow(/401/);
    await expect(Peer.open(url, { headers: { authorization: 'Bearer bad' } })).rejects.toThrow(/401/);
    const viaHeader = await peer(url, { headers: { authorization: 'Bearer good' } });
    const viaQuery = await peer(`${url}?access_token=good`);
    for (const p of [viaHeader, viaQuery]) {
      p.send({ type: 'subscribe', topic: 't' });
      await p.next('ack', 't');
    }
    expect(seen).toEqual(['u1', 'u1']);
  });
});
