/**
 * The broadcast hub's spans: a publish made while handling a request is a producer span under the request's
 * span, with the stored position (and the bus's error when it fails); each subscribe frame is a span of its
 * own saying where the client resumed from, what was replayed, which gap it got and how it ended. Nothing is
 * recorded while no tracing instance runs, and the hub works the same.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus } from '../../../runtime/broadcast/bus.js';
import { createBroadcastHub, createMemoryBus, type BroadcastHub, type BroadcastHubOptions } from '../../../runtime/broadcast/index.js';
import { BROADCAST_ATTRIBUTE as A } from '../../../runtime/tracing/constants.js';
import { createTracing, traceOperation, type Tracing } from '../../../runtime/tracing/index.js';
import { Peer } from '../broadcast/helpers.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startTracing(): Promise<{ tracing: Tracing; spans: () => Promise<ReadableSpan[]> }> {
  const exporter = new InMemorySpanExporter();
  const tracing = createTracing({ file: false, otlpEndpoint: null, exporters: [exporter], flushIntervalMs: 10 });
  await tracing.start();
  cleanups.push(() => tracing.close());
  return {
    tracing,
    spans: async () => {
      await tracing.flush();
      return [...exporter.getFinishedSpans()];
    },
  };
}

/** A hub on a Fastify app with request spans (when `tracing` is given), listening on loopback. */
async function serve(tracing: Tracing | undefined, options: BroadcastHubOptions = {}, routes?: (app: FastifyInstance, hub: BroadcastHub) => void) {
  const app = Fastify({ logger: false });
  tracing?.register(app);
  const hub = createBroadcastHub(options);
  await hub.register(app, { path: '/ws' });
  routes?.(app, hub);
  await app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => app.close());
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return { app, hub, url: `ws://127.0.0.1:${address.port}/ws` };
}

async function peer(url: string): Promise<Peer> {
  const p = await Peer.open(url);
  cleanups.push(async () => p.ws.terminate());
  return p;
}

const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

/** The in-memory bus, with publishes that fail while `down` is set. */
function flakyBus(): { bus: Bus; state: { down: boolean } } {
  const inner = createMemoryBus();
  const state = { down: false };
  const bus: Bus = {
    start: () => inner.start(),
    close: () => inner.close(),
    publish: (topic, data) => (state.down ? Promise.reject(new Error('the bus is down')) : inner.publish(topic, data)),
    onMessage: (listener) => inner.onMessage(listener),
    position: (topic) => inner.position(topic),
    read: (topic, epoch, after, limit) => inner.read(topic, epoch, after, limit),
    onEvent: (listener) => inner.onEvent(listener),
  };
  return { bus, state };
}

describe('publish spans', () => {
  it('a publish while handling a request is a producer span under the request span, with the stored position; a failing bus fails it', async () => {
    const { tracing, spans } = await startTracing();
    const { bus, state } = flakyBus();
    const { app, hub } = await serve(tracing, { bus, closeBus: true }, (app, hub) => {
      app.post('/pets', { config: { operationId: 'createPet' } }, async (_request, reply) => {
        try {
          return await hub.publish('pets.created', { name: 'Rex' });
        } catch (err) {
          return reply.code(503).send({ error: (err as Error).message });
        }
      });
    });

    const first = await app.inject({ method: 'POST', url: '/pets' });
    const second = await app.inject({ method: 'POST', url: '/pets' });
    state.down = true;
    const failed = await app.inject({ method: 'POST', url: '/pets' });
    expect([first.statusCode, second.statusCode, failed.statusCode]).toEqual([200, 200, 503]);
    state.down = false;
    await hub.publish('pets.created', { outside: true }); // no active span: no publish span

    const all = await spans();
    const requests = named(all, 'createPet');
    const publishes = named(all, 'publish pets.created');
    expect(requests).toHaveLength(3);
    expect(publishes).toHaveLength(3);
    for (const [i, publish] of publishes.entries()) {
      const request = requests.find((r) => r.spanContext().spanId === parentOf(publish));
      expect(request, `publish ${i} has a request span as parent`).toBeDefined();
      expect(publish.spanContext().traceId).toBe(request!.spanContext().traceId);
      expect(publish.kind).toBe(SpanKind.PRODUCER);
      expect(publish.attributes).toMatchObject({ [A.system]: 'backdev.broadcast', [A.operation]: 'publish', [A.topic]: 'pets.created' });
    }
    // Each request has its own publish, in order; the stored positions are the ones the routes answered.
    const byOffset = publishes.filter((p) => p.status.code !== SpanStatusCode.ERROR);
    const answered = [first.json(), second.json()] as { epoch: string; offset: number }[];
    expect(byOffset.map((p) => [p.attributes[A.epoch], p.attributes[A.offset]])).toEqual(answered.map((m) => [m.epoch, m.offset]));
    expect(answered.map((m) => m.offset)).toEqual([1, 2]);

    const broken = publishes.find((p) => p.status.code === SpanStatusCode.ERROR)!;
    expect(broken.status.message).toBe('the bus is down');
    expect(broken.events.map((e) => e.name)).toContain('exception');
    expect(broken.attributes[A.offset]).toBeUndefined();
    const brokenRequest = requests.find((r) => r.spanContext().spanId === parentOf(broken))!;
    expect(brokenRequest.attributes['http.response.status_code']).toBe(503);
  });

  it('works inside traceOperation too, and follows whichever tracing instance runs (none: the hub publishes on, untraced)', async () => {
    const { tracing, spans } = await startTracing();
    const { hub } = await serve(undefined);
    const message = await traceOperation('nightly-digest', () => hub.publish('digest', { n: 1 }));
    const recorded = await spans();
    const op = named(recorded, 'nightly-digest')[0]!;
    const publish = named(recorded, 'publish digest')[0]!;
    expect(parentOf(publish)).toBe(op.spanContext().spanId);
    expect(publish.attributes[A.offset]).toBe(message.offset);

    await tracing.close();
    expect((await traceOperation('while-off', () => hub.publish('digest', { n: 2 }))).offset).toBe(2);
    const next = await startTracing();
    await traceOperation('digest-again', () => hub.publish('digest', { n: 3 }));
    expect((await next.spans()).map((s) => [s.name, s.attributes[A.offset]])).toEqual([
      ['publish digest', 3],
      ['digest-again', undefined],
    ]);
  });
});

