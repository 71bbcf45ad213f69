/**
 * The client helper against a real hub: reconnects after the server drops it and resumes every topic from
 * the last position it saw (exactly once, in order), also when it had received nothing; reports a real gap;
 * backs off with jitter.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { createBroadcastClient, type BroadcastClient, type GapFrame, type WebSocketConstructor, type WebSocketLike } from '../../../runtime/broadcast/client.js';
import { range, serve, sleep, type Served } from './helpers.js';

interface Topics {
  feed: { i: number };
  other: string;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: Parameters<typeof serve>[0] = {}): Promise<Served & { client: BroadcastClient<Topics>; opens: () => number }> {
  const served = await serve(options);
  cleanups.push(() => served.app.close());
  const client = createBroadcastClient<Topics>({
    url: served.url,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    reconnect: { initialDelayMs: 100, maxDelayMs: 400 },
    random: () => 0.5,
  });
  cleanups.push(() => client.close());
  let opens = 0;
  client.on('open', () => opens++);
  return { ...served, client, opens: () => opens };
}

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** The server drops every connection without a closing handshake. */
function dropAll(served: Served): void {
  for (const socket of served.app.websocketServer.clients) socket.terminate();
}

describe('broadcast client', () => {
  it('reconnects after the server drops it and resumes without loss or duplicates', async () => {
    const served = await setup();
    const { hub, client } = served;
    const got: number[] = [];
    const gaps: GapFrame[] = [];
    let acks = 0;
    client.subscribe('feed', {
      onMessage: (data, meta) => {
        got.push(meta.offset);
        expect(data).toEqual({ i: meta.offset });
      },
      onGap: (g) => gaps.push(g), onAck: () => acks++ });
    client.subscribe('other', { onMessage: () => {} });
    await until(() => acks === 1, 'the ack');
    for (let i = 1; i <= 5; i++) await hub.publish('feed', { i });
    await until(() => got.length === 5, 'five messages');
    dropAll(served);
    for (let i = 6; i <= 20; i++) await hub.publish('feed', { i });
    await until(() => acks === 2, 'the ack after reconnecting');
    for (let i = 21; i <= 25; i++) await hub.publish('feed', { i });
    await until(() => got.length >= 25, 'every message');
    await sleep(20);
    expect(got).toEqual(range(1, 25));
    expect(gaps).toEqual([]);
    expect(served.opens()).toBe(2);
    expect(client.position('feed')).toMatchObject({ offset: 25 });
    expect(hub.stats()).toMatchObject({ resumes: 2, resumesOk: 2, subscriptions: 2 });
  });

  it('resumes a topic on which it had received nothing yet', async () => {
    const served = await setup();
    const got: string[] = [];
    let acked = false;
    served.client.subscribe('other', { onMessage: (data) => got.push(data), onAck: () => (acked = true) });
    await until(() => acked, 'the ack');
    dropAll(served);
    await served.hub.publish('other', 'a');
    await served.hub.publish('other', 'b');
    await until(() => got.length === 2, 'both messages');
    expect(got).toEqual(['a', 'b']);
  });

  it('reports a gap when the missed messages are out of the window, then goes on', async () => {
    const served = await setup({ retention: { maxMessages: 5 } });
    const got: number[] = [];
    const gaps: GapFrame[] = [];
    let acks = 0;
    served.client.subscribe('feed', { onMessage: (d) => got.push(d.i), onGap: (g) => gaps.push(g), onAck: () => acks++ });
    await until(() => acks === 1, 'the ack');
    dropAll(served);
    for (let i = 1; i <= 20; i++) await served.hub.publish('feed', { i });
    await until(() => acks === 2, 'the second ack');
    await served.hub.publish('feed', { i: 21 });
    await until(() => got.length === 1, 'the live message');
    expect(gaps).toEqual([{ type: 'gap', topic: 'feed', epoch: expect.any(String), offset: 20, reason: 'window' }]);
    expect(got).toEqual([21]);
  });

  it('stops delivering a topic once unsubscribed', async () => {
    const served = await setup();
    const got: number[] = [];
    let acked = false;
    const off = served.client.subscribe('feed', { onMessage: (d) => got.push(d.i), onAck: () => (acked = true) });
    await until(() => acked, 'the ack');
    await served.hub.publish('feed', { i: 1 });
    await until(() => got.length === 1, 'a message');
    off();
    await until(() => served.hub.stats().subscriptions === 0, 'the unsubscribe');
    await served.hub.publish('feed', { i: 2 });
    await sleep(50);
    expect(got).toEqual([1]);
  });

  it('backs off exponentially with full jitter while the server is unreachable', async () => {
    const starts: number[] = [];
    class Unreachable implements WebSocketLike {
      readyState = 0;
      onopen = null;
      onmessage = null;
      onerror: ((event: unknown) => void) | null = null;
      onclose: ((event: { code: number; reason: string }) => void) | null = null;
      constructor() {
        starts.push(Date.now());
        setTimeout(() => {
          this.readyState = 3;
          this.onerror?.({});
          this.onclose?.({ code: 1006, reason: '' });
        }, 0);
      }
      send() {}
      close() {}
    }
    const draws: number[] = [];
    const client = createBroadcastClient({
      url: 'ws://127.0.0.1:9/ws',
      WebSocket: Unreachable,
      reconnect: { initialDelayMs: 20, maxDelayMs: 80 },
      random: () => {
        draws.push(1);
        return 0.999;
      },
    });
    client.on('error', () => {});
    await until(() => starts.length >= 6, 'six attempts');
    client.close();
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    // Caps 20, 40, 80, 80, 80 ms (×0.999): each wait at least its cap's share; the maximum holds (timers may run late on a busy machine).
    expect(gaps[0]!).toBeGreaterThanOrEqual(15);
    expect(gaps[1]!).toBeGreaterThanOrEqual(35);
    expect(gaps[2]!).toBeGreaterThanOrEqual(75);
    expect(Math.max(...gaps)).toBeLessThan(1000);
    expect(draws.length).toBeGreaterThanOrEqual(5); // one jitter draw per wait
    const count = starts.length;
    await sleep(150);
    expect(starts.length).toBe(count); // closed: no more attempts
  });

  it('does not subscribe twice on a new connection when a retry was pending from the dropped one', async () => {
    // A bare server: the first connection answers `unavailable` and drops; the next ones acknowledge.
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    await new Promise((resolve) => server.once('listening', resolve));
    const subscribes: number[] = []; // per connection
    server.on('connection', (socket) => {
      const index = subscribes.push(0) - 1;
      socket.on('message', (data) => {
        const frame = JSON.parse(String(data)) as { type: string; topic: string };
        if (frame.type !== 'subscribe') return;
        subscribes[index]!++;
        if (index === 0) {
          socket.send(JSON.stringify({ type: 'error', code: 'unavailable', message: 'try again', topic: frame.topic }));
          setTimeout(() => socket.terminate(), 20);
        } else socket.send(JSON.stringify({ type: 'ack', topic: frame.topic, epoch: 'e', offset: 0 }));
      });
    });
    const { port } = server.address() as { port: number };
    const client = createBroadcastClient<Topics>({ url: `ws://127.0.0.1:${port}`, WebSocket: WebSocket as unknown as WebSocketConstructor, reconnect: { initialDelayMs: 100, maxDelayMs: 400 }, random: () => 0.5 });
    cleanups.push(() => client.close());
    let acks = 0;
    client.subscribe('feed', { onMessage: () => {}, onAck: () => acks++ });
    await until(() => acks === 1, 'the ack on the second connection');
    await sleep(1_800); // past the 1-2 s retry the `unavailable` error scheduled on the first connection
    expect(subscribes).toEqual([1, 1]);
    expect(acks).toBe(1);
  });

  it('delivers the messages of a batch frame one by one, in order, through the same position and de-duplication', async () => {
    // A bare server that answers the subscribe with an ack, then a batch (with a repeat, a topic the client does
    // not have, and a malformed element), a repeat on its own, and one more message.
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    await new Promise((resolve) => server.once('listening', resolve));
    const subscribeFrames: unknown[] = [];
    const m = (topic: string, offset: number) => ({ type: 'message', topic, epoch: 'e', offset, data: { i: offset } });
    server.on('connection', (socket) => {
      socket.on('message', (data) => {
        const frame = JSON.parse(String(data)) as { type: string; topic: string };
        if (frame.type !== 'subscribe') return;
        subscribeFrames.push(frame);
        socket.send(JSON.stringify({ type: 'ack', topic: 'feed', epoch: 'e', offset: 0 }));
        socket.send(JSON.stringify({ type: 'batch', messages: [m('feed', 1), m('feed', 2), m('feed', 2), m('nobody', 7), { type: 'gap' }, m('feed', 3)] }));
        socket.send(JSON.stringify(m('feed', 3)));
        socket.send(JSON.stringify({ type: 'batch', messages: [m('feed', 4)] }));
      });
    });
    const { port } = server.address() as { port: number };
    const client = createBroadcastClient<Topics>({ url: `ws://127.0.0.1:${port}`, WebSocket: WebSocket as unknown as WebSocketConstructor, reconnect: false });
    cleanups.push(() => client.close());
    const errors: unknown[] = [];
    client.on('error', (e) => errors.push(e.error));
    const got: Array<[number, number]> = [];
    client.subscribe('feed', { onMessage: (data, meta) => got.push([meta.offset, data.i]) });
    await until(() => got.length === 4, 'four messages');
    await sleep(20);
    expect(got).toEqual([[1, 1], [2, 2], [3, 3], [4, 4]]);
    expect(client.position('feed')).toEqual({ epoch: 'e', offset: 4 });
    expect(subscribeFrames).toEqual([{ type: 'subscribe', topic: 'feed', batch: true }]);
    expect(errors).toHaveLength(1); // the element that was not a message
  });

  it('goes on with the rest of a batch when a handler throws', async () => {
    const served = await setup();
    const got: number[] = [];
    const errors: unknown[] = [];
    served.client.on('error', (e) => errors.push(e.error));
    let acked = false;
    served.client.subscribe('feed', {
      onMessage: (d) => {
        got.push(d.i);
        if (d.i === 2) throw new Error('handler failed');
      },
      onAck: () => (acked = true),
    });
    await until(() => acked, 'the ack');
    await Promise.all(range(1, 5).map((i) => served.hub.publish('feed', { i }))); // one turn: one batch frame
    await until(() => got.length === 5, 'five messages');
    expect(got).toEqual(range(1, 5));
    expect(served.hub.stats().batchesSent).toBe(1);
    expect(errors).toEqual([new Error('handler failed')]);
  });

  it('resumes exactly once and in order with batching on, bursts coming as batch frames before and after the drop', async () => {
    const served = await setup();
    const { hub, client } = served;
    const got: number[] = [];
    const gaps: GapFrame[] = [];
    let acks = 0;
    client.subscribe('feed', { onMessage: (d, meta) => got.push(meta.offset), onGap: (g) => gaps.push(g), onAck: () => acks++ });
    await until(() => acks === 1, 'the ack');
    const burst = (from: number, to: number) => Promise.all(range(from, to).map((i) => hub.publish('feed', { i })));
    await burst(1, 40);
    await until(() => got.length === 40, 'the first burst');
    const batchesBefore = hub.stats().batchesSent;
    expect(batchesBefore).toBeGreaterThan(0);
    dropAll(served);
    await burst(41, 300); // missed: replayed from the history on the next connection
    await until(() => acks === 2, 'the ack after reconnecting');
    const live = burst(301, 400);
    await burst(401, 500);
    await live;
    await until(() => got.length >= 500, 'every message');
    await sleep(30);
    expect(got).toEqual(range(1, 500));
    expect(gaps).toEqual([]);
    expect(hub.stats().batchesSent).toBeGreaterThan(batchesBefore); // the replay and the live bursts came batched too
    expect(hub.stats()).toMatchObject({ resumes: 1, resumesOk: 1 });
  });

  it('asks for no batch frames with batch: false', async () => {
    const served = await serve();
    cleanups.push(() => served.app.close());
    const client = createBroadcastClient<Topics>({ url: served.url, WebSocket: WebSocket as unknown as WebSocketConstructor, reconnect: false, batch: false });
    cleanups.push(() => client.close());
    const got: number[] = [];
    let acked = false;
    client.subscribe('feed', { onMessage: (d) => got.push(d.i), onAck: () => (acked = true) });
    await until(() => acked, 'the ack');
    await Promise.all(range(1, 30).map((i) => served.hub.publish('feed', { i })));
    await until(() => got.length === 30, 'thirty messages');
    expect(got).toEqual(range(1, 30));
    expect(served.hub.stats().batchesSent).toBe(0);
  });

  it('types each topic by the payload map', () => {
    const client = createBroadcastClient<Topics>({ url: 'ws://127.0.0.1:9/ws', WebSocket: WebSocket as unknown as WebSocketConstructor, reconnect: false });
    client.on('error', () => {});
    client.subscribe('feed', { onMessage: (data) => expect(typeof data.i).toBe('number') });
    // @ts-expect-error: not a topic of the map
    client.subscribe('unknown', { onMessage: () => {} });
    // @ts-expect-error: `other` carries strings
    client.subscribe('other', { onMessage: (data: number) => data });
    expect(client.position('feed')).toBeUndefined();
    client.close();
  });

  it('needs a WebSocket constructor where there is no global one', () => {
    const global = globalThis as { WebSocket?: unknown };
    const saved = global.WebSocket;
    delete global.WebSocket;
    try {
      expect(() => createBroadcastClient({ url: 'ws://127.0.0.1:9' })).toThrow(/WebSocket/);
    } finally {
      if (saved !== undefined) global.WebSocket = saved;
    }
  });
});
