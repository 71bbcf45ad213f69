/**
 * backdev/runtime/tracing end to end inside one process: a Fastify route that queries PGlite through a traced
 * Kysely dialect and calls a local upstream through the traced fetch; the JSONL file must hold the span tree
 * (database and client spans under the route span) and the upstream must receive the same trace id; with
 * either context manager.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDialect } from '../../../runtime/db/index.js';
import { createTracing, traceOperation, type SpanRecord, type Tracing, type TracingContextMode } from '../../../runtime/tracing/index.js';

interface DB {
  pets: { id: number; name: string };
}

let dir: string;
let tracing: Tracing;
let app: FastifyInstance;
let db: Kysely<DB>;
let upstream: Server;
let upstreamUrl: string;
const received: (string | undefined)[] = [];
let records: SpanRecord[] = [];

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_ID = 'b7ad6b7169203331';

async function setUp(contextManager: TracingContextMode): Promise<void> {
  received.length = 0;
  dir = mkdtempSync(path.join(tmpdir(), 'backdev-tracing-'));
  tracing = createTracing({ serviceName: 'pets-test', file: path.join(dir, 'traces.jsonl'), otlpEndpoint: null, flushIntervalMs: 20, contextManager });
  expect(tracing.contextManager).toBe(contextManager);
  await tracing.start();
  await tracing.start(); // idempotent

  upstream = createServer((req, res) => {
    received.push(req.headers.traceparent as string | undefined);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ok: true }));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/stock`;

  db = new Kysely<DB>({ dialect: tracing.dialect(createDialect({ url: null, dataDir: 'memory://' })) });
  // Outside any trace: no span (rootSpans is off).
  await sql`create table pets (id integer primary key, name text not null)`.execute(db);
  await db.insertInto('pets').values({ id: 1, name: 'Rex' }).execute();

  app = Fastify();
  tracing.register(app);
  app.get('/pets/:id', { config: { operationId: 'getPet' } }, async (request) => {
    const id = Number((request.params as { id: string }).id);
    const pet = await db.selectFrom('pets').selectAll().where('id', '=', id).executeTakeFirst();
    const stock = (await (await tracing.fetch(upstreamUrl)).json()) as { ok: boolean };
    return { pet, stock };
  });
  app.post('/pets', async (request) => {
    // The body is parsed in the socket's async context: the span must still be active here.
    await db.insertInto('pets').values(request.body as DB['pets']).execute();
    return { created: true };
  });
  app.get('/broken', async () => {
    await sql`select * from no_such_table`.execute(db);
    return {};
  });
  app.get('/boom', async () => {
    throw new Error('boom');
  });
  app.get('/missing', async (_request, reply) => reply.code(404).send({ error: 'not here' }));

  expect((await app.inject({ method: 'GET', url: '/pets/1' })).json()).toEqual({ pet: { id: 1, name: 'Rex' }, stock: { ok: true } });
  await app.inject({ method: 'GET', url: '/pets/1', headers: { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` } });
  // Over a real socket, so that the body arrives after the request's first hooks ran.
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const posted = await fetch(`${base}/pets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 2, name: 'Tom' }) });
  expect(posted.status).toBe(200);
  expect((await app.inject({ method: 'GET', url: '/broken' })).statusCode).toBe(500);
  expect((await app.inject({ method: 'GET', url: '/boom' })).statusCode).toBe(500);
  expect((await app.inject({ method: 'GET', url: '/missing' })).statusCode).toBe(404);
  await traceOperation('nightly-report', async () => {
    await traceOperation('inner-step', () => db.selectFrom('pets').select('id').execute(), { step: 1 });
  });
  await expect(traceOperation('failing-job', async () => Promise.reject(new Error('job failed')))).rejects.toThrow('job failed');

  await tracing.close();
  await tracing.close(); // idempotent
  records = readFileSync(path.join(dir, 'traces.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as SpanRecord);
}

async function tearDown(): Promise<void> {
  await app?.close();
  await db?.destroy();
  await new Promise((resolve) => upstream?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
}

const byId = (id: string | null) => records.find((r) => r.spanId === id);
const children = (parent: SpanRecord) => records.filter((r) => r.parentSpanId === parent.spanId && r.traceId === parent.traceId);

// Both ways of carrying the context (promise-context.ts) must give the same trees.
describe.each(['promise', 'async-local-storage'] as const)('tracing a Fastify route with a database query and an upstream call (context: %s)', (mode) => {
  beforeAll(() => setUp(mode));
  afterAll(tearDown);

  it('writes a span tree: route span, then the db and client spans under it', () => {
    const routes = records.filter((r) => r.name === 'getPet');
    expect(routes).toHaveLength(2);
    const [route] = routes.filter((r) => r.traceId !== TRACE_ID);
    expect(route).toMatchObject({
      kind: 'server',
      parentSpanId: null,
      status: 'unset',
      service: 'pets-test',
      attributes: { operationId: 'getPet', 'http.request.method': 'GET', 'http.route': '/pets/:id', 'http.response.status_code': 200 },
    });
    const kids = children(route!);
    const dbSpan = kids.find((k) => k.kind === 'client' && k.attributes['db.operation.name'] === 'select');
    const clientSpan = kids.find((k) => k.attributes['http.request.method'] === 'GET');
    expect(dbSpan).toMatchObject({ name: 'select pets', attributes: { 'db.collection.name': 'pets', 'db.system.name': 'postgresql' } });
    expect(String(dbSpan!.attributes['db.query.text'])).toMatch(/^select \* from "pets"/);
    expect(clientSpan).toMatchObject({ kind: 'client', name: `GET ${new URL(upstreamUrl).host}`, attributes: { 'http.response.status_code': 200 } });
    // Times nest, and the duration is end - start.
    for (const child of [dbSpan!, clientSpan!]) {
      expect(child.startMs).toBeGreaterThanOrEqual(route!.startMs);
      expect(child.endMs).toBeLessThanOrEqual(route!.endMs);
    }
    expect(Math.abs(route!.endMs - route!.startMs - route!.durationMs)).toBeLessThan(0.01);
    // The upstream got a traceparent naming this trace and the client span as its parent.
    expect(received[0]).toBe(`00-${route!.traceId}-${clientSpan!.spanId}-01`);
  });

  it('records no span for statements outside a trace', () => {
    expect(records.filter((r) => /^(create|insert pets)/.test(r.name) && r.parentSpanId === null)).toEqual([]);
  });

  it('continues an incoming traceparent', () => {
    const route = records.find((r) => r.name === 'getPet' && r.traceId === TRACE_ID);
    expect(route).toMatchObject({ parentSpanId: PARENT_ID });
    expect(children(route!).map((c) => c.name).sort()).toEqual([`GET ${new URL(upstreamUrl).host}`, 'select pets']);
    expect(received[1]?.split('-')[1]).toBe(TRACE_ID);
  });

  it('keeps the route span active after the body is parsed', () => {
    const route = records.find((r) => r.name === 'POST /pets');
    expect(route).toBeDefined();
    expect(children(route!).map((c) => c.name)).toEqual(['insert pets']);
  });

  it('records database errors on the db span and the route span', () => {
    const route = records.find((r) => r.name === 'GET /broken')!;
    expect(route).toMatchObject({ status: 'error', attributes: { 'http.response.status_code': 500 } });
    expect(route.error).toMatch(/no_such_table/);
    const [query] = children(route);
    expect(query).toMatchObject({ name: 'select', status: 'error' });
    expect(query!.error).toMatch(/relation "no_such_table" does not exist/);
  });

  it('records a thrown error, and leaves a 4xx unfailed', () => {
    expect(records.find((r) => r.name === 'GET /boom')).toMatchObject({ status: 'error', error: 'boom' });
    expect(records.find((r) => r.name === 'GET /missing')).toMatchObject({ status: 'unset', attributes: { 'http.response.status_code': 404 } });
  });

  it('traceOperation nests spans for user code and records failures', () => {
    const outer = records.find((r) => r.name === 'nightly-report')!;
    expect(outer).toMatchObject({ kind: 'internal', parentSpanId: null, status: 'unset' });
    const [inner] = children(outer);
    expect(inner).toMatchObject({ name: 'inner-step', attributes: { step: 1 } });
    expect(children(inner!).map((c) => c.name)).toEqual(['select pets']);
    expect(records.find((r) => r.name === 'failing-job')).toMatchObject({ status: 'error', error: 'job failed' });
    expect(byId(inner!.parentSpanId)).toBe(outer);
  });

  it('refuses to start again once closed, and unregisters the global provider', async () => {
    await expect(tracing.start()).rejects.toThrow(/closed/);
    // After close the global API is back to no-ops: nothing more is written.
    const before = readFileSync(path.join(dir, 'traces.jsonl'), 'utf8');
    await traceOperation('after-close', () => undefined);
    expect(readFileSync(path.join(dir, 'traces.jsonl'), 'utf8')).toBe(before);
  });
});