describe('subscribe spans', () => {
  it('say where the client resumed from, how many messages were replayed, which gap it got, and how it ended', async () => {
    // The hub starts before tracing does: its spans go to whichever tracing runs when they are made.
    const { hub, url } = await serve(undefined, {
      retention: { maxMessages: 3 },
      authorize: (_principal, topic) => topic !== 'secret',
    });
    const { spans } = await startTracing();
    const first = await hub.publish('pets', { n: 1 });
    for (let n = 2; n <= 5; n++) await hub.publish('pets', { n }); // the history keeps offsets 3, 4, 5

    const p = await peer(url);
    p.send({ type: 'subscribe', topic: 'pets', epoch: first.epoch, offset: 3 }); // resumes: 4 and 5 replayed
    await p.next('ack', 'pets');
    const q = await peer(url);
    q.send({ type: 'subscribe', topic: 'pets', epoch: first.epoch, offset: 0 }); // offset 1 is trimmed: window gap
    await q.next('ack', 'pets');
    const r = await peer(url);
    r.send({ type: 'subscribe', topic: 'pets', epoch: 'another-epoch', offset: 2 }); // epoch gap
    r.send({ type: 'subscribe', topic: 'toys' }); // no position: live from now
    r.send({ type: 'subscribe', topic: 'secret' }); // refused
    await r.next('ack', 'pets');
    await r.next('ack', 'toys');
    await r.next('error', 'secret');
    expect(p.of('message', 'pets').map((m) => m.offset)).toEqual([4, 5]);

    const subscribes = named(await spans(), 'subscribe pets');
    expect(subscribes).toHaveLength(3);
    for (const s of subscribes) {
      expect(s.kind).toBe(SpanKind.SERVER);
      expect(parentOf(s), 'a subscribe starts its own trace').toBeUndefined();
      expect(s.status.code).toBe(SpanStatusCode.UNSET);
      expect(s.attributes).toMatchObject({ [A.system]: 'backdev.broadcast', [A.operation]: 'subscribe', [A.topic]: 'pets', [A.outcome]: 'ack' });
    }
    const byResume = (offset: number) => subscribes.find((s) => s.attributes[A.resumeOffset] === offset)!;
    expect(byResume(3).attributes).toMatchObject({ [A.resumeEpoch]: first.epoch, [A.replayed]: 2, [A.gap]: 'none', [A.epoch]: first.epoch, [A.offset]: 5 });
    expect(byResume(0).attributes).toMatchObject({ [A.replayed]: 0, [A.gap]: 'window', [A.offset]: 5 });
    expect(byResume(2).attributes).toMatchObject({ [A.resumeEpoch]: 'another-epoch', [A.replayed]: 0, [A.gap]: 'epoch', [A.offset]: 5 });
    // The frames the clients got agree with the spans.
    expect(q.of('gap', 'pets').map((g) => g.reason)).toEqual(['window']);
    expect(r.of('gap', 'pets').map((g) => g.reason)).toEqual(['epoch']);

    const all = await spans();
    const toys = named(all, 'subscribe toys')[0]!;
    expect(toys.attributes).toMatchObject({ [A.outcome]: 'ack', [A.offset]: 0 });
    expect(toys.attributes[A.gap]).toBeUndefined();
    expect(toys.attributes[A.resumeOffset]).toBeUndefined();
    expect(toys.attributes[A.replayed]).toBeUndefined();
    const secret = named(all, 'subscribe secret')[0]!;
    expect(secret.attributes[A.outcome]).toBe('forbidden');
    expect(secret.status.code, 'a refusal is the client’s mistake, not a failure').toBe(SpanStatusCode.UNSET);
  });

  it('a topic that cannot be read fails the span with the bus error', async () => {
    const inner = createMemoryBus();
    const bus: Bus = { ...inner, position: () => Promise.reject(new Error('position unreadable')) };
    const { hub, url } = await serve(undefined, { bus, closeBus: false });
    cleanups.push(() => inner.close());
    hub.on('error', () => {}); // expected
    const { spans } = await startTracing();
    const p = await peer(url);
    p.send({ type: 'subscribe', topic: 'pets' });
    expect((await p.next('error', 'pets')).code).toBe('unavailable');
    const span = named(await spans(), 'subscribe pets')[0]!;
    expect(span.attributes[A.outcome]).toBe('unavailable');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'position unreadable' });
  });
});
